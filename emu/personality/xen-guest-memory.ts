// Guest memory as Xen's copy_from_guest/copy_to_guest see it: hypercall arguments are guest
// *virtual* addresses, translated through the calling vCPU's stage-1 tables (EL1&0 regime:
// SCTLR_EL1, TCR_EL1, TTBR0/1_EL1) with emu/cpu/mmu.ts's walk, which has no side effects (no
// TLB fill, no fault taken). A failed translation or a page outside memory is -EFAULT.

import { walk, PERM, type MmuRegs, type WalkResult } from '../cpu/mmu.ts';
import { sysregEncoding as sysregEnc } from '../../arch/sysregs.ts';

/** What the hypercall code needs of physical memory (emu/machine/bus.ts MachineBus has it). */
export interface GuestPhysMemory {
  readonly mem: Uint8Array;
  /** Offset in mem of a physical address (RAM or extra window), or -1. */
  memOffset(pa: number): number;
}

/** The calling vCPU's system registers (emu/cpu Cpu.readSysregValue). */
export interface TranslatingCpu {
  readSysregValue?(enc: number): bigint | undefined;
}

const ENC = {
  SCTLR: sysregEnc(3, 0, 1, 0, 0),
  TTBR0: sysregEnc(3, 0, 2, 0, 0),
  TTBR1: sysregEnc(3, 0, 2, 0, 1),
  TCR: sysregEnc(3, 0, 2, 0, 2),
} as const;

const lo = (v: bigint): number => Number(v & 0xffffffffn) | 0;
const hi = (v: bigint): number => Number((v >> 32n) & 0xffffffffn) | 0;

function mmuRegs(cpu: TranslatingCpu): MmuRegs | undefined {
  if (typeof cpu.readSysregValue !== 'function') return undefined;
  const r = (enc: number): bigint => cpu.readSysregValue!(enc) ?? 0n;
  const tcr = r(ENC.TCR),
    t0 = r(ENC.TTBR0),
    t1 = r(ENC.TTBR1);
  return { sctlrLo: lo(r(ENC.SCTLR)), tcrLo: lo(tcr), tcrHi: hi(tcr), ttbr0Lo: lo(t0), ttbr0Hi: hi(t0), ttbr1Lo: lo(t1), ttbr1Hi: hi(t1) };
}

/**
 * Guest VA → guest PA through the vCPU's stage-1 translation, as Xen's gva_to_ipa does for
 * copy_{from,to}_guest (EL1 read or write permission required). Returns -1 when it faults.
 * A CPU without system registers (tests' fake vCPUs) is taken as MMU off: VA = PA.
 */
export function translateForHypervisor(cpu: TranslatingCpu, mem: GuestPhysMemory, va: bigint, write: boolean): number {
  const regs = mmuRegs(cpu);
  if (!regs || (regs.sctlrLo & 1) === 0) return va >= 0n && va < 1n << 48n ? Number(va) : -1;
  const out: WalkResult = { fault: 0, paPage: 0, perm: 0, global: true, attrIndex: 0, sh: 0, level: 0 };
  const read = (pa: number, d: Int32Array): boolean => {
    const off = mem.memOffset(pa);
    if (off < 0 || off + 8 > mem.mem.length) return false;
    const dv = new DataView(mem.mem.buffer, mem.mem.byteOffset + off, 8);
    d[0] = dv.getInt32(0, true);
    d[1] = dv.getInt32(4, true);
    return true;
  };
  const v = BigInt.asUintN(64, va);
  if (walk(regs, read, hi(v), lo(v), true, out)) return -1;
  if ((out.perm & (write ? PERM.W1 : PERM.R1)) === 0) return -1;
  return out.paPage * 4096 + Number(v & 0xfffn);
}

/** Byte access to guest memory through VA translation, page by page; false on any fault. */
export class GuestAccess {
  readonly phys: GuestPhysMemory;

  constructor(phys: GuestPhysMemory) {
    this.phys = phys;
  }

  /** Copy `len` bytes from guest VA `va` (copy_from_guest); undefined on a fault. */
  read(cpu: TranslatingCpu, va: bigint, len: number): Uint8Array | undefined {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const pa = translateForHypervisor(cpu, this.phys, va + BigInt(done), false);
      if (pa < 0) return undefined;
      const n = Math.min(len - done, 4096 - (pa % 4096));
      const off = this.phys.memOffset(pa);
      if (off < 0 || this.phys.memOffset(pa + n - 1) !== off + n - 1) return undefined;
      out.set(this.phys.mem.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  /** Copy bytes to guest VA `va` (copy_to_guest); false on a fault (nothing partial is undone, as Xen). */
  write(cpu: TranslatingCpu, va: bigint, data: Uint8Array): boolean {
    let done = 0;
    while (done < data.length) {
      const pa = translateForHypervisor(cpu, this.phys, va + BigInt(done), true);
      if (pa < 0) return false;
      const n = Math.min(data.length - done, 4096 - (pa % 4096));
      const off = this.phys.memOffset(pa);
      if (off < 0 || this.phys.memOffset(pa + n - 1) !== off + n - 1) return false;
      this.phys.mem.set(data.subarray(done, done + n), off);
      done += n;
    }
    return true;
  }

  /** A DataView over `len` bytes of guest-physical memory (shared pages), or undefined. */
  physView(pa: number, len: number): DataView | undefined {
    const off = this.phys.memOffset(pa);
    if (off < 0 || this.phys.memOffset(pa + len - 1) !== off + len - 1) return undefined;
    return new DataView(this.phys.mem.buffer, this.phys.mem.byteOffset + off, len);
  }
}
