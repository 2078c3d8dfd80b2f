// GICv3 as QEMU's arm_gicv3 presents it on the virt machine without EL3: a single security
// state (GICD_CTLR.DS = 1) with affinity routing always on (ARE RAO/WI), 256 SPIs routed by
// GICD_IROUTER, one redistributor per CPU (RD_base + SGI_base, 128 KiB stride, Last in the
// final GICR_TYPER), the GICR_WAKER handshake, and the ICC_* CPU interface as system registers
// with 5 priority bits (32 preemption levels, one AP0R/AP1R word). The ID and type registers
// read exactly as QEMU 7.2's (which always advertises LPIs: GICD_TYPER.LPIS, GICR_TYPER.PLPIS,
// GICR_CTLR.CES, 24-bit ICC IDbits). LPIs work when the machine has an ITS (GicV3Options.lpis;
// the ITS is emu/devices/gicv3-its.ts): GICR_PROPBASER/PENDBASER and GICR_CTLR.EnableLPIs as KVM's
// vgic keeps them. Without one they are RAZ/WI and Linux prints "ITS: No ITS available, not
// enabling LPIs", as on QEMU its=off.
// Group 0 interrupts signal FIQ and are acknowledged through IAR0; Group 1 signal IRQ (IAR1).
// Arm IHI 0069H chapter 12; what the model does is listed in docs/emulator-platform.md (Device models).

// The model is split along the GIC's own seams: gicv3-state.ts (interrupt state, routing and
// priority resolution, LPI pending state), gicv3-dist.ts (GICD), gicv3-redist.ts (GICR),
// gicv3-cpuif.ts (ICC_*) and gicv3-tables.ts (the LPI/ITS table attributes and entries in RAM).
// With `registers: 'xen'` the distributor and redistributors are Xen 4.17's vgic-v3 instead
// (gicv3-xen.ts): the register view a Xen domU gets, in front of the same interrupt state.

import type { MmioDevice, SysregProvider } from '../types.ts';
import { GicV3CpuInterface } from './gicv3-cpuif.ts';
import { GicV3Distributor } from './gicv3-dist.ts';
import { GicV3Redistributor } from './gicv3-redist.ts';
import { GicV3State, type GicV3Options } from './gicv3-state.ts';
import { XenVgicV3 } from './gicv3-xen.ts';
import type { InterruptController } from './irq.ts';

export type { GicV3Options } from './gicv3-state.ts';

export interface GicV3ModelOptions extends GicV3Options {
  /** The register interface: QEMU's GICv3 (the default) or Xen 4.17's vgic-v3. */
  registers?: 'qemu' | 'xen';
}

export class GicV3 extends GicV3State implements InterruptController, SysregProvider {
  readonly dist: MmioDevice;
  readonly redist: MmioDevice;
  private readonly cpuif: GicV3CpuInterface;
  private readonly xen: XenVgicV3 | undefined;

  constructor(opts: GicV3ModelOptions) {
    super(opts);
    if (opts.registers === 'xen') {
      this.xen = new XenVgicV3(this, opts.distRegion, opts.redistRegion);
      this.dist = this.xen.dist;
      this.redist = this.xen.redist;
    } else {
      this.xen = undefined;
      this.dist = new GicV3Distributor(this, opts.distRegion);
      this.redist = new GicV3Redistributor(this, opts.redistRegion);
    }
    this.cpuif = new GicV3CpuInterface(this);
    this.reset();
  }

  override reset(): void {
    super.reset();
    this.xen?.reset();
  }

  // ---- SysregProvider (ICC_*_EL1), served by the CPU interface --------------------------------

  readSysreg(vcpu: number, encoding: number): bigint | undefined {
    return this.cpuif.readSysreg(vcpu, encoding);
  }

  writeSysreg(vcpu: number, encoding: number, value: bigint): boolean {
    return this.cpuif.writeSysreg(vcpu, encoding, value);
  }
}
