  const D = JSON.parse(document.getElementById("kc-data").textContent);
  const S = D.statuses;

  // ---- Raw DEFLATE (RFC 1951), decoded synchronously. The cells' and records' columns come
  // compressed (runner/report/page_pack.py: zlib, wbits -15); DecompressionStream would make the
  // first render and the detail dialog asynchronous.
  const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
  const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
  const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
  const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
  const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
  // A canonical Huffman code as one lookup table indexed by the next `bits` input bits (LSB first):
  // each entry is symbol << 4 | code length.
  function huffman(lengths) {
    let bits = 0;
    const count = new Uint16Array(16), next = new Uint16Array(16);
    for (const l of lengths) { count[l] += 1; if (l > bits) bits = l; }
    count[0] = 0;
    for (let b = 1, code = 0; b < 16; b += 1) { code = (code + count[b - 1]) << 1; next[b] = code; }
    const table = new Int32Array(1 << bits);
    lengths.forEach((l, sym) => {
      if (!l) return;
      let code = next[l]++, rev = 0;
      for (let k = 0; k < l; k += 1) { rev = (rev << 1) | (code & 1); code >>= 1; }
      for (let j = rev; j < table.length; j += 1 << l) table[j] = (sym << 4) | l;
    });
    return { table, bits };
  }
  let fixedCodes = null;
  function inflate(src, size) {
    const out = new Uint8Array(size);
    let pos = 0, buf = 0, cnt = 0, op = 0;
    const need = (n) => { while (cnt < n) { buf |= (src[pos++] | 0) << cnt; cnt += 8; } };
    const take = (n) => { need(n); const v = buf & ((1 << n) - 1); buf >>>= n; cnt -= n; return v; };
    const decode = (h) => {
      need(h.bits);
      const e = h.table[buf & ((1 << h.bits) - 1)], l = e & 15;
      if (!l) throw new Error("the page's data is damaged (bad DEFLATE code)");
      buf >>>= l; cnt -= l;
      return e >> 4;
    };
    for (let last = 0; !last;) {
      last = take(1);
      const type = take(2);
      if (type === 0) {
        // stored: from the next byte boundary (bytes already in the bit buffer are given back)
        pos -= cnt >> 3; buf = 0; cnt = 0;
        const len = src[pos] | (src[pos + 1] << 8);
        pos += 4;
        out.set(src.subarray(pos, pos + len), op);
        pos += len; op += len;
        continue;
      }
      let lit, dist;
      if (type === 1) {
        if (!fixedCodes) {
          const l = new Uint8Array(288).fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
          fixedCodes = [huffman(l), huffman(new Uint8Array(30).fill(5))];
        }
        [lit, dist] = fixedCodes;
      } else if (type === 2) {
        const nlit = take(5) + 257, ndist = take(5) + 1, nclen = take(4) + 4;
        const clen = new Uint8Array(19);
        for (let k = 0; k < nclen; k += 1) clen[CLEN_ORDER[k]] = take(3);
        const ch = huffman(clen);
        const lens = new Uint8Array(nlit + ndist);
        for (let k = 0; k < lens.length;) {
          const sym = decode(ch);
          if (sym < 16) { lens[k++] = sym; continue; }
          const [rep, fill] = sym === 16 ? [3 + take(2), lens[k - 1]] : sym === 17 ? [3 + take(3), 0] : [11 + take(7), 0];
          lens.fill(fill, k, k + rep);
          k += rep;
        }
        lit = huffman(lens.subarray(0, nlit));
        dist = huffman(lens.subarray(nlit));
      } else {
        throw new Error("the page's data is damaged (bad DEFLATE block)");
      }
      for (;;) {
        let sym = decode(lit);
        if (sym < 256) { out[op++] = sym; continue; }
        if (sym === 256) break;
        sym -= 257;
        const len = LEN_BASE[sym] + take(LEN_EXTRA[sym]);
        const d = decode(dist);
        const from = op - DIST_BASE[d] - take(DIST_EXTRA[d]);
        for (let k = 0; k < len; k += 1) out[op++] = out[from + k];
      }
    }
    return out;
  }
  const fromBase64 = (text) => {
    if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text);
    const bin = atob(text), bytes = new Uint8Array(bin.length);
    for (let k = 0; k < bin.length; k += 1) bytes[k] = bin.charCodeAt(k);
    return bytes;
  };
  // One packed set of columns (cells or records) as typed arrays, by field name.
  const ARRAYS = { u1: Uint8Array, i1: Int8Array, u2: Uint16Array, i2: Int16Array, i4: Int32Array };
  function columns(packed) {
    const raw = inflate(fromBase64(packed.data), packed.size);
    const out = {};
    for (const [name, type, offset] of packed.columns) out[name] = new ARRAYS[type](raw.buffer, offset, packed.n);
    return out;
  }

  // ---- Cells: one small object per cell whose fields are read from the columns (field names in
  // cell_fields; status, option and written as words, cell_vocab, the others as indexes).
  const CC = columns(D.packed.cells);
  const nCells = D.packed.cells.n;
  class Cell { constructor(i) { this.i = i; } }
  for (const k of D.cell_fields) {
    const col = CC[k], words = D.cell_vocab[k];
    Object.defineProperty(Cell.prototype, k, words ? { get() { const v = col[this.i]; return v < 0 ? null : words[v]; } } : { get() { return col[this.i]; } });
  }
  const cells = Array.from({ length: nCells }, (_, i) => new Cell(i));
  // Records are only needed by the detail view: decoded and indexed by cell on first use, not at load.
  let RC = null, recStart = null;
  const recordsFor = (i) => {
    if (!RC) {
      RC = columns(D.packed.records);
      // records come sorted by cell (a record of no cell, -1, first): where each cell's begin
      recStart = new Int32Array(nCells + 1).fill(-1);
      const cell = RC.cell, n = D.packed.records.n;
      for (let j = n - 1; j >= 0; j -= 1) if (cell[j] >= 0) recStart[cell[j]] = j;
      recStart[nCells] = n;
      for (let c = nCells - 1; c >= 0; c -= 1) if (recStart[c] < 0) recStart[c] = recStart[c + 1];
    }
    const out = [];
    const seconds = (ms) => (ms < 0 ? null : ms / 1000);
    for (let j = recStart[i]; j < recStart[i + 1]; j += 1) {
      const r = {};
      for (const k of D.record_fields) r[k] = RC[k][j];
      for (const [k, words] of Object.entries(D.record_vocab)) r[k] = r[k] >= 0 ? words[r[k]] : null;
      r.max_abs_diff = r.max_abs_diff >= 0 ? D.diffs[r.max_abs_diff] : null;
      for (const k of ["save_s", "load_s", "call_s"]) r[k] = seconds(r[k]);
      [r.rtol, r.atol] = D.tolerances[r.tolerance];
      out.push(r);
    }
    return out;
  };
  const WORKING = new Set(D.working);  // runner/core/vocab.py WORKING, from the data
  // Every (scenario, format, save_row, load_row) in the run, same-env or not, so a
  // "saved in X / loaded in Y" view is a different lookup, not different data: the key is the
  // cell's slot in the scenario × format × save row × load row grid.
  const nF = D.formats.length, nR = D.rows.length;
  const key = (s, f, sv, ld) => (s === undefined || f === undefined || sv === undefined || ld === undefined ? -1 : ((s * nF + f) * nR + sv) * nR + ld);
  const slots = new Int32Array(D.scenarios.length * nF * nR * nR).fill(-1);
  for (let i = 0; i < nCells; i += 1) slots[key(CC.scenario[i], CC.format[i], CC.save_row[i], CC.load_row[i])] = i;
  const byKey = { get: (k) => (k >= 0 && slots[k] >= 0 ? cells[slots[k]] : undefined) };
  const rowIx = new Map(D.rows.map((r, i) => [r.id, i]));
  const scIx = new Map(D.scenarios.map((s, i) => [s.id, i]));
  const fmtIx = new Map(D.formats.map((f, i) => [f, i]));
