// WebAssembly code of the system instructions the block compiler runs natively (wasm-ops.ts has
// the integer, branch and memory operations): MRS/MSR of registers the CPU keeps as plain storage
// and of SP_EL0, DC ZVA, and cache maintenance that has no effect above EL0. Their state is in the
// vCPU's state memory (wasm-memory.ts STATE: SRLO/SRHI, SP0/SPSEL); every other case (side effects,
// hooks, providers, EL0 checks, TLB misses) is left to the interpreter, as in wasm-ops.ts.

import { W } from './wasm-enc.ts';
import { Gen, L, MEM_RAM, MEM_STATE } from './wasm-gen.ts';
import { OP, slotD, variant } from './ops.ts';
import { SPECIAL, SR_EL0, SR_KIND, SYSREGS, SYSREG_INDEX } from './sysregs.ts';
import { STATE } from './wasm-memory.ts';
import type { WasmOp, WasmOpArgs } from './wasm-ops.ts';

/**
 * The body of `emit` when not at EL0 (the current EL's read TLB set is at byte 0 only for EL0),
 * else the interpreter runs the instruction (its EL0 checks: traps, UNDEFINED).
 */
function notEl0(g: Gen, o: WasmOpArgs, emit: () => void): true {
  g.open(W.block, 'done').open(W.block, 'slow');
  g.b.get(L.rB).op(W.i32_eqz);
  g.brIf('slow');
  emit();
  g.br('done').close();
  o.slow();
  g.close();
  return true;
}

/**
 * MRS/MSR of a register the CPU keeps as plain storage (state memory SRLO/SRHI, Cpu.sysAccess's
 * default case): no side effects, no hook (not notable), not served by a provider (timer, GIC).
 * Anything else, or an access EL0 may not make, is left to the interpreter.
 */
function sysreg(g: Gen, o: WasmOpArgs, read: boolean): boolean {
  const enc = o.a,
    i = SYSREG_INDEX[enc]!;
  if (i < 0 || o.owner(enc) !== 1) return false;
  const d = SYSREGS[i]!;
  if (d.special === SPECIAL.SP_EL0) return spEl0(g, o, read);
  if (d.notable || d.kind === SR_KIND.SPECIAL || d.kind === SR_KIND.WO || (!read && d.kind === SR_KIND.RO)) return false;
  const rt = slotD(o.p);
  const emit = (): void => {
    if (read) {
      g.wr(rt, () => {
        g.b.i32c(0).mem(W.i64_load32_u, MEM_STATE, STATE.SRLO + 4 * i);
        g.b
          .i32c(0)
          .mem(W.i64_load32_u, MEM_STATE, STATE.SRHI + 4 * i)
          .i64c(32n)
          .op(W.i64_shl)
          .op(W.i64_or);
      });
      return;
    }
    g.b.i32c(0);
    g.rd(rt).b.mem(W.i64_store32, MEM_STATE, STATE.SRLO + 4 * i);
    g.b.i32c(0);
    g.rd(rt)
      .b.i64c(32n)
      .op(W.i64_shr_u)
      .mem(W.i64_store32, MEM_STATE, STATE.SRHI + 4 * i);
  };
  if (d.el0 === SR_EL0.RW || (read && d.el0 === SR_EL0.R)) {
    emit();
    return true;
  }
  return notEl0(g, o, emit);
}

/**
 * MRS/MSR SP_EL0 (Cpu.readSpecial/writeSpecial): the banked SP_EL0 in state memory, which exists
 * above EL0 with SPSel = 1 (EL1h); otherwise (UNDEFINED) the interpreter runs it.
 */
function spEl0(g: Gen, o: WasmOpArgs, read: boolean): boolean {
  const rt = slotD(o.p);
  g.open(W.block, 'done').open(W.block, 'slow');
  g.b.get(L.rB).op(W.i32_eqz).i32c(0).mem(W.i32_load, MEM_STATE, STATE.SPSEL).op(W.i32_eqz).op(W.i32_or);
  g.brIf('slow');
  if (read) g.wr(rt, () => g.b.i32c(0).mem(W.i64_load, MEM_STATE, STATE.SP0));
  else {
    g.b.i32c(0);
    g.rd(rt).b.mem(W.i64_store, MEM_STATE, STATE.SP0);
  }
  g.br('done').close();
  o.slow();
  g.close();
  return true;
}

/** SYS encodings (op0:op1:CRn:CRm:op2) compiled natively (Cpu.opSys). */
const DC_ZVA = 0x5ba1,
  /** IC IVAU, DC CVAC, DC CVAU, DC CIVAC: no effect here above EL0 (caches are not modelled). */
  CACHE_NOPS = [0x5ba9, 0x5bd1, 0x5bd9, 0x5bf1];

/** DC ZVA: zero the 64-byte block (DCZID_EL0.BS = 4 words x 2^4) through the write TLB, above EL0. */
function dcZva(g: Gen, o: WasmOpArgs): boolean {
  g.open(W.block, 'done').open(W.block, 'slow');
  g.b.get(L.rB).op(W.i32_eqz);
  g.brIf('slow');
  g.rd(slotD(o.p)).b.i64c(-64n).op(W.i64_and).set(L.addr);
  g.tlb(64, true, 'slow');
  g.b.get(L.off).i32c(0).i32c(64).op(0xfc).u32(11).u32(MEM_RAM); // memory.fill
  g.br('done').close();
  o.slow();
  g.close();
  return true;
}

export const WASM_SYS_OPS: Record<number, WasmOp> = {
  [OP.MRS]: (g, o) => sysreg(g, o, true),
  [OP.MSR]: (g, o) => sysreg(g, o, false),
  [OP.SYS]: (g, o) => {
    if (variant(o.p) !== 0) return false; // SYSL
    if (o.a === DC_ZVA) return dcZva(g, o);
    if (CACHE_NOPS.includes(o.a)) return notEl0(g, o, () => undefined);
    return false;
  },
};
