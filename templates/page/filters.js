  // ---- Which cells a filter keeps.
  function cellText(c) {
    if (c.text === undefined) {
      const sc = D.scenarios[c.scenario];
      const e = c.error >= 0 ? D.errors[c.error] : null;
      c.text = [
        sc.id, sc.title, D.formats[c.format], D.rows[c.save_row].id, D.rows[c.load_row].id,
        c.status, S[c.status].label, c.written || "",
        e ? e.type + ": " + e.message : "",
        c.fix >= 0 ? D.fixes[c.fix] : "",
        c.group >= 0 ? D.groups[c.group].id : "",
        D.rows[c.save_row].error || "", D.rows[c.load_row].error || "",
      ].join(" ").toLowerCase();
    }
    return c.text;
  }
  function colMatches(r) {
    return (!state.flavour || r.flavour === state.flavour) && (!state.tf || r.tf === state.tf) &&
      (!state.keras || r.keras === state.keras) && (!state.py || r.python_minor === state.py);
  }
  function cellMatches(c) {
    if (!c) return false;
    if (state.status === "failing" ? c.status === "pass" : state.status && c.status !== state.status) return false;
    if (state.group && (c.group < 0 || D.groups[c.group].id !== state.group)) return false;
    if (state.change && !(D.changes[c.i] && D.changes[c.i][0] === state.change)) return false;
    if (state.q && !cellText(c).includes(state.q.toLowerCase())) return false;
    return true;
  }

