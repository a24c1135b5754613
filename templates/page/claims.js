  // ---- Claims: each claim's cells are listed when its <details> is opened.
  for (const det of document.querySelectorAll("details.claim-cells")) {
    det.addEventListener("toggle", () => {
      const ul = det.querySelector("ul");
      if (!det.open || ul.childElementCount) return;
      ul.innerHTML = D.claims[+det.dataset.claim].map(([i, v, why]) => {
        const c = cells[i];
        return `<li>${verdictBadge(v)} ` +
          `<button type="button" class="link" data-cell="${c.i}"><code>${esc(D.scenarios[c.scenario].id)}</code> · <code>${esc(D.formats[c.format])}</code> in <code>${esc(D.rows[c.save_row].id)}</code></button> <span class="why">${esc(why)}</span></li>`;
      }).join("");
    });
  }

