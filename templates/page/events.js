  // ---- Events (delegated: the matrix is re-rendered on every filter change).
  document.addEventListener("click", (e) => {
    const t = e.target.closest("[data-cell],[data-env],[data-group],[data-change],[data-status],[data-close],[data-copy],[data-upgrade],[data-answer],[data-square],a[href^='#']");
    if (!t) return;
    if (t.matches("[data-close]")) { closeDialog(); return; }
    if (t.matches("[data-copy]")) { copy(t.dataset.copy, t); return; }
    if (t.matches("a[href^='#']")) {
      // In-page links must not overwrite the filter state kept in the hash.
      const el = document.getElementById(t.getAttribute("href").slice(1));
      if (!el) return;
      e.preventDefault();
      if (dialog.open && !dialog.contains(el)) closeDialog();
      if (el.tagName === "DETAILS") el.open = true;
      el.scrollIntoView();
      if (el.tabIndex < 0 && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
      el.focus({ preventScroll: true });
      return;
    }
    if (t.dataset.cell !== undefined) { const c = cells[+t.dataset.cell]; if (c) showCell(c, t); return; }
    if (t.dataset.env !== undefined) { showEnv(t.dataset.env, t); return; }
    if (t.dataset.group) {
      closeDialog();
      setFilter({ group: t.dataset.group }, true);
      document.getElementById("matrix-section").scrollIntoView();
      return;
    }
    if (t.dataset.change) {
      setFilter({ change: t.dataset.change, load: "" }, true);
      document.getElementById("matrix-section").scrollIntoView();
      return;
    }
    if (t.dataset.answer) {
      state.answer = state.answer === t.dataset.answer ? "" : t.dataset.answer;
      if (!state.answer) delete state.answer;
      writeHash(true);
      renderUpgrade();
      return;
    }
    if (t.dataset.upgrade) {
      const [from, to] = t.dataset.upgrade.split(">");
      setUpgrade(from, to, true);
      return;
    }
    if (t.dataset.status) setFilter({ status: state.status === t.dataset.status ? "" : t.dataset.status }, true);
  });

  let typing = 0;
  form.addEventListener("change", (e) => { if (e.target.name && e.target.name !== "q") setFilter({ [e.target.name]: e.target.value }, true); });
  form.addEventListener("input", (e) => {
    if (e.target.name !== "q") return;
    clearTimeout(typing);
    typing = setTimeout(() => setFilter({ q: e.target.value.trim() }, false), 150);
  });
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("reset", (e) => {
    e.preventDefault();
    extraRows = 0;
    for (const k of FILTERS) delete state[k];
    writeHash(true);
    syncForm();
    render();
    renderOverview();
    renderUpgrade();
  });
  document.addEventListener("keydown", (e) => {
    const inField = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (e.key === "/" && !inField && !dialog.open) { e.preventDefault(); form.elements.q.focus(); }
  });

  // Back/forward and hand-edited URLs. A #from=…&to=… link lands on the answer.
  let applied = false;
  function apply() {
    state = readHash();
    syncForm();
    render();
    renderOverview();
    renderUpgrade();
    if ((state.from || state.to) && !state.cell && !state.env && !applied) document.getElementById("answer").scrollIntoView({ behavior: "instant" });
    applied = true;
    if (state.cell) {
      const c = cellFromId(state.cell);
      if (c) showCell(c, null); else { delete state.cell; writeHash(false); }
    } else if (state.env && rowIx.has(state.env)) {
      showEnv(state.env, null);
    } else {
      closeDialog();
    }
  }
  window.addEventListener("popstate", apply);
  window.addEventListener("hashchange", apply);
  apply();
