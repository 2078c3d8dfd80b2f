// Exception entry (Arm DDI 0487 D1.10): synchronous exceptions with their syndromes (ESR_EL1,
// FAR_EL1), interrupts, the banked stack pointers, and the PC-alignment, instruction-abort and
// data-abort faults. A fault mid-instruction enters the exception and throws FAULT; the run loop
// catches it, so the instruction's remaining effects never happen.

import * as Int64 from './int64.ts';
import * as Mmu from './mmu.ts';
import * as State from './state.ts';

// Imported bindings copied into module constants once (see cpu.ts).
const { H, add64, toBig } = Int64;
const { FSC } = Mmu;
const { CpuState, EC, FAULT, I_ELR, I_ESR, I_FAR, I_SPSR, I_VBAR } = State;

export class CpuExceptions extends CpuState {
  /** Enter EL1: kind 0 sync, 1 IRQ, 2 FIQ, 3 SError; return address eh:el. */
  protected enter(kind: number, esr: number, hasFar: boolean, farHi: number, farLo: number, eh: number, elo: number, detail: string): void {
    const fromEl = this.el;
    const fromSpsel = this.spsel;
    const spsr = this.pstate;
    this.srLo[I_SPSR] = spsr | 0;
    this.srHi[I_SPSR] = 0;
    this.srLo[I_ELR] = elo;
    this.srHi[I_ELR] = eh;
    if (kind === 0) {
      this.srLo[I_ESR] = esr;
      this.srHi[I_ESR] = 0;
    }
    if (hasFar) {
      this.srLo[I_FAR] = farLo;
      this.srHi[I_FAR] = farHi;
    }
    this.daif = 0x3c0;
    this.il = 0;
    this.selectSp(1, 1);
    const off = (fromEl === 0 ? 0x400 : fromSpsel ? 0x200 : 0) + kind * 0x80;
    this.pcLo = add64(this.srHi[I_VBAR], this.srLo[I_VBAR] & ~0x7ff, 0, off);
    this.pcHi = H.hi;
    this.fLo = 1;
    if (this.hooks.onException) {
      this.hooks.onException(this, {
        kind: (['sync', 'irq', 'fiq', 'serror'] as const)[kind],
        ec: kind === 0 ? esr >>> 26 : 0,
        esr: kind === 0 ? esr >>> 0 : 0,
        far: hasFar ? toBig(farHi, farLo) : 0n,
        fromEl,
        toEl: 1,
        elr: toBig(eh, elo),
        vector: this.pc,
        detail,
      });
    }
  }

  /** Synchronous exception for the current instruction (return address = this instruction, or next). */
  protected takeSync(ec: number, iss: number, next: boolean, farHi: number, farLo: number, detail: string, hasFar = false): never {
    let lo = this.pcLo,
      hi = this.pcHi;
    if (!next) {
      if (lo >>> 0 < 4) hi = (hi - 1) | 0;
      lo = (lo - 4) | 0;
    }
    const esr = (ec << 26) | (1 << 25) | (iss & 0x1ffffff);
    this.enter(0, esr, hasFar, farHi, farLo, hi, lo, detail);
    throw FAULT;
  }

  /** Like takeSync but returns (for SVC and others that complete normally). */
  protected takeSyncNext(ec: number, iss: number, detail: string): void {
    const esr = (ec << 26) | (1 << 25) | (iss & 0x1ffffff);
    this.enter(0, esr, false, 0, 0, this.pcHi, this.pcLo, detail);
  }

  protected takeAsync(kind: number): void {
    this.enter(kind, 0, false, 0, 0, this.pcHi, this.pcLo, kind === 1 ? 'irq' : 'fiq');
  }

  protected undefined(detail = 'undefined instruction'): never {
    return this.takeSync(EC.UNKNOWN, 0, false, 0, 0, detail);
  }

  protected dataAbort(hi: number, lo: number, fsc: number, write: boolean, cm = false): never {
    const ec = this.el === 0 ? EC.DABT_LOWER : EC.DABT_SAME;
    const iss = fsc | (write ? 1 << 6 : 0) | (cm ? 1 << 8 : 0);
    return this.takeSync(
      ec,
      iss,
      false,
      hi,
      lo,
      fsc === FSC.EXT_ABORT ? 'data abort, external (unassigned or device)' : `data abort, fsc 0x${fsc.toString(16)}`,
      true,
    );
  }

  /** Instruction abort on fetch from hi:lo (PC not yet advanced). */
  protected instrAbort(fsc: number, hi: number, lo: number): never {
    const ec = this.el === 0 ? EC.IABT_LOWER : EC.IABT_SAME;
    const esr = (ec << 26) | (1 << 25) | fsc;
    this.instret++; // a fetch fault consumes a step, so fault loops still end with the budget
    this.enter(0, esr, true, hi, lo, hi, lo, `instruction abort, fsc 0x${fsc.toString(16)}`);
    throw FAULT;
  }

  protected pcAlignFault(): never {
    const ec = EC.PC_ALIGN;
    const esr = (ec << 26) | (1 << 25);
    const hi = this.pcHi,
      lo = this.pcLo;
    this.enter(0, esr, true, hi, lo, hi, lo, 'PC alignment fault');
    throw FAULT;
  }

  protected selectSp(el: number, spsel: number): void {
    const X = this.x;
    // save current SP into its bank
    if (this.el === 0 || this.spsel === 0) {
      this.sp0Lo = X[62];
      this.sp0Hi = X[63];
    } else {
      this.sp1Lo = X[62];
      this.sp1Hi = X[63];
    }
    if (el !== this.el) this.setEl(el);
    this.spsel = spsel;
    if (el === 0 || spsel === 0) {
      X[62] = this.sp0Lo;
      X[63] = this.sp0Hi;
    } else {
      X[62] = this.sp1Lo;
      X[63] = this.sp1Hi;
    }
  }
}
