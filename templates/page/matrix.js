  // ---- The matrix: rows scenario × format, columns environments (saved in; loaded
  // in the same one, or in the one chosen as "Loaded in").
  const table = document.getElementById("matrix");
  const shown = document.getElementById("shown");
  const more = document.getElementById("more-rows");
  more.addEventListener("click", () => {
    extraRows += Math.max(40, Math.floor(CELL_BUDGET / Math.max(D.rows.length, 1)));
    render();
  });
  let grid = []; // grid[row][col] = the focusable button there (arrow-key navigation)
  let cur = { r: 0, c: 0 };
  // Layout of a huge table is what is slow (not the data): draw about this many cells,
  // then offer more. Filters usually bring a view well under it.
  const CELL_BUDGET = 2500;
  let extraRows = 0;

  function render() {
    const cols = D.rows.map((r, i) => i).filter((i) => colMatches(D.rows[i]));
    const load = state.load && rowIx.has(state.load) ? rowIx.get(state.load) : -1;
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
      out.push(`<th scope="col" class="env${r.status === "env_error" ? " env-error" : ""}"><button type="button" class="envbtn" data-env="${esc(r.id)}" aria-label="Environment ${esc(r.id)}: ${esc(envLabel(r))}${r.status === "env_error" ? ", env error" : ""}"><span class="rid">${esc(r.id)}</span><span class="ver">${esc(envLabel(r))}</span>${r.status === "env_error" ? `<span class="ver">${badge("env_error")}</span>` : ""}${load >= 0 && load !== col ? `<span class="ver">→ loaded in ${esc(D.rows[load].id)}</span>` : ""}</button></th>`);
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
            out.push(`<td class="envcol st-env_error${dim}" rowspan="${lines.length}"><button type="button" class="cell" data-env="${esc(broken.id)}" data-r="0" data-c="${ci}" data-rows="${lines.length}" tabindex="-1" aria-label="${esc(broken.id)}: env error: ${esc(broken.error)}">${badge("env_error")}<span class="why">${esc(broken.error)}</span></button></td>`);
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
        const label = `${sc.id} ${D.formats[f]} in ${D.rows[c.save_row].id}${c.load_row !== c.save_row ? " loaded in " + D.rows[c.load_row].id : ""}: ${S[c.status].label}${group ? ", error group " + group : ""}`;
        out.push(`<td class="st-${esc(c.status)}${dim}"><button type="button" class="cell" data-cell="${c.i}" data-r="${li}" data-c="${ci}" tabindex="-1" aria-label="${esc(label)}">${badge(c.status)}${group ? `<span class="gid">${esc(group)}</span>` : ""}${wroteUnexpected(c) ? `<span class="wrote">${esc(c.written)}</span>` : ""}</button></td>`);
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
    grid = lines.map(() => new Array(cols.length).fill(null));
    for (const b of table.querySelectorAll("button.cell")) {
      const r0 = +b.dataset.r, c0 = +b.dataset.c, n = +(b.dataset.rows || 1);
      for (let r = r0; r < r0 + n; r += 1) grid[r][c0] = b;
    }
    cur = { r: 0, c: 0 };
    const first = table.querySelector("button.cell");
    if (first) { first.tabIndex = 0; cur = { r: +first.dataset.r, c: +first.dataset.c }; }
    table.style.setProperty("--head1", table.tHead.rows[0].offsetHeight + "px");

    const total = D.scenarios.length * D.formats.length;
    shown.textContent = `${lines.length + hidden} of ${total} scenario × format rows${hidden ? ` (${lines.length} drawn)` : ""} · ${cols.length} of ${D.rows.length} environments · ${matched} cells${filtering ? " match" : ""}` +
      (load >= 0 ? ` · every column loaded in ${D.rows[load].id}` : "");
  }

