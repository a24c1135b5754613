  // ---- Upgrade view: every scenario × format saved in one env and loaded in another.
  const upForm = document.getElementById("upgrade-form");
  const upTable = document.getElementById("upgrade-table");
  const upSummary = document.getElementById("upgrade-summary");
  const upShortcuts = document.getElementById("upgrade-shortcuts");
  // Pairs the run measured (save row -> load rows), from the cells themselves.
  const pairsFrom = new Map();
  for (const c of cells) {
    if (c.save_row === c.load_row) continue;
    if (!pairsFrom.has(c.save_row)) pairsFrom.set(c.save_row, new Set());
    pairsFrom.get(c.save_row).add(c.load_row);
  }
  function defaultUpgrade() {
    for (const [sv, lds] of pairsFrom) {
      const next = D.shortcuts[sv].next;
      if (next >= 0 && lds.has(next)) return [sv, next];
    }
    for (const [sv, lds] of pairsFrom) return [sv, [...lds][0]];
    return [0, 0];
  }
  function setUpgrade(from, to, push) {
    state.from = from;
    state.to = to;
    writeHash(push);
    renderUpgrade();
  }
  function renderUpgrade() {
    if (!upForm) return;
    let sv = rowIx.get(state.from), ld = rowIx.get(state.to);
    if (sv === undefined || ld === undefined) [sv, ld] = defaultUpgrade();
    upForm.elements.from.value = D.rows[sv].id;
    upForm.elements.to.value = D.rows[ld].id;
    // Shortcuts: the usual destinations of an upgrade from the chosen env, where measured.
    const sc = D.shortcuts[sv], lds = pairsFrom.get(sv) || new Set();
    const links = [];
    const add = (label, target) => {
      if (target >= 0 && lds.has(target)) links.push(`<button type="button" class="chip" data-upgrade="${esc(D.rows[sv].id)}>${esc(D.rows[target].id)}"${target === ld ? ' aria-pressed="true"' : ""}>${esc(label)}: ${esc(D.rows[target].id)}</button>`);
    };
    add("next release", sc.next);
    for (const t of sc.twins) add(`same TF, Python ${D.rows[t].python_minor}`, t);
    for (const t of sc.backends) add(`${D.rows[t].env_vars.KERAS_BACKEND || "other"} backend`, t);
    for (const t of sc.newest) add(`newest ${D.rows[t].flavour}`, t);
    upShortcuts.innerHTML = links.length ? `<span class="meta">Shortcuts:</span> ${links.join(" ")}` : `<span class="meta">No artifact saved in ${esc(D.rows[sv].id)} was loaded elsewhere in this run.</span>`;

    const out = ['<caption class="visually-hidden">Upgrade from the chosen save environment to the chosen load environment</caption>',
      `<thead><tr><th scope="col">Scenario · format</th><th scope="col">Saved and loaded in ${esc(D.rows[sv].id)}</th><th scope="col">Saved and loaded in ${esc(D.rows[ld].id)}</th><th scope="col">Saved in ${esc(D.rows[sv].id)}, loaded in ${esc(D.rows[ld].id)}</th><th scope="col">What changed</th></tr></thead><tbody>`];
    const tally = { breaks: 0, fixed: 0, changed: 0, same: 0 };
    let shown = 0, measured = 0;
    const cellBtn = (c) => (c ? `<button type="button" class="link" data-cell="${c.i}">${badge(c.status)}</button>` : badge(null));
    D.scenarios.forEach((scn, s) => {
      if (state.scenario && scn.id !== state.scenario) return;
      D.formats.forEach((fmt, f) => {
        if (state.format && fmt !== state.format) return;
        const cross = byKey.get(key(s, f, sv, ld));
        const before = byKey.get(key(s, f, sv, sv));
        const there = byKey.get(key(s, f, ld, ld));
        if (!cross && sv !== ld) return;
        measured += 1;
        if ((state.status || state.q || state.group || state.change) && !cellMatches(cross)) return;
        let what = "same", text = "no change";
        if (cross && before) {
          // runner/core/cells.py transition(): broken, fixed, changed, same
          const was = WORKING.has(before.status), now = WORKING.has(cross.status);
          if (was && !now) { what = "breaks"; text = "✘ breaks on upgrade"; }
          else if (!was && now) { what = "fixed"; text = "✔ works after the upgrade"; }
          else if (before.status !== cross.status) { what = "changed"; text = "≠ another status"; }
        }
        tally[what] += 1;
        shown += 1;
        const err = cross && cross.error >= 0 ? D.errors[cross.error] : null;
        out.push(`<tr class="chg-${what}"><th scope="row"><code>${esc(scn.id)}</code> <span class="fmt">${esc(fmt)}</span></th><td>${cellBtn(before)}</td><td>${cellBtn(there)}</td><td>${cellBtn(cross)}${err ? `<span class="why">${esc(err.type)}: ${esc(err.message.slice(0, 140))}</span>` : ""}</td><td>${esc(text)}${cross && cross.fix >= 0 && what !== "same" ? `<span class="why">Fix: ${esc(D.fixes[cross.fix])}</span>` : ""}</td></tr>`);
      });
    });
    if (!shown) out.push(`<tr><td colspan="5" class="none">${measured ? "No cell matches the filters." : "This run did not load artifacts saved in " + esc(D.rows[sv].id) + " in " + esc(D.rows[ld].id) + "."}</td></tr>`);
    out.push("</tbody>");
    upTable.innerHTML = out.join("");
    upSummary.textContent = `${D.rows[sv].id} → ${D.rows[ld].id}: ${shown} scenario × format rows · ${tally.breaks} break, ${tally.fixed} fixed, ${tally.changed} change status, ${tally.same} unchanged`;
  }
  if (upForm) {
    upForm.addEventListener("change", () => setUpgrade(upForm.elements.from.value, upForm.elements.to.value, true));
    upForm.addEventListener("submit", (e) => e.preventDefault());
  }

  table.addEventListener("keydown", (e) => {
    const b = e.target.closest("button.cell");
    if (!b || !grid.length) return;
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    let { r, c } = cur;
    if (grid[r] && grid[r][c] !== b) { r = +b.dataset.r; c = +b.dataset.c; }
    let target = null;
    if (moves[e.key]) {
      const [dr, dc] = moves[e.key];
      for (let rr = r + dr, cc = c + dc; rr >= 0 && rr < grid.length && cc >= 0 && cc < grid[0].length; rr += dr, cc += dc) {
        if (grid[rr][cc] && grid[rr][cc] !== b) { target = [rr, cc]; break; }
      }
    } else if (e.key === "Home" || e.key === "End") {
      const row = grid[r].map((x, i) => [x, i]).filter(([x]) => x);
      if (row.length) { const [, cc] = e.key === "Home" ? row[0] : row[row.length - 1]; target = [r, cc]; }
    } else {
      return;
    }
    e.preventDefault();
    if (!target) return;
    const next = grid[target[0]][target[1]];
    b.tabIndex = -1;
    next.tabIndex = 0;
    cur = { r: target[0], c: target[1] };
    next.focus();
  });
  table.addEventListener("focusin", (e) => {
    const b = e.target.closest("button.cell");
    if (!b) return;
    for (const other of table.querySelectorAll('button.cell[tabindex="0"]')) if (other !== b) other.tabIndex = -1;
    b.tabIndex = 0;
    if (!grid[cur.r] || grid[cur.r][cur.c] !== b) cur = { r: +b.dataset.r, c: +b.dataset.c };
  });

