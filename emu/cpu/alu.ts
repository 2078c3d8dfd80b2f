// Integer data processing (Arm DDI 0487 C6): flag-setting adds, logical, add/subtract (shifted,
// extended, with carry), conditional compare and select, bitfield, extract, 1-, 2- and 3-source
// operations (bit reversal, CLZ/CLS, shifts, divide, CRC32, multiply-add, high multiplies). The hot
// simple forms are inlined in the interpreter (cpu.ts); these handlers take the rest.

import * as Int64 from './int64.ts';
import { CpuSystem } from './system.ts';

// Imported bindings copied into module constants once (see cpu.ts).
const {
  H,
  add64,
  asr64,
  bswap32,
  clz64,
  fromBig,
  lsl64,
  lsr64,
  mul64,
  rbit32,
  rev16,
  shift32,
  shift64,
  smul32,
  toBig,
  toBigSigned,
  umul32,
} = Int64;

/** Byte tables of the reflected CRC-32 (0x04C11DB7) and CRC-32C (0x1EDC6F41) polynomials. */
function crcTable(polyReflected: number): Int32Array {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polyReflected : c >>> 1;
    t[i] = c;
  }
  return t;
}
const CRC32_TABLE = crcTable(0xedb88320);
const CRC32C_TABLE = crcTable(0x82f63b78);

export class CpuAlu extends CpuSystem {
  /** a + b + cin with flags (64-bit); returns lo, H.hi = hi. */
  protected adds64(ah: number, al: number, bh: number, bl: number, cin: number): number {
    const ul = (al >>> 0) + (bl >>> 0) + cin;
    const uh = (ah >>> 0) + (bh >>> 0) + (ul > 0xffffffff ? 1 : 0);
    const lo = ul | 0,
      hi = uh | 0;
    this.n = hi >>> 31;
    this.z = (lo | hi) === 0 ? 1 : 0;
    this.c = uh > 0xffffffff ? 1 : 0;
    this.v = (~(ah ^ bh) & (ah ^ hi)) >>> 31;
    H.hi = hi;
    return lo;
  }

  protected adds32(a: number, b: number, cin: number): number {
    const u = (a >>> 0) + (b >>> 0) + cin;
    const r = u | 0;
    this.n = r >>> 31;
    this.z = r === 0 ? 1 : 0;
    this.c = u > 0xffffffff ? 1 : 0;
    this.v = (~(a ^ b) & (a ^ r)) >>> 31;
    return r;
  }

  protected setNZ64(hi: number, lo: number): void {
    this.n = hi >>> 31;
    this.z = (lo | hi) === 0 ? 1 : 0;
    this.c = 0;
    this.v = 0;
  }

  protected opAddsImm(p: number, imm: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      dd = p & 127,
      x = p >>> 28;
    const sub = (x >>> 1) & 1;
    if (x & 1) {
      const lo = sub ? this.adds64(X[n + 1], X[n], -1, ~imm, 1) : this.adds64(X[n + 1], X[n], 0, imm, 0);
      X[dd + 1] = H.hi;
      X[dd] = lo;
    } else {
      X[dd] = sub ? this.adds32(X[n], ~imm, 1) : this.adds32(X[n], imm, 0);
      X[dd + 1] = 0;
    }
  }

  protected opMovk(p: number, imm: number): void {
    const X = this.x,
      dd = p & 127,
      hw = (p >>> 28) & 3;
    switch (hw) {
      case 0:
        X[dd] = (X[dd] & -65536) | imm;
        break;
      case 1:
        X[dd] = (X[dd] & 0xffff) | (imm << 16);
        break;
      case 2:
        X[dd + 1] = (X[dd + 1] & -65536) | imm;
        break;
      default:
        X[dd + 1] = (X[dd + 1] & 0xffff) | (imm << 16);
        break;
    }
    if (!(p >>> 30)) X[dd + 1] = 0;
  }

  protected logic(opc: number, ah: number, al: number, bh: number, bl: number, sf: number, dd: number): void {
    let lo: number, hi: number;
    switch (opc) {
      case 0:
      case 3:
        lo = al & bl;
        hi = ah & bh;
        break;
      case 1:
        lo = al | bl;
        hi = ah | bh;
        break;
      default:
        lo = al ^ bl;
        hi = ah ^ bh;
        break;
    }
    if (!sf) hi = 0;
    if (opc === 3) {
      if (sf) this.setNZ64(hi, lo);
      else {
        this.n = lo >>> 31;
        this.z = lo === 0 ? 1 : 0;
        this.c = 0;
        this.v = 0;
      }
    }
    this.x[dd] = lo;
    this.x[dd + 1] = hi;
  }

  protected opLogImm(p: number, ml: number, mh: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      x = p >>> 28;
    this.logic(x & 3, X[n + 1], X[n], mh, ml, x >>> 2, p & 127);
  }

  opLogReg(p: number, type: number, amt: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      m = (p >>> 14) & 127,
      x = p >>> 28;
    const sf = x >>> 3;
    let bl: number, bh: number;
    if (sf) {
      bl = shift64(type, X[m + 1], X[m], amt);
      bh = H.hi;
    } else {
      bl = shift32(type, X[m], amt);
      bh = 0;
    }
    if (x & 4) {
      bl = ~bl;
      bh = ~bh;
    }
    this.logic(x & 3, X[n + 1], X[n], bh, bl, sf, p & 127);
  }

  opAddReg(p: number, type: number, amt: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      m = (p >>> 14) & 127,
      dd = p & 127,
      x = p >>> 28;
    if (x & 2) {
      let bl = shift64(type, X[m + 1], X[m], amt),
        bh = H.hi;
      if (x & 1) {
        bl = ~bl;
        bh = ~bh;
      }
      const ul = (X[n] >>> 0) + (bl >>> 0) + (x & 1);
      X[dd + 1] = (X[n + 1] + bh + (ul > 0xffffffff ? 1 : 0)) | 0;
      X[dd] = ul | 0;
    } else {
      const b = shift32(type, X[m], amt);
      X[dd] = x & 1 ? (X[n] - b) | 0 : (X[n] + b) | 0;
      X[dd + 1] = 0;
    }
  }

  opAddsReg(p: number, type: number, amt: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      m = (p >>> 14) & 127,
      dd = p & 127,
      x = p >>> 28;
    const sub = x & 1;
    if (x & 2) {
      let bl = shift64(type, X[m + 1], X[m], amt),
        bh = H.hi;
      if (sub) {
        bl = ~bl;
        bh = ~bh;
      }
      const lo = this.adds64(X[n + 1], X[n], bh, bl, sub);
      X[dd + 1] = H.hi;
      X[dd] = lo;
    } else {
      const b = shift32(type, X[m], amt);
      X[dd] = this.adds32(X[n], sub ? ~b : b, sub);
      X[dd + 1] = 0;
    }
  }

  /** Extended register operand: returns lo, H.hi = hi. */
  protected extendReg(m: number, opt: number, sh: number): number {
    const X = this.x;
    let lo = X[m],
      hi: number;
    switch (opt) {
      case 0:
        lo &= 0xff;
        hi = 0;
        break;
      case 1:
        lo &= 0xffff;
        hi = 0;
        break;
      case 2:
        hi = 0;
        break;
      case 3:
      case 7:
        hi = X[m + 1];
        break;
      case 4:
        lo = (lo << 24) >> 24;
        hi = lo >> 31;
        break;
      case 5:
        lo = (lo << 16) >> 16;
        hi = lo >> 31;
        break;
      default:
        hi = lo >> 31;
        break;
    }
    return lsl64(hi, lo, sh);
  }

  protected opAddExt(p: number, opt: number, sh: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      m = (p >>> 14) & 127,
      dd = p & 127,
      x = p >>> 28;
    const sub = x & 1,
      S = (x >>> 1) & 1,
      sf = x >>> 2;
    let bl = this.extendReg(m, opt, sh),
      bh = H.hi;
    if (sub) {
      bl = ~bl;
      bh = ~bh;
    }
    if (sf) {
      let lo: number, hi: number;
      if (S) {
        lo = this.adds64(X[n + 1], X[n], bh, bl, sub);
        hi = H.hi;
      } else {
        const ul = (X[n] >>> 0) + (bl >>> 0) + sub;
        hi = (X[n + 1] + bh + (ul > 0xffffffff ? 1 : 0)) | 0;
        lo = ul | 0;
      }
      X[dd] = lo;
      X[dd + 1] = hi;
    } else {
      X[dd] = S ? this.adds32(X[n], bl, sub) : (X[n] + bl + sub) | 0;
      X[dd + 1] = 0;
    }
  }

  protected opAdc(p: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      m = (p >>> 14) & 127,
      dd = p & 127,
      x = p >>> 28;
    const sub = x & 1,
      S = (x >>> 1) & 1,
      sf = x >>> 2;
    let bl = X[m],
      bh = X[m + 1];
    if (sub) {
      bl = ~bl;
      bh = ~bh;
    }
    if (sf) {
      let lo: number, hi: number;
      if (S) {
        lo = this.adds64(X[n + 1], X[n], bh, bl, this.c);
        hi = H.hi;
      } else {
        const ul = (X[n] >>> 0) + (bl >>> 0) + this.c;
        hi = (X[n + 1] + bh + (ul > 0xffffffff ? 1 : 0)) | 0;
        lo = ul | 0;
      }
      X[dd] = lo;
      X[dd + 1] = hi;
    } else {
      X[dd] = S ? this.adds32(X[n], bl, this.c) : (X[n] + bl + this.c) | 0;
      X[dd + 1] = 0;
    }
  }

  protected opCcmp(p: number, a: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      m = (p >>> 14) & 127,
      x = p >>> 28;
    if (!this.cond(a & 15)) {
      const f = (a >>> 4) & 15;
      this.n = f >>> 3;
      this.z = (f >>> 2) & 1;
      this.c = (f >>> 1) & 1;
      this.v = f & 1;
      return;
    }
    const imm = (a >>> 8) & 1;
    let bl = imm ? a >>> 9 : X[m],
      bh = imm ? 0 : X[m + 1];
    const sub = x & 1;
    if (sub) {
      bl = ~bl;
      bh = ~bh;
    }
    if (x >>> 2) this.adds64(X[n + 1], X[n], bh, bl, sub);
    else this.adds32(X[n], bl, sub);
  }

  protected opCsel(p: number, c: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      m = (p >>> 14) & 127,
      dd = p & 127,
      x = p >>> 28;
    const sf = x >>> 2;
    let lo: number, hi: number;
    if (this.cond(c)) {
      lo = X[n];
      hi = X[n + 1];
    } else {
      lo = X[m];
      hi = X[m + 1];
      switch (x & 3) {
        case 1:
          lo = add64(hi, lo, 0, 1);
          hi = H.hi;
          break;
        case 2:
          lo = ~lo;
          hi = ~hi;
          break;
        case 3:
          lo = add64(~hi, ~lo, 0, 1);
          hi = H.hi;
          break;
      }
    }
    X[dd] = lo;
    X[dd + 1] = sf ? hi : 0;
  }

  opBfm(p: number, L: number, R: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      dd = p & 127;
    if (p >>> 28) {
      let vl = lsl64(X[n + 1], X[n], L);
      let vh = H.hi;
      vl = lsr64(vh, vl, R);
      vh = H.hi;
      let ml = lsl64(-1, -1, L);
      let mh = H.hi;
      ml = lsr64(mh, ml, R);
      mh = H.hi;
      X[dd] = (X[dd] & ~ml) | vl;
      X[dd + 1] = (X[dd + 1] & ~mh) | vh;
    } else {
      const v = ((X[n] << L) >>> R) | 0,
        m = ((-1 << L) >>> R) | 0;
      X[dd] = (X[dd] & ~m) | v;
      X[dd + 1] = 0;
    }
  }

  opExtr(p: number, lsb: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      m = (p >>> 14) & 127,
      dd = p & 127;
    if (p >>> 28) {
      if (lsb === 0) {
        X[dd] = X[m];
        X[dd + 1] = X[m + 1];
        return;
      }
      const al = lsr64(X[m + 1], X[m], lsb),
        ah = H.hi;
      const bl = lsl64(X[n + 1], X[n], 64 - lsb),
        bh = H.hi;
      X[dd] = al | bl;
      X[dd + 1] = ah | bh;
    } else {
      X[dd] = lsb === 0 ? X[m] : (X[m] >>> lsb) | (X[n] << (32 - lsb));
      X[dd + 1] = 0;
    }
  }

  opDp1(p: number, opc: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      dd = p & 127,
      sf = p >>> 28;
    const l = X[n],
      h = X[n + 1];
    let lo: number,
      hi = 0;
    switch (opc) {
      case 0:
        if (sf) {
          lo = rbit32(h);
          hi = rbit32(l);
        } else lo = rbit32(l);
        break;
      case 1:
        lo = rev16(l);
        if (sf) hi = rev16(h);
        break;
      case 2:
        lo = bswap32(l);
        if (sf) hi = bswap32(h);
        break;
      case 3:
        lo = bswap32(h);
        hi = bswap32(l);
        break;
      case 4:
        lo = sf ? clz64(h, l) : Math.clz32(l);
        break;
      default: {
        if (sf) {
          const yl = asr64(h, l, 1),
            yh = H.hi;
          lo = clz64(h ^ yh, l ^ yl) - 1;
        } else lo = Math.clz32(l ^ (l >> 1)) - 1;
        break;
      }
    }
    X[dd] = lo;
    X[dd + 1] = hi;
  }

  opDp2(p: number, opc: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      m = (p >>> 14) & 127,
      dd = p & 127,
      sf = p >>> 28;
    const nl = X[n],
      nh = X[n + 1],
      ml = X[m],
      mh = X[m + 1];
    let lo: number,
      hi = 0;
    if (opc >= 16) {
      // CRC32 (opc 16-19) / CRC32C (20-23) of the low 1 << (opc & 3) bytes of Rm into Wn
      const table = opc >= 20 ? CRC32C_TABLE : CRC32_TABLE;
      let crc = nl;
      const bytes = 1 << (opc & 3);
      for (let b = 0; b < bytes; b++) {
        const byte = b < 4 ? (ml >>> (8 * b)) & 0xff : (mh >>> (8 * (b - 4))) & 0xff;
        crc = table[(crc ^ byte) & 0xff] ^ (crc >>> 8);
      }
      X[dd] = crc;
      X[dd + 1] = 0;
      return;
    }
    if (opc >= 8) {
      const type = opc - 8;
      if (sf) {
        lo = shift64(type, nh, nl, ml & 63);
        hi = H.hi;
      } else lo = shift32(type, nl, ml & 31);
    } else if (!sf) {
      if ((ml | 0) === 0) lo = 0;
      else lo = opc === 2 ? Math.floor((nl >>> 0) / (ml >>> 0)) | 0 : Math.trunc(nl / ml) | 0;
    } else if ((ml | mh) === 0) {
      lo = 0;
    } else if (opc === 2 && nh === 0 && mh === 0) {
      lo = Math.floor((nl >>> 0) / (ml >>> 0)) | 0;
    } else {
      const q = opc === 2 ? toBig(nh, nl) / toBig(mh, ml) : toBigSigned(nh, nl) / toBigSigned(mh, ml);
      lo = fromBig(q);
      hi = H.hi;
    }
    X[dd] = lo;
    X[dd + 1] = hi;
  }

  opDp3(p: number, code: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      m = (p >>> 14) & 127,
      ra = (p >>> 21) & 127,
      dd = p & 127;
    const sf = p >>> 28;
    if (!sf) {
      const prod = Math.imul(X[n], X[m]);
      X[dd] = code ? (X[ra] - prod) | 0 : (X[ra] + prod) | 0;
      X[dd + 1] = 0;
      return;
    }
    let pl: number, ph: number;
    switch (code) {
      case 0:
      case 1:
        pl = mul64(X[n + 1], X[n], X[m + 1], X[m]);
        ph = H.hi;
        break;
      case 2:
      case 3:
        pl = smul32(X[n], X[m]);
        ph = H.hi;
        break;
      case 10:
      case 11:
        pl = umul32(X[n], X[m]);
        ph = H.hi;
        break;
      default: {
        const big =
          code === 4
            ? (toBigSigned(X[n + 1], X[n]) * toBigSigned(X[m + 1], X[m])) >> 64n
            : (toBig(X[n + 1], X[n]) * toBig(X[m + 1], X[m])) >> 64n;
        X[dd] = fromBig(big);
        X[dd + 1] = H.hi;
        return;
      }
    }
    if (code & 1) {
      pl = ~pl;
      ph = ~ph;
    }
    const ul = (X[ra] >>> 0) + (pl >>> 0) + (code & 1);
    X[dd + 1] = (X[ra + 1] + ph + (ul > 0xffffffff ? 1 : 0)) | 0;
    X[dd] = ul | 0;
  }
}
