// System instructions and registers: MRS/MSR (the CPU's table in sysregs.ts, special registers,
// and registers served by providers such as the GIC CPU interface and the timer), MSR immediate
// (SPSel, DAIFSet/DAIFClr), SYS (cache maintenance, AT, TLBI), hints (WFI/WFE/SEV), barriers,
// exception generation and return (SVC/HVC/SMC/BRK, ERET), and the FP/SIMD access check.

import { execFpSimd } from './fpsimd.ts';
import * as Int64 from './int64.ts';
import * as Mmu from './mmu.ts';
import { CpuMemory } from './memory.ts';
import * as Ops from './ops.ts';
import * as State from './state.ts';
import * as Sysregs from './sysregs.ts';

// Imported bindings copied into module constants once (see cpu.ts).
const { H, fromBig, toBig } = Int64;
const { FSC, PERM, walk } = Mmu;
const { slotD, variant } = Ops;
const { ACC_W, EC, EVT_ILLEGAL, EVT_IRQ, EVT_STOP, HV, I_CPACR, I_CSSELR, I_ELR, I_MAIR, I_PAR, I_SCTLR, I_SPSR, SR, STOP } = State;
const { CCSIDR_VALUES, SPECIAL, SR_EL0, SR_KIND, SYSREGS, SYSREG_INDEX, isIdSpaceRaz, sysregName } = Sysregs;

/** ESR ISS of an FP/SIMD access trap from AArch64: CV = 1, COND = 0b1110 (as QEMU reports). */
const FP_TRAP_ISS = (1 << 24) | (0xe << 20);

export class CpuSystem extends CpuMemory {
  /** Read a system register by encoding as the CPU sees it (no side effects on providers). */
  readSysregValue(enc: number): bigint | undefined {
    const i = SYSREG_INDEX[enc];
    if (i < 0) return isIdSpaceRaz(enc) ? 0n : undefined;
    if (SYSREGS[i].kind === SR_KIND.SPECIAL) {
      if (!this.readSpecial(SYSREGS[i].special, i, 66)) return undefined;
      return toBig(this.x[67], this.x[66]);
    }
    return toBig(this.srHi[i], this.srLo[i]);
  }

  /** Trap SIMD&FP use as CPACR_EL1.FPEN says (EC 0x07); UNDEFINED when FP/SIMD is absent. */
  protected fpAccessCheck(): void {
    if (!this.fpsimd) this.undefined('FP/SIMD not implemented');
    const fpen = (this.srLo[I_CPACR] >>> 20) & 3;
    if (fpen === 3 || (fpen === 1 && this.el === 1)) return;
    this.takeSync(EC.FP_ACCESS, FP_TRAP_ISS, false, 0, 0, 'FP/SIMD access trapped by CPACR_EL1.FPEN');
  }

  opFpSimd(insn: number): void {
    this.fpAccessCheck();
    if (!execFpSimd(this, insn)) this.undefined('undefined SIMD&FP instruction');
  }

  protected opEret(): void {
    if (this.el === 0) this.undefined();
    const spsr = this.srLo[I_SPSR];
    const m = spsr & 0x1f;
    this.n = (spsr >>> 31) & 1;
    this.z = (spsr >>> 30) & 1;
    this.c = (spsr >>> 29) & 1;
    this.v = (spsr >>> 28) & 1;
    this.daif = spsr & 0x3c0;
    this.clearExclusive();
    if (m === 0 || m === 4 || m === 5) {
      this.selectSp(m >>> 2, m & 1);
      this.il = 0;
    } else {
      // illegal exception return: EL and SP unchanged, PSTATE.IL set
      this.il = 1;
      this.evt |= EVT_ILLEGAL;
    }
    this.pcLo = this.srLo[I_ELR];
    this.pcHi = this.srHi[I_ELR];
    this.fLo = 1;
    this.evt |= EVT_IRQ;
    if (this.pcLo & 3) this.pcAlignFault();
  }

  protected opExc(kind: number, imm: number): void {
    switch (kind) {
      case 1:
        this.takeSyncNext(EC.SVC64, imm, 'svc');
        return;
      case 2:
      case 3: {
        if (this.el === 0 || !this.hypervisor) this.undefined(kind === 2 ? 'hvc without hypervisor' : 'smc without firmware');
        const r = this.hypervisor!.call(this, kind === 2 ? 'hvc' : 'smc', imm);
        if (r === HV.UNDEFINED) this.undefined(kind === 2 ? 'hvc rejected' : 'smc rejected');
        this.evt |= EVT_IRQ;
        if (r === HV.STOP) {
          this.stopReason = STOP.HYPERVISOR;
          this.evt |= EVT_STOP;
        }
        return;
      }
      case 4:
        this.takeSync(EC.BRK64, imm, false, 0, 0, 'brk');
        return;
      default:
        this.undefined('hlt');
        return;
    }
  }

  protected opHint(h: number): void {
    switch (h) {
      case 2: // WFE
        if (this.eventReg) {
          this.eventReg = 0;
          return;
        }
        if (this.irqPending() || this.fiqPending()) return;
        this.stopReason = STOP.WFE;
        this.evt |= EVT_STOP;
        return;
      case 3: // WFI
        if (this.irqPending() || this.fiqPending()) return;
        this.stopReason = STOP.WFI;
        this.evt |= EVT_STOP;
        return;
      case 4:
        for (const o of this.shared.cpus) o.eventReg = 1;
        return; // SEV
      case 5:
        this.eventReg = 1;
        return; // SEVL
      default:
        return; // NOP, YIELD, PAC/BTI hints, ESB, CSDB...
    }
  }

  protected opBarrier(op2: number): void {
    switch (op2) {
      case 2:
        this.clearExclusive();
        return;
      case 4:
      case 5:
      case 6:
        return; // DSB, DMB, ISB
      default:
        this.undefined();
    }
  }

  /** Trap of a system instruction/register access from EL0 (EC 0x18). */
  protected sysTrap(enc: number, rt: number, read: boolean): never {
    const op0 = enc >>> 14,
      op1 = (enc >>> 11) & 7,
      crn = (enc >>> 7) & 15,
      crm = (enc >>> 3) & 15,
      op2 = enc & 7;
    const r = rt >= 64 ? 31 : rt >>> 1;
    const iss = (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (r << 5) | (crm << 1) | (read ? 1 : 0);
    return this.takeSync(EC.SYSREG, iss, false, 0, 0, 'trapped system register access');
  }

  opMsrImm(f: number, crm: number): void {
    switch (f) {
      case 5: // SPSel
        if (this.el === 0) this.undefined();
        this.selectSp(this.el, crm & 1);
        return;
      case 0x1e:
      case 0x1f: // DAIFSet / DAIFClr
        if (this.el === 0 && !(this.srLo[I_SCTLR] & (1 << 9))) this.sysTrap((3 << 11) | (4 << 7) | (crm << 3) | (f & 7), 64, false);
        if (f === 0x1e) {
          this.daif |= crm << 6;
          return;
        } // masking more never makes an interrupt takeable
        if (this.daif & (crm << 6) & 0xc0) this.evt |= EVT_IRQ;
        this.daif &= ~(crm << 6);
        return;
      default:
        this.undefined();
    }
  }

  opSys(enc: number, p: number): void {
    const rt = slotD(p);
    if (variant(p)) this.undefined(); // SYSL
    const op1 = (enc >>> 11) & 7,
      crn = (enc >>> 7) & 15,
      crm = (enc >>> 3) & 15,
      op2 = enc & 7;
    const X = this.x;
    const sctlr = this.srLo[I_SCTLR];
    if (crn === 7) {
      if (op1 === 0 && (crm === 1 || crm === 5) && op2 === 0) {
        if (this.el === 0) this.undefined();
        return;
      } // IC IALLU(IS)
      if (op1 === 3 && crm === 5 && op2 === 1) {
        if (this.el === 0 && !(sctlr & (1 << 26))) this.sysTrap(enc, rt, false);
        return;
      } // IC IVAU
      if (op1 === 3 && crm === 4 && op2 === 1) {
        // DC ZVA
        if (this.el === 0 && !(sctlr & (1 << 14))) this.sysTrap(enc, rt, false);
        this.dcZva(X[rt + 1], X[rt] & ~63);
        return;
      }
      if (op1 === 3 && (crm === 10 || crm === 11 || crm === 14) && op2 === 1) {
        // DC CVAC/CVAU/CIVAC
        if (this.el === 0 && !(sctlr & (1 << 26))) this.sysTrap(enc, rt, false);
        return;
      }
      if (op1 === 0 && ((crm === 6 && (op2 === 1 || op2 === 2)) || ((crm === 10 || crm === 14) && op2 === 2))) {
        if (this.el === 0) this.undefined(); // DC IVAC/ISW/CSW/CISW
        return;
      }
      if (op1 === 0 && crm === 8 && op2 <= 3) {
        if (this.el === 0) this.undefined();
        this.at(op2, X[rt + 1], X[rt]);
        return;
      }
      this.undefined();
    }
    if (crn === 8 && op1 === 0 && (crm === 3 || crm === 7)) {
      if (this.el === 0) this.undefined();
      if (crm === 3) {
        this.shared.tlbGen++;
        this.seenTlbGen = this.shared.tlbGen;
      }
      switch (op2) {
        case 0:
        case 2:
          this.flushTlb();
          return; // VMALLE1, ASIDE1
        case 1:
        case 3:
        case 5:
        case 7:
          this.flushVaPage(X[rt]);
          return; // VAE1, VAAE1, VALE1, VAALE1 (Xt[43:0] = VA[55:12])
        default:
          this.undefined();
      }
    }
    this.undefined();
  }

  protected dcZva(hi: number, lo: number): void {
    const off = this.physOff(hi, lo, ACC_W);
    if (off >= 0) {
      this.storeAt(off, 8, 0, 0); // code-page invalidation and monitors
      this.bus.mem.fill(0, off + 8, off + 64);
      return;
    }
    for (let b = 0; b < 64; b += 8) this.writeMem(hi, (lo + b) | 0, 8, 0, 0, this.el);
  }

  /** AT S1E1R/W, S1E0R/W → PAR_EL1. */
  protected at(op2: number, hi: number, lo: number): void {
    const w = this.wr;
    const f = walk(this.mmu, this.readDesc, hi, lo, true, w);
    const el = op2 < 2 ? 1 : 0;
    const write = (op2 & 1) === 1;
    let fault = f;
    if (!fault) {
      const need = write ? (el ? PERM.W1 : PERM.W0) : el ? PERM.R1 : PERM.R0;
      if ((w.perm & need) === 0) fault = FSC.PERMISSION + w.level;
    }
    if (fault) {
      this.srLo[I_PAR] = 1 | (fault << 1);
      this.srHi[I_PAR] = 0;
      return;
    }
    const mair = toBig(this.srHi[I_MAIR], this.srLo[I_MAIR]);
    const attr = w.attrIndex < 0 ? 0 : Number((mair >> BigInt(8 * w.attrIndex)) & 0xffn);
    const pa = w.paPage * 4096;
    this.srLo[I_PAR] = (pa % 4294967296) | (w.sh << 7) | (1 << 9) | 0;
    this.srHi[I_PAR] = Math.floor(pa / 4294967296) | (attr << 24) | 0;
  }

  /** Who serves encoding enc: 0 not accessed yet, 1 the CPU's table, 2+k provider k, -1 undefined (fixed once known). */
  sysregOwner(enc: number): number {
    return this.srOwner[enc];
  }

  /** MRS (read=true, rt = destination slot) or MSR (rt = source slot). */
  sysAccess(enc: number, rt: number, read: boolean): void {
    const X = this.x;
    let owner = this.srOwner[enc];
    if (owner === 0) {
      owner = this.claimSysreg(enc, rt, read);
      if (owner === -2) return; // a provider served this first access
    }
    if (owner >= 2) {
      if (this.el === 0 && (enc & 0xff80) !== 0xdf00) this.sysUndef(enc, !read); // EL0: only CNT* op1=3 CRn=14
      const prov = this.providers[owner - 2];
      if (read) {
        const v = prov.readSysreg(this.id, enc);
        if (v === undefined) this.sysUndef(enc, false);
        X[rt] = fromBig(v);
        X[rt + 1] = H.hi;
        this.hooks.onSysreg?.(this, enc, sysregName(enc), false, v);
      } else {
        const v = toBig(X[rt + 1], X[rt]);
        if (!prov.writeSysreg(this.id, enc, v)) this.sysUndef(enc, true);
        this.hooks.onSysreg?.(this, enc, sysregName(enc), true, v);
      }
      this.evt |= EVT_IRQ;
      return;
    }
    if (owner < 0) this.sysUndef(enc, !read);
    const i = SYSREG_INDEX[enc];
    if (i < 0) {
      // ID space RAZ
      if (!read || this.el === 0) this.sysUndef(enc, !read);
      X[rt] = 0;
      X[rt + 1] = 0;
      this.hooks.onSysreg?.(this, enc, sysregName(enc), false, 0n);
      return;
    }
    const d = SYSREGS[i];
    if (this.el === 0 && (d.el0 === SR_EL0.NONE || (!read && d.el0 === SR_EL0.R))) {
      if (d.special === SPECIAL.DAIF && this.srLo[I_SCTLR] & (1 << 9)) {
        /* SCTLR.UMA */
      } else this.sysUndef(enc, !read);
    }
    if (read) {
      switch (d.kind) {
        case SR_KIND.WO:
          this.sysUndef(enc, false);
          break;
        case SR_KIND.SPECIAL:
          if (!this.readSpecial(d.special, i, rt)) this.sysUndef(enc, false);
          break;
        default:
          X[rt] = this.srLo[i];
          X[rt + 1] = this.srHi[i];
          break;
      }
      if (d.notable) this.hooks.onSysreg?.(this, enc, d.name, false, toBig(X[rt + 1], X[rt]));
      return;
    }
    switch (d.kind) {
      case SR_KIND.RO:
        this.sysUndef(enc, true);
        break;
      case SR_KIND.SPECIAL:
        if (!this.writeSpecial(d.special, i, X[rt + 1], X[rt])) this.sysUndef(enc, true);
        break;
      default:
        this.srLo[i] = X[rt];
        this.srHi[i] = X[rt + 1];
        break;
    }
  }

  /** First access to an encoding: ask providers, else the CPU table, else undefined; -2 = served. */
  protected claimSysreg(enc: number, rt: number, read: boolean): number {
    for (let k = 0; k < this.providers.length; k++) {
      const prov = this.providers[k];
      if (read) {
        const v = prov.readSysreg(this.id, enc);
        if (v !== undefined) {
          this.srOwner[enc] = k + 2;
          // this probe was the guest's real read: deliver it and skip the instruction's second read
          this.x[rt] = fromBig(v);
          this.x[rt + 1] = H.hi;
          this.hooks.onSysreg?.(this, enc, sysregName(enc), false, v);
          this.evt |= EVT_IRQ;
          return -2;
        }
      } else {
        const v = toBig(this.x[rt + 1], this.x[rt]);
        if (prov.writeSysreg(this.id, enc, v)) {
          this.srOwner[enc] = k + 2;
          this.hooks.onSysreg?.(this, enc, sysregName(enc), true, v);
          this.evt |= EVT_IRQ;
          return -2;
        }
      }
    }
    const known = SYSREG_INDEX[enc] >= 0 || isIdSpaceRaz(enc);
    this.srOwner[enc] = known ? 1 : -1;
    return this.srOwner[enc];
  }

  protected sysUndef(enc: number, write: boolean): never {
    this.hooks.onSysregUndefined?.(this, enc, sysregName(enc), write);
    return this.undefined(`undefined system register ${sysregName(enc)}`);
  }

  /** Read a special register into slot rt; false = UNDEFINED. */
  protected readSpecial(s: number, i: number, rt: number): boolean {
    const X = this.x;
    let lo = 0,
      hi = 0;
    switch (s) {
      case SPECIAL.NZCV:
        lo = (this.n << 31) | (this.z << 30) | (this.c << 29) | (this.v << 28);
        break;
      case SPECIAL.DAIF:
        lo = this.daif;
        break;
      case SPECIAL.CURRENT_EL:
        lo = this.el << 2;
        break;
      case SPECIAL.SPSEL:
        lo = this.spsel;
        break;
      case SPECIAL.SP_EL0:
        if (this.spsel === 0) return false;
        lo = this.sp0Lo;
        hi = this.sp0Hi;
        break;
      case SPECIAL.MPIDR:
        lo = fromBig(this.mpidr);
        hi = H.hi;
        break;
      case SPECIAL.CCSIDR:
        lo = Number(CCSIDR_VALUES[this.srLo[I_CSSELR]] ?? 0n) | 0;
        break;
      case SPECIAL.ISR:
        lo = (this.irqPending() ? 0x80 : 0) | (this.fiqPending() ? 0x40 : 0);
        break;
      case SPECIAL.OSLSR:
        lo = 0x8 | (this.oslk << 1);
        break;
      case SPECIAL.FP:
        this.fpAccessCheck();
        lo = SYSREGS[i].enc === SR.FPCR ? this.fpcr : this.fpsr;
        break;
      default:
        lo = this.srLo[i];
        hi = this.srHi[i];
        break;
    }
    X[rt] = lo;
    X[rt + 1] = hi;
    return true;
  }

  protected writeSpecial(s: number, i: number, hi: number, lo: number): boolean {
    switch (s) {
      case SPECIAL.NZCV:
        this.n = (lo >>> 31) & 1;
        this.z = (lo >>> 30) & 1;
        this.c = (lo >>> 29) & 1;
        this.v = (lo >>> 28) & 1;
        return true;
      case SPECIAL.DAIF:
        if (this.daif & ~lo & 0xc0) this.evt |= EVT_IRQ; // only unmasking I or F can make one takeable
        this.daif = lo & 0x3c0;
        return true;
      case SPECIAL.SPSEL:
        this.selectSp(this.el, lo & 1);
        return true;
      case SPECIAL.SP_EL0:
        if (this.spsel === 0) return false;
        this.sp0Lo = lo;
        this.sp0Hi = hi;
        return true;
      case SPECIAL.SCTLR:
      case SPECIAL.TCR:
      case SPECIAL.TTBR0:
      case SPECIAL.TTBR1:
        this.srLo[i] = lo;
        this.srHi[i] = hi;
        this.syncMmu();
        this.shared.wGen++; // conservatively make other vCPUs re-check cached write pages
        return true;
      case SPECIAL.CONTEXTIDR:
        this.srLo[i] = lo;
        this.srHi[i] = 0;
        return true;
      case SPECIAL.OSLAR:
        this.oslk = lo & 1;
        return true;
      case SPECIAL.FP:
        this.fpAccessCheck();
        // FPCR: AHP, DN, FZ, RMode (trap enables unimplemented: RAZ/WI); FPSR: cumulative flags, QC, NZCV
        if (SYSREGS[i].enc === SR.FPCR) this.fpcr = lo & 0x07c00000;
        else this.fpsr = lo & 0xf800009f;
        return true;
      default:
        return false; // read-only specials (CurrentEL, MPIDR, CCSIDR, ISR, OSLSR)
    }
  }
}
