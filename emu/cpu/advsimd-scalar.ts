// AdvSIMD scalar data processing: DUP (element), ADDP, the 64-bit integer three-same, shift and
// two-register misc forms, and the scalar FP forms (fp-data.ts) and by-element forms (advsimd.ts).

import { byElement, intOp } from './advsimd.ts';
import { vecFp2, vecFp3 } from './fp-data.ts';
import { clearT, commit, getE, MASKS, setE, TMP, TV, vviews, type FpCpu } from './vregs.ts';

/** An AdvSIMD scalar instruction (bit 28 set); false = UNDEFINED. */
export function advsimdScalar(cpu: FpCpu, i: number): boolean {
  const d = i & 31,
    n = (i >>> 5) & 31,
    m = (i >>> 16) & 31;
  const w = vviews(cpu.vr);
  if ((i & 0xdfe08400) === 0x5e000400 && ((i >>> 11) & 15) === 0) {
    // DUP (element), scalar
    const imm5 = (i >>> 16) & 31;
    const es = imm5 & 1 ? 0 : imm5 & 2 ? 1 : imm5 & 4 ? 2 : imm5 & 8 ? 3 : 4;
    if (es > 3 || (i >>> 29) & 1) return false;
    clearT();
    setE(TV, TMP, 0, es, getE(w, n, imm5 >>> (es + 1), es));
    commit(cpu.vr, d, 0);
    return true;
  }
  if ((i & 0xdf3e0c00) === 0x5e380800) {
    // scalar pairwise: ADDP (size 11, opcode 11011)
    const size = (i >>> 22) & 3,
      opcode = (i >>> 12) & 31;
    if ((i >>> 29) & 1 || size !== 3 || opcode !== 0x1b) return false;
    clearT();
    TV.b64[0] = BigInt.asUintN(64, w.b64[n * 2] + w.b64[n * 2 + 1]);
    commit(cpu.vr, d, 0);
    return true;
  }
  if ((i & 0xdf200400) === 0x5e200400) {
    // scalar three same (64-bit integer forms, FP compares, FABD)
    const u = (i >>> 29) & 1,
      size = (i >>> 22) & 3,
      opcode = (i >>> 11) & 31;
    if (opcode >= 0x18) return vecFp3(cpu, i, true);
    if (size !== 3 || ![0x06, 0x07, 0x10, 0x11, 0x08].includes(opcode)) return false;
    const r = intOp(opcode, u, 3, w.b64[n * 2], w.b64[m * 2], 0n);
    if (r === null) return false;
    clearT();
    TV.b64[0] = BigInt.asUintN(64, r);
    commit(cpu.vr, d, 0);
    return true;
  }
  if ((i & 0xdf000400) === 0x5f000000) return byElement(cpu, i, true);
  if ((i & 0xdf800400) === 0x5f000400) {
    // scalar shift by immediate (64-bit USHR/SSHR/SHL)
    const immh = (i >>> 19) & 15,
      opcode = (i >>> 11) & 31,
      u = (i >>> 29) & 1;
    if (!(immh & 8)) return false;
    const immhb = (immh << 3) | ((i >>> 16) & 7);
    const v = w.b64[n * 2];
    let r: bigint;
    if (opcode === 0x00) r = u ? v >> BigInt(128 - immhb) : BigInt.asIntN(64, v) >> BigInt(128 - immhb);
    else if (opcode === 0x0a && !u) r = v << BigInt(immhb - 64);
    else return false;
    clearT();
    TV.b64[0] = BigInt.asUintN(64, r);
    commit(cpu.vr, d, 0);
    return true;
  }
  if ((i & 0xdf3e0c00) === 0x5e200800) {
    // scalar two-reg misc: CMEQ/CMGT/CMGE/CMLE/CMLT #0, ABS/NEG (64-bit), FP conversions/compares
    const u = (i >>> 29) & 1,
      size = (i >>> 22) & 3,
      opcode = (i >>> 12) & 31;
    if (opcode >= 0x0c && opcode !== 0x12 && opcode !== 0x14) return vecFp2(cpu, i, true);
    if (size !== 3) return false;
    const v = BigInt.asIntN(64, w.b64[n * 2]);
    let r: bigint;
    switch (opcode) {
      case 0x08:
        r = (u ? v >= 0n : v > 0n) ? MASKS[3] : 0n;
        break;
      case 0x09:
        r = (u ? v <= 0n : v === 0n) ? MASKS[3] : 0n;
        break;
      case 0x0a:
        if (u) return false;
        r = v < 0n ? MASKS[3] : 0n;
        break;
      case 0x0b:
        r = u ? -v : v < 0n ? -v : v;
        break;
      default:
        return false;
    }
    clearT();
    TV.b64[0] = BigInt.asUintN(64, r);
    commit(cpu.vr, d, 0);
    return true;
  }
  return false;
}
