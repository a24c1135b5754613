  // ---- "Can I upgrade?": saved in one env, loaded in another; one answer per pattern × format
  // (runner/core/cells.py upgrade_answer, carried by every cross-env cell as ``answer``).
  const upForm = document.getElementById("upgrade-form");
  const upTable = document.getElementById("upgrade-table");
  const upSummary = document.getElementById("upgrade-summary");
  const upShortcuts = document.getElementById("upgrade-shortcuts");
  const upNote = document.getElementById("upgrade-note");
  const upCounts = document.getElementById("upgrade-counts");
  const laterTable = document.getElementById("later-table");
  const laterSummary = document.getElementById("later-summary");
  const backTable = document.getElementById("rollback-table");
  const backSummary = document.getElementById("rollback-summary");
  const ANSWER_IDS = D.answers.map((a) => a.id);
  // Pairs the run measured (save row -> load rows), from the cells themselves.
  const pairsFrom = new Map();
  for (const c of cells) {
    if (c.save_row === c.load_row) continue;
    if (!pairsFrom.has(c.save_row)) pairsFrom.set(c.save_row, new Set());
    pairsFrom.get(c.save_row).add(c.load_row);
  }
  // The measured target closest to the one asked for: same flavour first, then the nearest TF.
  function nearest(sv, wanted) {
    const w = D.rows[wanted];
    let best = -1, score = Infinity;
    for (const t of pairsFrom.get(sv) || []) {
      const r = D.rows[t];
      const s = (r.flavour === w.flavour ? 0 : 1e9) + Math.abs(r.tf_rank - w.tf_rank) * 10 + (r.python_minor === w.python_minor ? 0 : 1);
      if (s < score) { score = s; best = t; }
    }
    return best;
  }
  function defaultUpgrade() {
    if (D.default_upgrade) return D.default_upgrade.map((id) => rowIx.get(id));
    for (const [sv, lds] of pairsFrom) return [sv, [...lds][0]];
    return [0, 0];
  }
  function setUpgrade(from, to, push) {
    state.from = from;
    state.to = to;
    writeHash(push);
    renderUpgrade();
  }
  // An error as the page shows it: the whole message, folded when it is long.
  const whyError = (e) => {
    const head = `<code>${esc(e.type)}</code>: `;
    if (e.message.length <= 200) return `<span class="why">${head}${esc(e.message)}</span>`;
    return `<details class="why"><summary>${head}${esc(e.message.slice(0, 160))}…</summary><pre class="msg" tabindex="0">${esc(e.message)}</pre></details>`;
  };
  // The change a cell's answer asks for: the call it works with, or, for a silent wrong answer, the call
  // that computes something else.
  const callChange = (a, c) => {
    if (a === "change_call") return D.option_calls[c.option] || c.option;
    if (a === "wrong" && c.option !== "default" && c.option !== "load_weights") return `with ${D.option_calls[c.option] || c.option}`;
    return "";
  };
  const answerBadge = (a, extra) => `<span class="badge ans-${esc(a)}"><span class="g" aria-hidden="true"></span> <span class="lbl">${esc(D.answers[ANSWER_IDS.indexOf(a)].title)}${extra ? ": " + esc(extra) : ""}</span></span>`;
  function renderUpgrade() {
    if (!upForm) return;
    let sv = rowIx.get(state.from), ld = rowIx.get(state.to);
    const [dsv, dld] = defaultUpgrade();
    if (sv === undefined || !pairsFrom.has(sv)) sv = dsv;
    const asked = ld;
    if (ld === undefined) ld = pairsFrom.get(sv) && pairsFrom.get(sv).has(dld) ? dld : nearest(sv, dld);
    else if (!(pairsFrom.get(sv) || new Set()).has(ld)) ld = nearest(sv, ld);
    upNote.hidden = asked === undefined || asked === ld;
    if (!upNote.hidden) upNote.textContent = `${D.rows[asked].id} was not measured with files saved in ${D.rows[sv].id}. The nearest measured environment is shown: ${ld >= 0 ? D.rows[ld].id : "none"}.`;
    upForm.elements.from.value = D.rows[sv].id;
    const targets = [...(pairsFrom.get(sv) || [])].sort((a, b) => a - b);
    upForm.elements.to.innerHTML = targets.map((t) => `<option value="${esc(D.rows[t].id)}">${esc(D.rows[t].id)} (${esc(envLabel(D.rows[t]))})</option>`).join("");
    if (ld >= 0) upForm.elements.to.value = D.rows[ld].id;
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
    upShortcuts.innerHTML = links.length ? `<span class="meta">Shortcuts:</span> ${links.join(" ")}` : "";
    if (ld < 0) {
      upTable.innerHTML = "";
      upCounts.innerHTML = "";
      upSummary.textContent = `No artifact saved in ${D.rows[sv].id} was loaded elsewhere in this run.`;
      return;
    }
    const out = [`<caption class="visually-hidden">Saved in ${esc(D.rows[sv].id)}, loaded in ${esc(D.rows[ld].id)}: the answer per pattern and format</caption>`,
      '<thead><tr><th scope="col">Pattern · format</th><th scope="col">Answer</th><th scope="col">Alternatives</th></tr></thead><tbody>'];
    const tally = Object.fromEntries(ANSWER_IDS.map((a) => [a, 0]));
    let shown = 0;
    D.scenarios.forEach((scn, s) => {
      if (state.scenario && scn.id !== state.scenario) return;
      D.formats.forEach((fmt, f) => {
        if (state.format && fmt !== state.format) return;
        const cross = byKey.get(key(s, f, sv, ld));
        if (!cross || cross.answer < 0) return;
        if ((state.status || state.q || state.group || state.change) && !cellMatches(cross)) return;
        const a = ANSWER_IDS[cross.answer];
        tally[a] += 1;
        if (state.answer && a !== state.answer) return;
        shown += 1;
        const what = callChange(a, cross);
        const fix = (a === "breaks" || a === "wrong") && cross.fix >= 0 ? `<span class="why">Fix: ${esc(D.fixes[cross.fix])}</span>` : "";
        const err = (a === "breaks" || a === "wrong" || a === "change_call") && cross.error >= 0 ? whyError(D.errors[cross.error]) : "";
        // Alternatives: other measured targets of this save env where the pattern loads unchanged.
        const alts = [];
        if (a !== "works" && a !== "already_fails") {
          const others = [...lds].filter((t) => t !== ld).sort((x, y) => (D.rows[y].tf === D.rows[ld].tf) - (D.rows[x].tf === D.rows[ld].tf) || D.rows[y].tf_rank - D.rows[x].tf_rank);
          for (const t of others) {
            const alt = byKey.get(key(s, f, sv, t));
            if (alt && ANSWER_IDS[alt.answer] === "works") alts.push(`<button type="button" class="chip" data-upgrade="${esc(D.rows[sv].id)}>${esc(D.rows[t].id)}">${esc(D.rows[t].id)}</button> loads it unchanged <span class="why">${esc(D.rows[t].setup)}</span>`);
            if (alts.length === 2) break;
          }
        }
        out.push(`<tr class="ans ans-row-${esc(a)}"><th scope="row"><code>${esc(scn.id)}</code> <span class="fmt">${esc(fmt)}</span></th><td><button type="button" class="link answer-cell" data-cell="${cross.i}">${answerBadge(a, what)}</button>${err}${fix}</td><td class="alts">${alts.length ? alts.join("<br>") : '<span class="meta">–</span>'}</td></tr>`);
      });
    });
    if (!shown) out.push(`<tr><td colspan="3" class="none">No pattern matches the filters.</td></tr>`);
    out.push("</tbody>");
    upTable.innerHTML = out.join("");
    upCounts.innerHTML = ANSWER_IDS.filter((a) => tally[a]).map((a) => `<li><button type="button" class="count" data-answer="${esc(a)}" aria-pressed="${state.answer === a}">${answerBadge(a)} <b>${tally[a]}</b></button></li>`).join("");
    const total = Object.values(tally).reduce((x, y) => x + y, 0);
    upSummary.textContent = `Saved in ${D.rows[sv].id} (${envLabel(D.rows[sv])}), loaded in ${D.rows[ld].id} (${envLabel(D.rows[ld])}): ${total} patterns × formats measured${shown !== total ? `, ${shown} shown` : ""}.`;
    renderLater(sv, ld);
    renderRollback(sv, ld);
  }
  // The rows of a side table: pattern · format, the answer (with the change it asks for), and a note.
  function sideRow(s, f, a, c, note) {
    const err = (a === "breaks" || a === "wrong" || a === "change_call") && c.error >= 0 ? whyError(D.errors[c.error]) : "";
    const fix = (a === "breaks" || a === "wrong") && c.fix >= 0 ? `<span class="why">Fix: ${esc(D.fixes[c.fix])}</span>` : "";
    return `<tr class="ans ans-row-${esc(a)}"><th scope="row"><code>${esc(D.scenarios[s].id)}</code> <span class="fmt">${esc(D.formats[f])}</span></th><td><button type="button" class="link answer-cell" data-cell="${c.i}">${answerBadge(a, callChange(a, c))}</button>${err}${fix}</td><td>${note}</td></tr>`;
  }
  const sideHead = (caption) => `<caption class="visually-hidden">${esc(caption)}</caption><thead><tr><th scope="col">Pattern · format</th><th scope="col">Answer</th><th scope="col">What changed</th></tr></thead><tbody>`;
  // (b) What changes for files saved after the upgrade: the same-env cell of the new env against the old
  // one's, by the answer table of the data (runner/core/cells.py upgrade_answer between the two uses).
  function renderLater(sv, ld) {
    if (!laterTable) return;
    const out = [sideHead(`Saved and loaded in ${D.rows[ld].id}, against saved and loaded in ${D.rows[sv].id}`)];
    let same = 0, changed = 0;
    D.scenarios.forEach((scn, s) => {
      if (state.scenario && scn.id !== state.scenario) return;
      D.formats.forEach((fmt, f) => {
        if (state.format && fmt !== state.format) return;
        const before = byKey.get(key(s, f, sv, sv)), after = byKey.get(key(s, f, ld, ld));
        if (!before || !after || before.use < 0 || after.use < 0) return;
        const a = ANSWER_IDS[D.use_answers[`${before.use},${after.use}`]];
        const wrote = before.written !== after.written && after.written ? `<code>${esc(fmt)}</code> now writes ${esc(D.written[after.written] || after.written)}, not ${esc(D.written[before.written] || before.written || "nothing")}` : "";
        if ((a === "works" || a === "already_fails") && !wrote && before.status === after.status) { same += 1; return; }
        changed += 1;
        out.push(sideRow(s, f, a, after, wrote || `was ${badge(S[before.status] ? before.status : "not_run")}`));
      });
    });
    if (!changed) out.push(`<tr><td colspan="3" class="none">Nothing changes for the files you save after this upgrade.</td></tr>`);
    out.push("</tbody>");
    laterTable.innerHTML = out.join("");
    laterSummary.textContent = ld === sv ? "" : `Saved and loaded in ${D.rows[ld].id} instead of ${D.rows[sv].id}: ${changed} patterns × formats change, ${same} behave as before.`;
  }
  // (c) Rolling back: files saved in the new env, loaded in the old one (where the run measured it).
  function renderRollback(sv, ld) {
    if (!backTable) return;
    const out = [sideHead(`Saved in ${D.rows[ld].id}, loaded in ${D.rows[sv].id}`)];
    let n = 0, ok = 0;
    D.scenarios.forEach((scn, s) => {
      if (state.scenario && scn.id !== state.scenario) return;
      D.formats.forEach((fmt, f) => {
        if (state.format && fmt !== state.format) return;
        const back = byKey.get(key(s, f, ld, sv));
        if (!back || back.answer < 0) return;
        n += 1;
        const a = ANSWER_IDS[back.answer];
        if (a === "works" || a === "already_fails") { ok += 1; return; }
        out.push(sideRow(s, f, a, back, ""));
      });
    });
    if (!n) out.push(`<tr><td colspan="3" class="none">Not measured: no file saved in ${esc(D.rows[ld].id)} was loaded in ${esc(D.rows[sv].id)} in this run.</td></tr>`);
    else if (n === ok) out.push(`<tr><td colspan="3" class="none">Every file saved after the upgrade loads as before after rolling back.</td></tr>`);
    out.push("</tbody>");
    backTable.innerHTML = out.join("");
    backSummary.textContent = n ? `Saved in ${D.rows[ld].id}, loaded in ${D.rows[sv].id}: ${n - ok} of ${n} patterns × formats need attention.` : "";
  }
  if (upForm) {
    upForm.addEventListener("change", () => setUpgrade(upForm.elements.from.value, upForm.elements.to.value, true));
    upForm.addEventListener("submit", (e) => e.preventDefault());
  }
