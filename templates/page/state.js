  // ---- State: the filters, the open cell / environment; kept in the URL hash.
  const FILTERS = ["scenario", "format", "status", "flavour", "tf", "keras", "py", "group", "change", "load", "q"];
  const KEYS = [...FILTERS, "from", "to", "answer", "cell", "env"];
  const form = document.getElementById("filters");
  let state = {};

  function readHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    const next = {};
    for (const k of KEYS) {
      const v = p.get(k);
      if (v) next[k] = v;
    }
    return next;
  }
  function writeHash(push) {
    const p = new URLSearchParams();
    for (const k of KEYS) if (state[k]) p.set(k, state[k]);
    const h = p.toString();
    const url = h ? "#" + h : location.pathname + location.search;
    if (url === location.hash || (!h && !location.hash)) return;
    history[push ? "pushState" : "replaceState"](null, "", url);
  }
  function syncForm() {
    for (const k of FILTERS) {
      const el = form.elements[k];
      if (!el) { delete state[k]; continue; }
      el.value = state[k] || "";
      if (el.tagName === "SELECT" && el.value !== (state[k] || "")) delete state[k]; // unknown value in the URL
    }
    for (const b of document.querySelectorAll("button.count")) {
      b.setAttribute("aria-pressed", String(b.dataset.status === state.status));
    }
  }
  function setFilter(patch, push) {
    extraRows = 0;
    for (const [k, v] of Object.entries(patch)) {
      if (v) state[k] = v; else delete state[k];
    }
    writeHash(push);
    syncForm();
    render();
    renderOverview();
    renderUpgrade();
  }

