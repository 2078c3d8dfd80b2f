// Hot-path number parsing on [start, end) spans of a chunk string: no regex, no substrings.
//
// Numbers are exact or refused: a number (hexAt/decAt/numAfter) above 2^53 − 1 and a bigint
// (hexBigAt/bigAfter) wider than 64 bits read as "absent" (NaN / undefined) and set `numOverflow`,
// so the importer counts the line as bad ("number out of range") instead of storing a rounded or
// wrapped value. Importers reset the flag per line (clearOverflow).

/** Position just after the last number parsed (module scratch to avoid allocating results). */
export let numEnd = 0;
/** A number was present but out of range since the last clearOverflow(). */
export let numOverflow = false;

export function clearOverflow(): void {
  numOverflow = false;
}

/** Why a line whose numbers overflowed is bad (one wording for every importer). */
export const OVERFLOW_REASON = 'number out of range (wider than 64 bits, or 2^53 or more where an exact integer is needed)';

const MAX_SAFE = 0x1fffffffffffff;
const SMALL_BIG: bigint[] = Array.from({ length: 4096 }, (_, i) => BigInt(i));

/** A non-negative integer as bigint, with small values from a cache. */
export function big(n: number): bigint {
  return n < 4096 ? SMALL_BIG[n]! : BigInt(n);
}

/** Start of the digits of the last hexScan (after an optional 0x). */
let digitsStart = 0;

/** Hex digits at `p` (optional 0x) → their value as a double (exact below 2^53); NaN if none. */
function hexScan(t: string, p: number, end: number): number {
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
  digitsStart = s;
  return p === s ? NaN : v;
}

/** Hex digits at `p` (optional 0x prefix) → number; NaN if none or if 2^53 or more (numOverflow). */
export function hexAt(t: string, p: number, end: number): number {
  const v = hexScan(t, p, end);
  // A true value below 2^53 is computed exactly; one above rounds to at least 2^53.
  if (v > MAX_SAFE) {
    numOverflow = true;
    return NaN;
  }
  return v;
}

/** Hex digits at `p` → bigint, exact for all 64 bits; undefined if none or wider (numOverflow). */
export function hexBigAt(t: string, p: number, end: number): bigint | undefined {
  const v = hexScan(t, p, end);
  if (v !== v) return undefined;
  if (v <= MAX_SAFE) return big(v);
  let s = digitsStart;
  while (s < numEnd && t.charCodeAt(s) === 48) s++;
  if (numEnd - s > 16) {
    numOverflow = true;
    return undefined;
  }
  return BigInt('0x' + t.slice(s, numEnd));
}

/** Decimal integer at `p` (optional '-') → number; NaN if none or if |n| ≥ 2^53 (numOverflow). */
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
  if (p === s) return NaN;
  if (v > MAX_SAFE) {
    numOverflow = true;
    return NaN;
  }
  return neg ? -v : v;
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

/** A vCPU index an importer may store: -1 (unknown) to 65534, as the store accepts. */
export function validVcpu(v: number): boolean {
  return v >= -1 && v <= 0xfffe;
}
