// Putting a guest into a machine and starting the boot vCPU. Placement and entry registers come
// from emu/loader (planBoot: QEMU 7.2's -kernel/-initrd rules, checked against QEMU); this file
// copies the blobs into RAM and powers on vCPU 0 at the entry in EL1h with the MMU off, DAIF
// masked and x0..x3 as planned (x0 = DTB address for Image and raw kernels).

import { parseFdt } from '../../arch/fdt.ts';
import { planBoot, type BootPlan } from '../loader/index.ts';
import type { Machine } from './index.ts';

/** A guest that cannot be booted for a reason outside the image itself (missing file, options). */
export class GuestImageError extends Error {
  override name = 'GuestImageError';
}

export interface GuestImages {
  kernel: Uint8Array;
  /** File name for messages. */
  kernelName: string;
  /** A DTB to pass instead of the personality's generated one. */
  dtb?: Uint8Array;
  dtbName?: string;
  initrd?: Uint8Array;
  initrdName?: string;
  /** Kernel command line (/chosen/bootargs of the generated DTB). */
  append?: string;
}

export interface BootInfo {
  /** 'firmware': --bios, the vCPU starts at the reset vector (emu/machine/firmware.ts). */
  kind: BootPlan['kind'] | 'firmware';
  entry: bigint;
  regs: BootPlan['regs'];
  /** Where the DTB went (undefined: an ELF with no room for it below its segments). */
  dtbAddr?: number;
  /** The DTB the guest was given. */
  dtb: Uint8Array;
  initrd?: { start: number; end: number };
  notes: string[];
}

/** Copy kernel, initrd and DTB into RAM (no vCPU is started: see bootGuest). */
export function loadGuest(m: Machine, g: GuestImages): BootInfo {
  const bus = m.bus;
  if (g.dtb) {
    try {
      parseFdt(g.dtb, g.dtbName ?? 'DTB');
    } catch (err) {
      throw new GuestImageError(`${g.dtbName ?? 'DTB'}: not a valid DTB: ${(err as Error).message}`);
    }
    if (g.append !== undefined) throw new GuestImageError('--append needs the generated DTB (--dtb auto)');
  }
  let dtb: Uint8Array | undefined;
  const plan = planBoot({
    kernel: g.kernel,
    kernelName: g.kernelName,
    ...(g.initrd ? { initrd: g.initrd, initrdName: g.initrdName ?? 'initrd' } : {}),
    ram: { base: bus.ramBase, size: bus.ramSize },
    dtb:
      g.dtb ??
      ((initrd) => m.personality.buildDtb({ ...(g.append !== undefined ? { bootargs: g.append } : {}), ...(initrd ? { initrd } : {}) })),
  });
  for (const b of plan.blobs) {
    bus.load(b.addr, b.data);
    if (b.zeroFill > 0) {
      const off = b.addr - bus.ramBase + b.data.length;
      bus.mem.fill(0, off, off + b.zeroFill);
    }
    if (b.name === 'dtb') dtb = b.data;
  }
  return {
    kind: plan.kind,
    entry: plan.entry,
    regs: plan.regs,
    ...(plan.dtbAddr !== undefined ? { dtbAddr: plan.dtbAddr } : {}),
    dtb: dtb ?? new Uint8Array(0),
    ...(plan.initrd ? { initrd: plan.initrd } : {}),
    notes: plan.notes,
  };
}

/** Power on vCPU 0 at the loaded guest's entry with x0..x3 as planned (records vcpu_state 'boot'). */
export function bootGuest(m: Machine, b: BootInfo): void {
  m.cpuOn(0, b.entry, b.regs[0], 'boot');
  const cpu = m.cpus[0]!;
  for (let i = 1; i < 4; i++) cpu.setX(i, b.regs[i]!);
}
