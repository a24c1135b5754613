  // ---- The overview, caniuse style: one small square per saving environment, along one TF
  // axis (TF version bands; within a band Keras 2, then tf-keras, then Keras 3), with the
  // Keras 2 -> 3 boundary marked. A square opens the cell's detail.
  const ovTable = document.getElementById("overview-table");
  const ovLegend = document.getElementById("overview-legend");
  const tfMinor = (r) => r.tf.split(".").slice(0, 2).join(".");
  const FLAVOUR_SHORT = { keras_mb: "m", keras2: "2", tf_keras: "t", keras3: "3" };
  let ovGrid = [];
  if (ovTable) rovingGrid(ovTable, () => ovGrid);
  if (ovLegend) {
    const shown = Object.keys(S).filter((st) => cells.some((c) => c.status === st && c.save_row === c.load_row));
    ovLegend.innerHTML = `<ul class="legend-inline" aria-label="Legend">${shown.map((st) => `<li><span class="sq st-${esc(st)}"><span class="g" aria-hidden="true"></span></span> ${esc(S[st].label)}</li>`).join("")}` +
      `<li><span class="flavkey">m</span> multi-backend Keras</li><li><span class="flavkey">2</span> Keras 2 (tf.keras)</li><li><span class="flavkey">t</span> tf-keras</li><li><span class="flavkey">3</span> Keras 3</li></ul>`;
  }
  // The version-ranges table is static HTML: the scenario and format filters hide its other rows.
  const rangeRows = document.querySelectorAll("#ranges tbody tr[data-scenario]");
  function renderOverview() {
    for (const tr of rangeRows) {
      tr.hidden = Boolean((state.scenario && tr.dataset.scenario !== state.scenario) || (state.format && tr.dataset.format !== state.format));
    }
    if (!ovTable) return;
    const cols = D.rows.map((r, i) => i).filter((i) => D.rows[i].saves && colMatches(D.rows[i]));
    cols.sort((a, b) => D.rows[a].axis_order - D.rows[b].axis_order);  // runner/report/page.py _axis
    const bands = [];
    for (const col of cols) {
      const m = tfMinor(D.rows[col]);
      if (bands.length && bands[bands.length - 1][0] === m) bands[bands.length - 1][1] += 1;
      else bands.push([m, 1]);
    }
    const firstK3 = cols.findIndex((col) => D.rows[col].flavour === "tf_keras" || D.rows[col].flavour === "keras3");
    const edge = (ci) => (ci === firstK3 ? " k3-edge" : "");
    const out = ['<thead><tr class="bands"><th scope="col" class="corner">TF</th>'];
    let ci = 0;
    for (const [m, n] of bands) {
      out.push(`<th scope="colgroup" colspan="${n}" class="band${edge(ci)}">${esc(m)}</th>`);
      ci += n;
    }
    out.push('</tr><tr class="flavs"><th scope="col" class="corner">Pattern · format</th>');
    cols.forEach((col, i) => {
      const r = D.rows[col];
      out.push(`<th scope="col" class="fl${edge(i)}" title="${esc(r.id)}"><span aria-hidden="true">${FLAVOUR_SHORT[r.flavour] || "?"}</span><span class="visually-hidden">${esc(r.id)}</span></th>`);
    });
    out.push("</tr></thead><tbody>");
    const lines = [];
    D.scenarios.forEach((sc, s) => {
      if (state.scenario && sc.id !== state.scenario) return;
      D.formats.forEach((fmt, f) => {
        if (state.format && fmt !== state.format) return;
        lines.push([s, f]);
      });
    });
    const filtering = Boolean(state.status || state.group || state.change || state.q);
    lines.forEach(([s, f], li) => {
      out.push(`<tr><th scope="row"><code>${esc(D.scenarios[s].id)}</code> <span class="fmt">${esc(D.formats[f])}</span></th>`);
      cols.forEach((col, i) => {
        const c = byKey.get(key(s, f, col, col));
        const st = c ? c.status : "not_run";
        const dim = filtering && !cellMatches(c) ? " dim" : "";
        const label = `${D.rows[col].id}: ${S[st].label}`;
        out.push(`<td class="${edge(i).trim()}${dim}">${c ? `<button type="button" class="sq st-${esc(st)}" data-cell="${c.i}" data-r="${li}" data-c="${i}" tabindex="-1" aria-label="${esc(label)}" title="${esc(label)}"><span class="g" aria-hidden="true"></span></button>` : `<span class="sq st-not_run" title="${esc(label)}"><span class="g" aria-hidden="true"></span></span>`}</td>`);
      });
      out.push("</tr>");
    });
    out.push("</tbody>");
    ovTable.innerHTML = out.join("");
    ovGrid = gridOf(ovTable, lines.length, cols.length);
  }
