// FP/SIMD (AdvSIMD + scalar FP) execution. The decoder hands every SIMD&FP instruction word to
// execFpSimd (op FPSIMD), which decodes it here on the fly: these instructions are rare outside
// string functions, so the interpreter's hot switch stays small. This file routes an instruction
// to its encoding group (Arm DDI 0487 C4.1, the A64 encoding index):
// - loads and stores: fp-loadstore.ts;
// - scalar floating point (data processing, conversions): fp-data.ts, on the IEEE arithmetic of fp-arith.ts;
// - AdvSIMD vector: advsimd.ts (arithmetic; vector FP forms in fp-data.ts) and advsimd-lanes.ts (copy,
//   permute, EXT, TBL, across lanes); AdvSIMD scalar: advsimd-scalar.ts.
// The V register file and the CPU interface these files use are in vregs.ts.

import { byElement, modImm, shiftImm, threeDiff, threeSame, twoMisc } from './advsimd.ts';
import { acrossLanes, copy, ext, permute, tbl } from './advsimd-lanes.ts';
import { advsimdScalar } from './advsimd-scalar.ts';
import { execFpData } from './fp-data.ts';
import { loadStore } from './fp-loadstore.ts';
import type { FpCpu } from './vregs.ts';

export type { FpCpu } from './vregs.ts';

/** Execute one SIMD&FP instruction; false = UNDEFINED. */
export function execFpSimd(cpu: FpCpu, i: number): boolean {
  const op0 = (i >>> 25) & 0xf;
  if ((op0 & 5) === 4) return loadStore(cpu, i);
  if ((op0 & 7) === 7) {
    if ((i & 0x5f000000) === 0x1e000000 || (i & 0x5f000000) === 0x1f000000) return execFpData(cpu, i); // scalar FP (incl. FP<->int)
    return advsimd(cpu, i);
  }
  return false;
}

function advsimd(cpu: FpCpu, i: number): boolean {
  const scalar = (i >>> 28) & 1;
  if (scalar) return advsimdScalar(cpu, i);
  if ((i & 0x9f000000) !== 0x0e000000 && (i & 0x9f000000) !== 0x0f000000) return false;
  if ((i >>> 24) & 1) {
    if ((i & 0x9ff80400) === 0x0f000400) return modImm(cpu, i);
    if ((i & 0x9f800400) === 0x0f000400) return shiftImm(cpu, i);
    if (!((i >>> 10) & 1)) return byElement(cpu, i, false);
    return false;
  }
  const b21 = (i >>> 21) & 1,
    b10 = (i >>> 10) & 1;
  if (b21) {
    if (b10) return threeSame(cpu, i);
    if (((i >>> 10) & 3) === 2) {
      const sel = (i >>> 17) & 15;
      if (sel === 0) return twoMisc(cpu, i);
      if (sel === 8) return acrossLanes(cpu, i);
      return false;
    }
    if (((i >>> 10) & 3) === 0) return threeDiff(cpu, i);
    return false;
  }
  if ((i & 0x9fe08400) === 0x0e000400) return copy(cpu, i);
  if ((i & 0xbf208c00) === 0x0e000800) return permute(cpu, i);
  if ((i & 0xbfe08400) === 0x2e000000) return ext(cpu, i);
  if ((i & 0xbfe08c00) === 0x0e000000) return tbl(cpu, i);
  return false;
}
