  // ---- Detail dialog: one cell, or one environment.
  const dialog = document.getElementById("detail");
  const titleEl = document.getElementById("detail-title");
  const bodyEl = document.getElementById("detail-body");
  let opener = null;

  function openDialog(title, html, from) {
    titleEl.textContent = title;
    bodyEl.innerHTML = html;
    if (!dialog.open) {
      opener = from || document.activeElement;
      dialog.showModal();
    }
    dialog.scrollTop = 0;
  }
  // The "close" event comes a task later (and also after Esc), so state is cleared
  // both here, synchronously, and there.
  function forgetDetail() {
    if (!state.cell && !state.env) return;
    delete state.cell;
    delete state.env;
    writeHash(false);
  }
  function closeDialog() {
    forgetDetail();
    if (dialog.open) dialog.close();
  }
  dialog.addEventListener("close", () => {
    forgetDetail();
    if (opener && document.contains(opener)) opener.focus();
    opener = null;
  });
  dialog.addEventListener("click", (e) => { if (e.target === dialog) closeDialog(); }); // backdrop

  function lockText(r) {
    if (!r.lock) return r.status === "env_error" ? "No lock: the environment could not be built." : "No lock recorded.";
    const pkgs = Object.entries(r.lock.packages).sort(([a], [b]) => a.localeCompare(b));
    return [`# python ${r.lock.python}`, ...pkgs.map(([n, v]) => `${n}==${v}`)].join("\n");
  }
  function envBlock(title, r) {
    return `<section><h4>${esc(title)}: <code>${esc(r.id)}</code></h4><p>${esc(envLabel(r))}${r.lock_hash ? ` · lock <code title="${esc(r.lock_hash)}">sha256:${esc(r.lock_hash.slice(0, 12))}</code>` : ""}</p>` +
      `<pre tabindex="0">${esc(lockText(r))}</pre></section>`;
  }
  function reproBlock(cmd) {
    return `<h3>Reproduce</h3><div class="repro"><pre tabindex="0"><code>${esc(cmd)}</code></pre><button type="button" data-copy="${esc(cmd)}">Copy</button></div>`;
  }
  function reproduce(c) {
    const sv = D.rows[c.save_row].id, ld = D.rows[c.load_row].id;
    const rows = sv === ld ? sv : `${sv},${ld}`;
    return `python -m runner run --rows ${rows} --scenarios ${D.scenarios[c.scenario].id} --formats ${D.formats[c.format]}` + (sv === ld ? "" : " --pairs all");
  }

  function showCell(c, from) {
    const sc = D.scenarios[c.scenario], fmt = D.formats[c.format];
    const save = D.rows[c.save_row], load = D.rows[c.load_row];
    const st = S[c.status];
    const error = c.error >= 0 ? D.errors[c.error] : null;
    const broken = [save, load].find((r) => r.status === "env_error");
    const recs = recordsFor(c.i);
    const expected = D.expected_written[fmt];
    const h = [];
    h.push(`<p>${badge(c.status)} ${esc(st.meaning)}</p><dl>`);
    h.push(`<dt>Scenario</dt><dd><code>${esc(sc.id)}</code>: <code>${esc(sc.title)}</code></dd>`);
    h.push(`<dt>Format</dt><dd><code>${esc(fmt)}</code></dd>`);
    h.push(`<dt>Saved in</dt><dd><code>${esc(save.id)}</code> (${esc(envLabel(save))})</dd>`);
    h.push(`<dt>Loaded in</dt><dd><code>${esc(load.id)}</code>${load === save ? " (the same environment)" : ` (${esc(envLabel(load))})`}</dd>`);
    const rests = recs.find((r) => r.option === c.option);
    h.push(`<dt>Load call</dt><dd>${rests && rests.call >= 0 ? `<pre class="call" tabindex="0"><code>${esc(D.calls[rests.call])}</code></pre>` : `<code>${esc(c.option)}</code>`} (the status rests on it${WORKING.has(c.status) ? ": the plainest call that works" : c.status === "wrong_output" ? ": it loads and computes something else" : ""})</dd>`);
    h.push(`<dt>The save wrote</dt><dd>${c.written ? `<code>${esc(c.written)}</code>: ${esc(D.written[c.written] || "")}` : "nothing: no save ran"}` +
      (wroteUnexpected(c) ? ` <span class="note">not the ${esc(expected)} that <code>${esc(fmt)}</code> suggests</span>` : "") + "</dd>");
    if (c.group >= 0) {
      const g = D.groups[c.group];
      const where = g.same_env ? ` <button type="button" class="link" data-group="${esc(g.id)}">show the ${g.same_env} in the matrix</button>` : " (all loaded in another environment than saved in: none is in the matrix)";
      h.push(`<dt>Error group</dt><dd><b>${esc(g.id)}</b>: ${g.cells} cell${g.cells === 1 ? "" : "s"} in the run${where}</dd>`);
    }
    h.push("</dl>");
    if (error) {
      // The error the status rests on: the plain load's when an option rescued the cell, else the deciding record's.
      const plain = recs.find((r) => r.option === "default" || r.option === "load_weights");
      const heading = WORKING.has(c.status) ? "Why the plain call fails" : c.status === "wrong_output" ? "What the call computes" : `Exception of the call the status rests on (<code>${esc(c.option)}</code>${plain && plain.option !== c.option ? ": the plain call's error points to it" : ""})`;
      h.push(`<h3>${heading}</h3><pre class="msg" tabindex="0"><b>${esc(error.type)}</b>: ${esc(error.message)}</pre>`);
      if (c.traceback >= 0) h.push(`<details><summary>Traceback (last lines)</summary><pre tabindex="0">${esc(D.tracebacks[c.traceback])}</pre></details>`);
    } else if (broken) {
      h.push(`<h3>Environment error</h3><pre class="msg" tabindex="0">${esc(broken.error)}</pre>`);
    }
    const wrong = recs.find((r) => r.outcome === "wrong_output");
    if (wrong) h.push(`<p class="note">Largest absolute difference ${num(wrong.max_abs_diff)} (rtol ${wrong.rtol}, atol ${wrong.atol}).</p>`);
    const works = recs.filter((r) => r.outcome === "ok" && r.option !== c.option).map((r) => r.option);
    if (c.fix >= 0 || (works.length && c.status !== "pass")) {
      h.push(`<h3>Fix</h3>${c.fix >= 0 ? `<p>${esc(D.fixes[c.fix])}</p>` : ""}`);
      if (works.length) h.push(`<p>Calls that work here: ${works.map((o) => `<code>${esc(o)}</code>`).join(", ")}.</p>`);
    }
    const change = D.changes[c.i];
    if (change) h.push(`<p class="note">Since the last run: <b>${esc(D.change_titles[change[0]])}</b>, it was ${badge(change[1])}.</p>`);
    h.push(`<p class="meta">Calls are made in order (plainest first)${c.save_row !== c.load_row ? "" : ": every <code>load_model</code> call, then the others"} and stop at the first that works: the ones after it cannot change the answer. Calls that cannot read this file in this environment are answered without running anything.</p>`);
    const tested = [];
    D.claims.forEach((list, k) => {
      for (const [i, v] of list) if (i === c.i) tested.push([k, v]);
    });
    if (tested.length) {
      h.push("<h3>Claims this cell tests</h3><ul>" + tested.map(([k, v]) => {
        const [id, quote] = D.claim_quotes[k];
        return `<li>${verdictBadge(v)} <a href="#claim-${esc(id)}" data-close-first>${esc(quote)}</a></li>`;
      }).join("") + "</ul>");
    }
    h.push(`<h3>The article</h3><p><b>Claim:</b> ${esc(sc.claim)}</p><p><b>Recommended rewrite:</b> ${esc(sc.fix)}</p><p class="meta">Source: ${esc(sc.source)}</p>`);
    if (recs.length) {
      h.push('<h3>Every call made</h3><div class="table-wrap" tabindex="0"><table class="plain calls"><thead><tr><th scope="col">Call</th><th scope="col">Outcome</th><th scope="col">Stage</th><th scope="col">max |diff|</th><th scope="col">Error (where it was raised)</th><th scope="col">save / load / call</th></tr></thead><tbody>');
      for (const r of recs) {
        const e = r.error >= 0 ? D.errors[r.error] : null;
        const call = r.call >= 0 ? `<code class="call">${esc(D.calls[r.call])}</code>` : `<code>${esc(r.option)}</code>`;
        const where = r.origin >= 0 ? ` <span class="meta">(${esc(D.origins[r.origin])})</span>` : "";
        const err = e ? `<details><summary><code>${esc(e.type)}</code>${where}</summary><pre class="msg" tabindex="0">${esc(e.message)}</pre></details>` : "–";
        h.push(`<tr><td>${call}</td><td>${esc(r.outcome)}</td><td>${esc(r.stage)}</td><td>${num(r.max_abs_diff)}</td><td>${err}</td><td>${num(r.save_s, " s")} / ${num(r.load_s, " s")} / ${num(r.call_s, " s")}</td></tr>`);
      }
      h.push("</tbody></table></div>");
    }
    h.push(reproBlock(reproduce(c)));
    h.push(`<p class="meta">Permalink to this cell: <a href="#cell=${esc(encodeURIComponent(cellId(c)))}">#cell=${esc(cellId(c))}</a></p>`);
    h.push(`<h3>Environment locks</h3><div class="locks">${envBlock("Saved in", save)}${envBlock("Loaded in", load)}</div>`);
    state.cell = cellId(c);
    delete state.env;
    writeHash(false);
    openDialog(`${st.label}: ${sc.id} · ${fmt} · ${save.id}${load === save ? "" : " → " + load.id}`, h.join(""), from);
  }

  function showEnv(id, from) {
    const col = rowIx.get(id);
    if (col === undefined) return;
    const r = D.rows[col];
    const counts = {};
    for (const c of cells) if (c.save_row === col && c.load_row === col) counts[c.status] = (counts[c.status] || 0) + 1;
    const h = [];
    h.push(`<p>${r.status === "env_error" ? badge("env_error") + " " + esc(S.env_error.meaning) : "Built."}</p><dl>`);
    h.push(`<dt>Flavour</dt><dd>${esc(r.flavour)}</dd><dt>TensorFlow</dt><dd>${esc(r.tf)}</dd><dt>Keras</dt><dd>${esc(r.keras)}</dd><dt>Python</dt><dd>${esc(r.python)}</dd>`);
    if (r.tags.length) h.push(`<dt>Tags</dt><dd>${esc(r.tags.join(", "))}</dd>`);
    const vars = Object.entries(r.env_vars);
    if (vars.length) h.push(`<dt>Variables</dt><dd><code>${esc(vars.map(([k, v]) => `${k}=${v}`).join(" "))}</code></dd>`);
    h.push(`<dt>Built in</dt><dd>${num(r.build_s, " s")}</dd></dl>`);
    if (r.error) h.push(`<h3>Error</h3><pre class="msg" tabindex="0">${esc(r.error)}</pre>`);
    const hist = D.row_history[col];
    if (hist.length > 1) {
      h.push(`<h3>Trend (cells loaded here, per run)</h3><p>${hist.map(([when, ok, n]) => `${esc(when.slice(0, 10))}: ${Math.round((100 * ok) / n)}% pass of ${n}`).join(" → ")}</p>`);
    }
    h.push(`<h3>Cells (same environment)</h3><p>${Object.entries(counts).map(([st, n]) => `${badge(st)} ${n}`).join(" ") || "None."}</p>`);
    h.push(`<h3>Requested</h3><pre tabindex="0">${esc(r.packages.join("\n"))}</pre>`);
    h.push(`<h3>Lock</h3><pre tabindex="0">${esc(lockText(r))}</pre>`);
    h.push(reproBlock(`python -m runner run --rows ${r.id}`));
    state.env = r.id;
    delete state.cell;
    writeHash(false);
    openDialog(`Environment ${r.id}`, h.join(""), from);
  }

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch (err) {
      // file:// pages may not get the clipboard: select the text instead.
      const pre = button.parentElement.querySelector("pre");
      const range = document.createRange();
      range.selectNodeContents(pre);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      button.textContent = "Selected: Ctrl+C";
    }
  }

