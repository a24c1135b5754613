  // ---- Roving focus for a grid (role="grid"): one Tab stop, arrow keys inside it, Home/End
  // to the row's ends. ``cellsOf()`` gives the current 2-D array of focusable buttons (a
  // button may fill several rows: an env-error column is one tall cell).
  function rovingGrid(table, cellsOf) {
    table.addEventListener("keydown", (e) => {
      const grid = cellsOf();
      const b = e.target.closest("button[data-r]");
      if (!b || !grid.length) return;
      const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      const r = +b.dataset.r, c = +b.dataset.c;
      let target = null;
      if (moves[e.key]) {
        const [dr, dc] = moves[e.key];
        for (let rr = r + dr, cc = c + dc; rr >= 0 && rr < grid.length && cc >= 0 && cc < grid[0].length; rr += dr, cc += dc) {
          if (grid[rr][cc] && grid[rr][cc] !== b) { target = grid[rr][cc]; break; }
        }
      } else if (e.key === "Home" || e.key === "End") {
        const row = grid[r].filter(Boolean);
        if (row.length) target = e.key === "Home" ? row[0] : row[row.length - 1];
      } else {
        return;
      }
      e.preventDefault();
      if (!target) return;
      b.tabIndex = -1;
      target.tabIndex = 0;
      target.focus();
    });
    table.addEventListener("focusin", (e) => {
      const b = e.target.closest("button[data-r]");
      if (!b) return;
      for (const other of table.querySelectorAll('button[data-r][tabindex="0"]')) if (other !== b) other.tabIndex = -1;
      b.tabIndex = 0;
    });
  }
  // The grid's buttons as a 2-D array, and the first one made the Tab stop.
  function gridOf(table, nRows, nCols) {
    const grid = Array.from({ length: nRows }, () => new Array(nCols).fill(null));
    for (const b of table.querySelectorAll("button[data-r]")) {
      const r0 = +b.dataset.r, c0 = +b.dataset.c, n = +(b.dataset.rows || 1);
      for (let r = r0; r < r0 + n && r < nRows; r += 1) grid[r][c0] = b;
    }
    const first = table.querySelector("button[data-r]");
    if (first) first.tabIndex = 0;
    return grid;
  }
