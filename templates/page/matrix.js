  // ---- The matrix: rows scenario × format, columns environments (saved in; loaded
  // in the same one, or in the one chosen as "Loaded in").
  const table = document.getElementById("matrix");
  const shown = document.getElementById("shown");
  const more = document.getElementById("more-rows");
  more.addEventListener("click", () => {
    extraRows += Math.max(40, Math.floor(CELL_BUDGET / Math.max(D.rows.length, 1)));
    render();
  });
  let grid = []; // grid[row][col] = the focusable button there (arrow-key navigation, grid.js)
  rovingGrid(table, () => grid);
  // Layout of a huge table is what is slow (not the data): draw about this many cells,
  // then offer more. Filters usually bring a view well under it.
  const CELL_BUDGET = 2500;
  let extraRows = 0;
  let headFrame = 0;

  // The summary's status counts follow the filters: what the matrix shows, counted once.
  const countList = document.querySelector("#summary .counts");
  function renderCounts(cols, load) {
    const n = {};
    D.scenarios.forEach((sc, s) => {
      if (state.scenario && sc.id !== state.scenario) return;
      D.formats.forEach((fmt, f) => {
        if (state.format && fmt !== state.format) return;
        for (const col of cols) {
          const c = byKey.get(key(s, f, col, load >= 0 ? load : col));
          if (c && cellMatches(c)) n[c.status] = (n[c.status] || 0) + 1;
        }
      });
    });
    countList.innerHTML = Object.keys(S).filter((st) => n[st]).map((st) => `<li><button type="button" class="count" data-status="${esc(st)}" aria-pressed="${state.status === st}">${badge(st)} <b>${n[st]}</b></button></li>`).join("");
  }

  function render() {
    const load = state.load && rowIx.has(state.load) ? rowIx.get(state.load) : -1;
    // Load-only envs (Keras 3 on JAX, torch) saved nothing: a column of them only makes sense
    // as the "Loaded in" side, so the same-env matrix leaves them out.
    const cols = D.rows.map((r, i) => i).filter((i) => colMatches(D.rows[i]) && D.rows[i].saves);
    const cellAt = (s, f, col) => byKey.get(key(s, f, col, load >= 0 ? load : col));
    const filtering = Boolean(state.status || state.group || state.change || state.q);
    const brokenEnv = (col) => (D.rows[col].status === "env_error" ? D.rows[col] : load >= 0 && D.rows[load].status === "env_error" ? D.rows[load] : null);

    const lines = [];
    let matched = 0;
    D.scenarios.forEach((sc, s) => {
      if (state.scenario && sc.id !== state.scenario) return;
      D.formats.forEach((fmt, f) => {
        if (state.format && fmt !== state.format) return;
        const n = cols.reduce((acc, col) => acc + (cellMatches(cellAt(s, f, col)) ? 1 : 0), 0);
        if (filtering && !n) return;
        matched += filtering ? n : cols.filter((col) => cellAt(s, f, col)).length;
        lines.push([s, f]);
      });
    });

    const budgetRows = Math.max(40, Math.floor(CELL_BUDGET / Math.max(cols.length, 1))) + extraRows;
    const hidden = Math.max(0, lines.length - budgetRows);
    if (hidden) lines.length = budgetRows;

    const out = ['<caption class="visually-hidden">Status of each scenario and format (rows) per environment (columns)</caption>'];
    // Fixed column widths: the browser lays out a big table in one pass instead of measuring every cell.
    out.push(`<colgroup><col class="c-head">${'<col class="c-env">'.repeat(cols.length)}</colgroup>`);
    out.push('<thead><tr class="flavours"><th scope="col" rowspan="2" class="corner rowhead">Scenario · format</th>');
    const spans = [];
    for (const col of cols) {
      const fl = D.rows[col].flavour;
      if (spans.length && spans[spans.length - 1][0] === fl) spans[spans.length - 1][1] += 1;
      else spans.push([fl, 1]);
    }
    for (const [fl, n] of spans) out.push(`<th scope="colgroup" colspan="${n}" class="flav">${esc(fl)}</th>`);
    out.push('</tr><tr class="envs">');
    for (const col of cols) {
      const r = D.rows[col];
      out.push(`<th scope="col" class="env${r.status === "env_error" ? " env-error" : ""}"><button type="button" class="envbtn" data-env="${esc(r.id)}"><span class="rid">${esc(r.id)}</span><span class="ver">${esc(envLabel(r))}</span>${r.status === "env_error" ? `<span class="ver">${badge("env_error")}</span>` : ""}${load >= 0 && load !== col ? `<span class="ver">→ loaded in ${esc(D.rows[load].id)}</span>` : ""}</button></th>`);
    }
    out.push("</tr></thead><tbody>");

    let prev = -1;
    lines.forEach(([s, f], li) => {
      const sc = D.scenarios[s];
      out.push(`<tr${s !== prev ? ' class="first-of-scenario"' : ""}><th scope="row" class="rowhead" title="${esc(sc.title)}"><span class="sc">${esc(sc.id).replace(/_/g, "_<wbr>")}</span> <span class="fmt">${esc(D.formats[f])}</span></th>`);
      prev = s;
      cols.forEach((col, ci) => {
        const broken = brokenEnv(col);
        if (broken) {
          // The whole column has one cause: say it once, in one tall cell.
          if (li === 0) {
            const dim = filtering && !lines.some(([s2, f2]) => cellMatches(cellAt(s2, f2, col))) ? " dim" : "";
            out.push(`<td class="envcol st-env_error${dim}" rowspan="${lines.length}"><button type="button" class="cell" data-env="${esc(broken.id)}" data-r="0" data-c="${ci}" data-rows="${lines.length}" tabindex="-1"><span class="visually-hidden">${esc(broken.id)}: </span>${badge("env_error")}<span class="why">${esc(broken.error)}</span></button></td>`);
          }
          return;
        }
        const c = cellAt(s, f, col);
        if (!c) {
          out.push(`<td class="st-not_run${filtering ? " dim" : ""}"><span class="none">${badge(null)}</span></td>`);
          return;
        }
        const dim = filtering && !cellMatches(c) ? " dim" : "";
        const group = c.group >= 0 ? D.groups[c.group].id : "";
        const where = `${sc.id} ${D.formats[f]} in ${D.rows[c.save_row].id}${c.load_row !== c.save_row ? " loaded in " + D.rows[c.load_row].id : ""}: `;
        out.push(`<td class="st-${esc(c.status)}${dim}"><button type="button" class="cell" data-cell="${c.i}" data-r="${li}" data-c="${ci}" tabindex="-1"><span class="visually-hidden">${esc(where)}</span>${badge(c.status)}${group ? `<span class="gid">${esc(group)}</span>` : ""}${wroteUnexpected(c) ? `<span class="wrote">${esc(c.written)}</span>` : ""}</button></td>`);
      });
      out.push("</tr>");
    });
    if (!lines.length) out.push(`<tr><td colspan="${cols.length + 1}" class="none">No cell matches these filters.</td></tr>`);
    out.push("</tbody>");
    more.hidden = !hidden;
    more.textContent = `Show ${Math.min(hidden, budgetRows)} more of ${hidden} hidden rows`;
    table.innerHTML = out.join("");
    table.style.setProperty("--ncols", String(cols.length));

    // Roving tabindex: one Tab stop for the whole grid, arrows inside it.
    grid = gridOf(table, lines.length, cols.length);
    // The second header row sticks below the first: its offset is read in the next frame, once the page
    // is laid out anyway (read here, it laid the whole page out twice per render: now, and again after the
    // overview and the upgrade answer redraw), and set on that row alone (on the table, every cell restyles).
    cancelAnimationFrame(headFrame);
    headFrame = requestAnimationFrame(() => {
      const [flavours, envs] = table.tHead.rows;
      if (envs) envs.style.setProperty("--head1", flavours.offsetHeight + "px");
    });

    const total = D.scenarios.length * D.formats.length;
    shown.textContent = `${lines.length + hidden} of ${total} scenario × format rows${hidden ? ` (${lines.length} drawn)` : ""} · ${cols.length} environments · ${matched} cells${filtering ? " match" : ""}` +
      (load >= 0 ? ` · every column loaded in ${D.rows[load].id}` : "");
    renderCounts(cols, load);
  }

