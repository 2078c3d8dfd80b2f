// Hot-path number parsing on [start, end) spans of a chunk string: no regex, no substrings.

/** Position just after the last number parsed (module scratch to avoid allocating results). */
export let numEnd = 0;

const SMALL_BIG: bigint[] = Array.from({ length: 4096 }, (_, i) => BigInt(i));

/** A non-negative integer as bigint, with small values from a cache. */
export function big(n: number): bigint {
  return n < 4096 ? SMALL_BIG[n]! : BigInt(n);
}

/** Hex digits at `p` (optional 0x prefix) → number (exact below 2^53); NaN if none. */
export function hexAt(t: string, p: number, end: number): number {
  if (p + 1 < end && t.charCodeAt(p) === 48 && (t.charCodeAt(p + 1) | 32) === 120) p += 2;
  let v = 0;
  const s = p;
  for (; p < end; p++) {
    const c = t.charCodeAt(p);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if ((c | 32) >= 97 && (c | 32) <= 102) d = (c | 32) - 87;
    else break;
    v = v * 16 + d;
  }
  numEnd = p;
  return p === s ? NaN : v;
}

/** Hex digits at `p` → bigint, exact for all 64 bits. */
export function hexBigAt(t: string, p: number, end: number): bigint | undefined {
  const v = hexAt(t, p, end);
  if (v !== v) return undefined;
  if (v <= 0x1fffffffffffff) return big(v);
  let s = p;
  if (t.charCodeAt(s) === 48 && (t.charCodeAt(s + 1) | 32) === 120) s += 2;
  return BigInt('0x' + t.slice(s, numEnd));
}

/** Decimal integer at `p` (optional '-') → number; NaN if none. */
export function decAt(t: string, p: number, end: number): number {
  let neg = false;
  if (p < end && t.charCodeAt(p) === 45) {
    neg = true;
    p++;
  }
  let v = 0;
  const s = p;
  for (; p < end; p++) {
    const c = t.charCodeAt(p) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
  }
  numEnd = p;
  return p === s ? NaN : neg ? -v : v;
}

/** Number (hex with 0x, else decimal) after `key` searched from `from`; NaN if absent. */
export function numAfter(t: string, key: string, from: number, end: number): number {
  const i = t.indexOf(key, from);
  if (i < 0 || i >= end) {
    numEnd = from;
    return NaN;
  }
  const p = i + key.length;
  if (t.charCodeAt(p) === 48 && (t.charCodeAt(p + 1) | 32) === 120) return hexAt(t, p, end);
  return decAt(t, p, end);
}

/** Hex value after `key` as bigint; undefined if absent. */
export function bigAfter(t: string, key: string, from: number, end: number): bigint | undefined {
  const i = t.indexOf(key, from);
  if (i < 0 || i >= end) return undefined;
  return hexBigAt(t, i + key.length, end);
}
