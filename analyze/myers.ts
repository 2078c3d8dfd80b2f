// Myers' diff in linear space (middle snake), with a work budget: the alignment under `diff`.

/** Edit script entries: op 0 = equal, 1 = delete from A, 2 = insert from B; lengths in runs. */
export interface Edit {
  op: 0 | 1 | 2;
  a: number;
  b: number;
  len: number;
}

export function myersDiff(a: ArrayLike<number>, b: ArrayLike<number>, budget = 2e8): { edits: Edit[]; exceeded: boolean } {
  const edits: Edit[] = [];
  const state = { work: 0, budget, exceeded: false };
  const emit = (op: 0 | 1 | 2, ai: number, bi: number, len: number) => {
    if (len <= 0) return;
    const last = edits[edits.length - 1];
    if (last && last.op === op && last.a + (op === 2 ? 0 : last.len) === ai && last.b + (op === 1 ? 0 : last.len) === bi) last.len += len;
    else edits.push({ op, a: ai, b: bi, len });
  };
  // Explicit stack instead of recursion, popped in left-to-right order: [isEqual, aLo, aHi, bLo, bHi].
  const stack: [boolean, number, number, number, number][] = [[false, 0, a.length, 0, b.length]];
  while (stack.length) {
    const [isEqual, aLo0, aHi0, bLo0, bHi0] = stack.pop()!;
    if (isEqual) {
      emit(0, aLo0, bLo0, aHi0 - aLo0);
      continue;
    }
    let aLo = aLo0,
      aHi = aHi0,
      bLo = bLo0,
      bHi = bHi0;
    // Common prefix and suffix.
    let pre = 0;
    while (aLo + pre < aHi && bLo + pre < bHi && a[aLo + pre] === b[bLo + pre]) pre++;
    emit(0, aLo, bLo, pre);
    aLo += pre;
    bLo += pre;
    let suf = 0;
    while (aHi - suf > aLo && bHi - suf > bLo && a[aHi - suf - 1] === b[bHi - suf - 1]) suf++;
    aHi -= suf;
    bHi -= suf;
    if (suf) stack.push([true, aHi, aHi + suf, bHi, bHi + suf]);
    if (aLo === aHi || bLo === bHi) {
      emit(1, aLo, bLo, aHi - aLo);
      emit(2, aHi, bLo, bHi - bLo);
      continue;
    }
    const mid = middleSnake(a, aLo, aHi, b, bLo, bHi, state);
    if (!mid) {
      emit(1, aLo, bLo, aHi - aLo);
      emit(2, aHi, bLo, bHi - bLo);
      continue;
    }
    // Diff [lo, mid) and then [mid, hi): push the second first.
    stack.push([false, aLo + mid[0], aHi, bLo + mid[1], bHi], [false, aLo, aLo + mid[0], bLo, bLo + mid[1]]);
  }
  return { edits, exceeded: state.exceeded };
}

/** The point (x, y) where a shortest edit path crosses its middle; undefined past the budget. */
function middleSnake(
  a: ArrayLike<number>,
  aLo: number,
  aHi: number,
  b: ArrayLike<number>,
  bLo: number,
  bHi: number,
  st: { work: number; budget: number; exceeded: boolean },
): [number, number] | undefined {
  const n = aHi - aLo,
    m = bHi - bLo;
  const maxD = Math.ceil((n + m) / 2);
  const off = maxD + 1;
  const size = 2 * maxD + 3;
  const v1 = new Int32Array(size).fill(-1);
  const v2 = new Int32Array(size).fill(-1);
  v1[off + 1] = 0;
  v2[off + 1] = 0;
  const delta = n - m;
  const front = (delta & 1) !== 0;
  let k1s = 0,
    k1e = 0,
    k2s = 0,
    k2e = 0;
  for (let d = 0; d < maxD; d++) {
    if (st.work > st.budget) {
      st.exceeded = true;
      return undefined;
    }
    for (let k1 = -d + k1s; k1 <= d - k1e; k1 += 2) {
      const i = off + k1;
      let x1 = k1 === -d || (k1 !== d && v1[i - 1]! < v1[i + 1]!) ? v1[i + 1]! : v1[i - 1]! + 1;
      let y1 = x1 - k1;
      while (x1 < n && y1 < m && a[aLo + x1] === b[bLo + y1]) {
        x1++;
        y1++;
      }
      st.work += 1;
      v1[i] = x1;
      if (x1 > n) k1e += 2;
      else if (y1 > m) k1s += 2;
      else if (front) {
        const j = off + delta - k1;
        if (j >= 0 && j < size && v2[j] !== -1 && x1 >= n - v2[j]!) return [x1, y1];
      }
    }
    for (let k2 = -d + k2s; k2 <= d - k2e; k2 += 2) {
      const i = off + k2;
      let x2 = k2 === -d || (k2 !== d && v2[i - 1]! < v2[i + 1]!) ? v2[i + 1]! : v2[i - 1]! + 1;
      let y2 = x2 - k2;
      while (x2 < n && y2 < m && a[aLo + n - x2 - 1] === b[bLo + m - y2 - 1]) {
        x2++;
        y2++;
      }
      st.work += 1;
      v2[i] = x2;
      if (x2 > n) k2e += 2;
      else if (y2 > m) k2s += 2;
      else if (!front) {
        const j = off + delta - k2;
        if (j >= 0 && j < size && v1[j] !== -1) {
          const x1 = v1[j]!;
          const y1 = x1 - (j - off);
          if (x1 >= n - x2) return [x1, y1];
        }
      }
    }
  }
  return undefined;
}
