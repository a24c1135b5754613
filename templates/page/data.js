  const D = JSON.parse(document.getElementById("kc-data").textContent);
  const S = D.statuses;

  // ---- Decode the compact arrays once (field names in cell_fields / record_fields).
  const cells = D.cells.map((a, i) => {
    const c = { i };
    D.cell_fields.forEach((k, j) => { c[k] = a[j]; });
    return c;
  });
  // Records are only needed by the detail view: indexed on first use, not at load.
  let recordsOf = null;
  const recordsFor = (i) => {
    if (!recordsOf) {
      recordsOf = new Map();
      for (const a of D.records) {
        const r = {};
        D.record_fields.forEach((k, j) => { r[k] = a[j]; });
        for (const [k, words] of Object.entries(D.record_vocab)) r[k] = r[k] >= 0 ? words[r[k]] : null;
        [r.rtol, r.atol] = D.tolerances[r.tolerance];
        if (!recordsOf.has(r.cell)) recordsOf.set(r.cell, []);
        recordsOf.get(r.cell).push(r);
      }
    }
    return recordsOf.get(i) || [];
  };
  const WORKING = new Set(D.working);  // runner/core/vocab.py WORKING, from the data
  // Every (scenario, format, save_row, load_row) in the run, same-env or not, so a
  // "saved in X / loaded in Y" view is a different lookup, not different data.
  const key = (s, f, sv, ld) => s + "," + f + "," + sv + "," + ld;
  const byKey = new Map(cells.map((c) => [key(c.scenario, c.format, c.save_row, c.load_row), c]));
  const rowIx = new Map(D.rows.map((r, i) => [r.id, i]));
  const scIx = new Map(D.scenarios.map((s, i) => [s.id, i]));
  const fmtIx = new Map(D.formats.map((f, i) => [f, i]));

