  // ---- Small helpers.
  const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const esc = (v) => String(v == null ? "" : v).replace(/[&<>"']/g, (ch) => ESC[ch]);
  const badge = (st) => {
    const s = S[st || "not_run"];
    return `<span class="badge st-${esc(st || "not_run")}"><span class="g" aria-hidden="true"></span> <span class="lbl">${esc(s.label)}</span></span>`;
  };
  // A claim verdict: a glyph drawn by CSS (no emoji font needed) and words.
  const verdictBadge = (v) => `<span class="badge v-${esc(v)}"><span class="g" aria-hidden="true"></span> <span class="lbl">${esc(D.verdicts[v].label)}</span></span>`;
  const envLabel = (r) => `${r.flavour} · TF ${r.tf} · Keras ${r.keras} · Py ${r.python}`;
  const num = (v, unit) => (v == null ? "–" : typeof v === "string" ? v : `${+v.toPrecision(3)}${unit || ""}`);
  const cellId = (c) => [D.scenarios[c.scenario].id, D.formats[c.format], D.rows[c.save_row].id, D.rows[c.load_row].id].join("/");
  const cellFromId = (id) => {
    const [s, f, sv, ld] = (id || "").split("/");
    return byKey.get(key(scIx.get(s), fmtIx.get(f), rowIx.get(sv), rowIx.get(ld)));
  };
  const wroteUnexpected = (c) => {
    const expected = D.expected_written[D.formats[c.format]];
    return Boolean(expected && c.written && c.written !== expected && c.written !== "nothing");
  };

