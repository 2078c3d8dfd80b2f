// What the kvm and xen personalities build the same way: named device regions, and the GIC
// (v2: distributor + CPU interface; v3: distributor + one redistributor frame pair per vCPU)
// at the addresses each hypervisor uses.

import { GICV3_REDIST_STRIDE } from '../../arch/regmaps/gicv3.ts';
import type { DeviceRegion, DeviceRole } from '../../capture/model.ts';
import { GicV2 } from '../devices/gicv2.ts';
import { GicV3 } from '../devices/gicv3.ts';
import type { DeviceEnv } from '../devices/irq.ts';
import type { MmioDevice, SysregProvider } from '../types.ts';

/** A region named `model@base` as the trace's region table and the DTB name it. */
export function region(model: string, role: DeviceRole, base: number, size: number, extra: Partial<DeviceRegion> = {}): DeviceRegion {
  return { name: `${model}@${base.toString(16)}`, model, role, base, size, ...extra };
}

/** GICv3 redistributor frames per vCPU (RD_base + SGI_base, 64 KiB each). */
export const REDIST_STRIDE = GICV3_REDIST_STRIDE;

export interface GicPlacement {
  version: 2 | 3;
  numCpu: number;
  distBase: number;
  distSize: number;
  /** GICv3: the redistributors' base (numCpu × REDIST_STRIDE). */
  redistBase: number;
  /** GICv2: the CPU interface. */
  cpuBase: number;
  cpuSize: number;
  /** GICv3: each vCPU's MPIDR affinity. */
  affinity: (cpu: number) => number;
  /** GICv2 with one vCPU: what ITARGETSR shows (KVM's vgic, Xen's vgic, or RAZ/WI as QEMU TCG). */
  uniprocessorTargets?: 'raz_wi' | 'kvm' | 'xen';
  /** GICv3: LPIs usable (the machine adds an ITS). */
  lpis?: boolean;
  /** The distributor/redistributor register interface: QEMU's GIC (default) or Xen 4.17's vGIC. */
  registers?: 'qemu' | 'xen';
  /** SPIs the GIC implements (default 256, QEMU virt's). */
  numSpis?: number;
  /** GICv3 identification registers: KVM's vGICv3 or QEMU TCG's (the default). */
  v3Ids?: 'qemu-tcg' | 'kvm';
}

export interface BuiltGic {
  gic: GicV2 | GicV3;
  /** The GIC's MMIO devices, in address order of their roles (distributor first). */
  devices: MmioDevice[];
  /** GICv3's ICC system registers; none for GICv2. */
  sysregs: SysregProvider[];
}

export function buildGic(p: GicPlacement, env: DeviceEnv): BuiltGic {
  if (p.version === 3) {
    const compatible = ['arm,gic-v3'];
    const dist = region('gicv3-dist', 'gic_dist', p.distBase, p.distSize, { compatible });
    const redist = region('gicv3-redist', 'gic_redist', p.redistBase, p.numCpu * REDIST_STRIDE, { compatible });
    const g = new GicV3({
      numCpu: p.numCpu,
      distRegion: dist,
      redistRegion: redist,
      env,
      affinity: p.affinity,
      lpis: p.lpis ?? false,
      ...(p.registers ? { registers: p.registers } : {}),
      ...(p.numSpis !== undefined ? { numSpis: p.numSpis } : {}),
      ...(p.v3Ids ? { ids: p.v3Ids } : {}),
    });
    return { gic: g, devices: [g.dist, g.redist], sysregs: [g] };
  }
  const compatible = ['arm,cortex-a15-gic'];
  const dist = region('gicv2-dist', 'gic_dist', p.distBase, p.distSize, { compatible });
  const cpu = region('gicv2-cpu', 'gic_cpu', p.cpuBase, p.cpuSize, { compatible });
  const g = new GicV2({
    numCpu: p.numCpu,
    distRegion: dist,
    cpuRegion: cpu,
    env,
    ...(p.uniprocessorTargets ? { uniprocessorTargets: p.uniprocessorTargets } : {}),
    ...(p.registers ? { registers: p.registers } : {}),
    ...(p.numSpis !== undefined ? { numSpis: p.numSpis } : {}),
  });
  return { gic: g, devices: [g.dist, g.cpu], sysregs: [] };
}
