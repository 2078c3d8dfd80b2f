// Putting a guest into a machine and starting the boot vCPU by the arm64 Linux boot protocol:
// kernel placed as QEMU's -kernel does (image.ts), initrd and DTB above it, vCPU 0 at the entry
// in EL1h with the MMU off, DAIF masked, x0 = DTB address and x1–x3 = 0.

import { parseFdt } from '../../capture/fdt.ts';
import type { Machine } from './index.ts';
import { GuestImageError, placeBootData, placeKernel, type ImageKind } from './image.ts';

export interface GuestImages {
  kernel: Uint8Array;
  /** File name for messages. */
  kernelName: string;
  /** A DTB to pass instead of the personality's generated one. */
  dtb?: Uint8Array;
  dtbName?: string;
  initrd?: Uint8Array;
  /** Kernel command line (/chosen/bootargs of the generated DTB). */
  append?: string;
}

export interface BootInfo {
  kind: ImageKind;
  entry: number;
  dtbAddr: number;
  /** The DTB the guest was given. */
  dtb: Uint8Array;
  initrd?: { start: number; end: number };
}

/** Power on vCPU 0 at the loaded guest's entry with x0 = DTB (records the vcpu_state event). */
export function bootGuest(m: Machine, b: BootInfo): void {
  m.cpuOn(0, BigInt(b.entry), BigInt(b.dtbAddr), 'boot');
}

/** Copy kernel, initrd and DTB into RAM (no vCPU is started: see bootGuest). */
export function loadGuest(m: Machine, g: GuestImages): BootInfo {
  const bus = m.bus;
  const k = placeKernel(g.kernel, g.kernelName, bus.ramBase, bus.ramSize);
  if (g.dtb) {
    try {
      parseFdt(g.dtb, g.dtbName ?? 'DTB');
    } catch (err) {
      throw new GuestImageError(`${g.dtbName ?? 'DTB'}: not a valid DTB: ${(err as Error).message}`);
    }
    if (g.append !== undefined) throw new GuestImageError('--append needs the generated DTB (--dtb auto)');
  }
  const initrdSize = g.initrd?.length ?? 0;
  // The generated DTB's size depends on the initrd properties only, not their values: build it
  // once to learn where things go, then again with the final addresses.
  const draft = g.dtb ?? m.personality.buildDtb({ ...(g.append !== undefined ? { bootargs: g.append } : {}), ...(initrdSize ? { initrd: { start: 0, end: initrdSize } } : {}) });
  const layout = placeBootData(k.end, initrdSize, draft.length, bus.ramBase, bus.ramSize);
  const dtb = g.dtb ?? m.personality.buildDtb({ ...(g.append !== undefined ? { bootargs: g.append } : {}), ...(layout.initrd ? { initrd: layout.initrd } : {}) });
  for (const s of k.segments) {
    bus.load(s.pa, s.data);
    if (s.zero > 0) bus.mem.fill(0, s.pa - bus.ramBase + s.data.length, s.pa - bus.ramBase + s.data.length + s.zero);
  }
  if (g.initrd && layout.initrd) bus.load(layout.initrd.start, g.initrd);
  bus.load(layout.dtb, dtb);
  return { kind: k.kind, entry: k.entry, dtbAddr: layout.dtb, dtb, ...(layout.initrd ? { initrd: layout.initrd } : {}) };
}
