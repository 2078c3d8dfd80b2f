// Device regions an import resolves addresses against: QEMU's `virt` machine by default, or the
// regions a guest's DTB describes (`--dtb`). Region names follow `<model>@<hex base>`.
import type { DeviceRegion, DeviceRole } from '../model.ts';
import { FdtError, getProp, parseFdt, propStrings, propU32, propU32s, regEntries, type FdtNode } from '../../arch/fdt.ts';
import { ImportError } from './errors.ts';

const MiB = 0x100000;
const GiB = 0x40000000;

function r(model: string, role: DeviceRole, base: number, size: number, extra: Partial<DeviceRegion> = {}): DeviceRegion {
  return { name: `${model}@${base.toString(16)}`, model, role, base, size, ...extra };
}

/** QEMU virt regions that do not depend on the GIC version (hw/arm/virt.c base_memmap, QEMU 7–10). */
export function qemuVirtBaseRegions(): DeviceRegion[] {
  const out: DeviceRegion[] = [
    r('cfi-flash', 'flash', 0, 0x4000000, { compatible: ['cfi-flash'] }),
    r('cfi-flash', 'flash', 0x4000000, 0x4000000, { compatible: ['cfi-flash'] }),
    r('pl011', 'uart', 0x9000000, 0x1000, { intid: 33, compatible: ['arm,pl011', 'arm,primecell'] }),
    r('pl031', 'rtc', 0x9010000, 0x1000, { intid: 34, compatible: ['arm,pl031', 'arm,primecell'] }),
    r('fw-cfg', 'fw_cfg', 0x9020000, 0x18, { compatible: ['qemu,fw-cfg-mmio'] }),
    r('pl061', 'gpio', 0x9030000, 0x1000, { intid: 39, compatible: ['arm,pl061', 'arm,primecell'] }),
    r('pl011', 'uart', 0x9040000, 0x1000, { intid: 40, compatible: ['arm,pl011', 'arm,primecell'] }),
    r('smmuv3', 'other', 0x9050000, 0x20000),
    r('acpi-ged', 'other', 0x9080000, 0x4),
    r('platform-bus', 'other', 0xc000000, 32 * MiB),
    r('pcie-mmio', 'pcie', 0x10000000, 0x2eff0000),
    r('pcie-pio', 'pcie', 0x3eff0000, 0x10000),
    r('pcie-ecam', 'pcie', 0x3f000000, 16 * MiB, { compatible: ['pci-host-ecam-generic'] }),
    r('ram', 'ram', 0x40000000, 255 * GiB),
    r('pcie-ecam', 'pcie', 0x4010000000, 256 * MiB, { compatible: ['pci-host-ecam-generic'] }),
    r('pcie-mmio', 'pcie', 0x8000000000, 0x8000000000),
  ];
  for (let i = 0; i < 32; i++) {
    out.push(r('virtio-mmio', 'virtio', 0xa000000 + 0x200 * i, 0x200, { intid: 48 + i, compatible: ['virtio,mmio'] }));
  }
  return out;
}

/** The GIC's regions on QEMU virt. */
export function qemuVirtGicRegions(version: 2 | 3): DeviceRegion[] {
  if (version === 2) {
    return [
      r('gicv2-dist', 'gic_dist', 0x8000000, 0x10000, { compatible: ['arm,cortex-a15-gic'] }),
      r('gicv2-cpu', 'gic_cpu', 0x8010000, 0x10000, { compatible: ['arm,cortex-a15-gic'] }),
      r('gicv2m', 'gic_its', 0x8020000, 0x1000, { compatible: ['arm,gic-v2m-frame'] }),
    ];
  }
  return [
    r('gicv3-dist', 'gic_dist', 0x8000000, 0x10000, { compatible: ['arm,gic-v3'] }),
    r('gicv3-its', 'gic_its', 0x8080000, 0x20000, { compatible: ['arm,gic-v3-its'] }),
    r('gicv3-redist', 'gic_redist', 0x80a0000, 0xf60000, { compatible: ['arm,gic-v3'] }),
  ];
}

export function qemuVirtRegions(gicVersion: 2 | 3): DeviceRegion[] {
  return [...qemuVirtBaseRegions(), ...qemuVirtGicRegions(gicVersion)].sort((a, b) => a.base - b.base);
}

/** How a DT compatible becomes a region (first match wins; GICs expand to several frames). */
const COMPATIBLE_MODELS: ReadonlyArray<[string, string, DeviceRole]> = [
  ['arm,sbsa-uart', 'sbsa-uart', 'uart'],
  ['arm,pl011', 'pl011', 'uart'],
  ['arm,pl031', 'pl031', 'rtc'],
  ['arm,pl061', 'pl061', 'gpio'],
  ['virtio,mmio', 'virtio-mmio', 'virtio'],
  ['qemu,fw-cfg-mmio', 'fw-cfg', 'fw_cfg'],
  ['cfi-flash', 'cfi-flash', 'flash'],
  ['pci-host-ecam-generic', 'pcie-ecam', 'pcie'],
  ['arm,gic-v3-its', 'gicv3-its', 'gic_its'],
  ['arm,gic-v2m-frame', 'gicv2m', 'gic_its'],
];
const GICV2_COMPATIBLES = ['arm,cortex-a15-gic', 'arm,gic-400', 'arm,cortex-a9-gic', 'arm,arm11mp-gic'];

/** Regions described by a DTB (nodes with `reg` and a compatible we know, memory, Xen's grant table). */
export function regionsFromDtb(dtb: Uint8Array, file: string): DeviceRegion[] {
  let root: FdtNode;
  try {
    root = parseFdt(dtb, file).root;
  } catch (e) {
    if (e instanceof FdtError) throw new ImportError(file, 0, e.message.replace(`${file}: `, ''));
    throw e;
  }
  const out: DeviceRegion[] = [];
  const seen = new Set<string>();
  const add = (reg: DeviceRegion) => {
    if (seen.has(reg.name)) return;
    seen.add(reg.name);
    out.push(reg);
  };
  const visit = (node: FdtNode, ac: number, sc: number) => {
    if (getProp(node, 'reg')) regionsOfNode(node, ac, sc, add);
    const cac = propU32(node, '#address-cells') ?? 2;
    const csc = propU32(node, '#size-cells') ?? 1;
    for (const c of node.children) visit(c, cac, csc);
  };
  for (const c of root.children) visit(c, propU32(root, '#address-cells') ?? 2, propU32(root, '#size-cells') ?? 1);
  return out.sort((a, b) => a.base - b.base);
}

/**
 * The platform regions of an import given the guest's DTB (`--dtb`). A DTB of QEMU's virt machine
 * (root compatible "linux,dummy-virt") does not move QEMU's devices: a DT edited to put the UART at
 * another address misdescribes the machine, the PL011 stays where virt put it, so virt's map stands
 * and the DT is only the guest's description (kept in the trace, compared by `explain uart`).
 * `undefined` then means "the default virt map" (the QEMU log importer adds the GIC the log shows);
 * with `gicFromDt` (ftrace: no GIC events to tell) the map comes with the GIC the DT names.
 * Any other DTB describes its own platform: its regions are the map.
 */
export function platformRegionsFromDtb(dtb: Uint8Array, file: string, gicFromDt: boolean): DeviceRegion[] | undefined {
  const described = regionsFromDtb(dtb, file);
  const root = parseFdt(dtb, file).root;
  if (!(propStrings(root, 'compatible') ?? []).includes('linux,dummy-virt')) return described;
  if (!gicFromDt) return undefined;
  return qemuVirtRegions(described.some((x) => x.model === 'gicv2-dist') ? 2 : 3);
}

function regionsOfNode(node: FdtNode, ac: number, sc: number, add: (r: DeviceRegion) => void): void {
  const regs: Array<[number, number]> = regEntries(node, ac, sc).map((x) => [Number(x.address), Number(x.size)]);
  if (regs.length === 0) return;
  const compatible = propStrings(node, 'compatible') ?? [];
  const intid = interruptOf(node);
  const extra: Partial<DeviceRegion> = { compatible, ...(intid !== undefined ? { intid } : {}) };
  if (propStrings(node, 'device_type')?.[0] === 'memory') {
    for (const [base, size] of regs) add(r('ram', 'ram', base, size));
    return;
  }
  if (compatible.includes('arm,gic-v3')) {
    add(r('gicv3-dist', 'gic_dist', regs[0]![0], regs[0]![1], extra));
    const nRedist = Math.max(1, propU32(node, '#redistributor-regions') ?? 1);
    for (const [base, size] of regs.slice(1, 1 + nRedist)) add(r('gicv3-redist', 'gic_redist', base, size, extra));
    return;
  }
  if (compatible.some((c) => GICV2_COMPATIBLES.includes(c))) {
    add(r('gicv2-dist', 'gic_dist', regs[0]![0], regs[0]![1], extra));
    if (regs[1]) add(r('gicv2-cpu', 'gic_cpu', regs[1][0], regs[1][1], extra));
    return;
  }
  if (compatible.some((c) => c.startsWith('xen,xen'))) {
    add(r('xen-grant-table', 'xen_grant_table', regs[0]![0], regs[0]![1], extra));
    return;
  }
  const known = COMPATIBLE_MODELS.find(([c]) => compatible.includes(c));
  if (known && known[2] === 'flash') for (const [base, size] of regs) add(r(known[1], known[2], base, size, extra));
  else if (known) add(r(known[1], known[2], regs[0]![0], regs[0]![1], extra));
}

/** INTID of a node's first interrupt (GIC 3-cell specifiers: type 0 SPI → n+32, 1 PPI → n+16). */
function interruptOf(node: FdtNode): number | undefined {
  const cells = propU32s(node, 'interrupts') ?? [];
  if (cells.length < 2) return undefined;
  return cells[0] === 1 ? cells[1]! + 16 : cells[1]! + 32;
}

/** Address → region lookup over a sorted, non-overlapping region table (last hit cached). */
export class AddressMap {
  regions: DeviceRegion[] = [];
  private starts: number[] = [];
  private last: DeviceRegion | undefined;

  constructor(regions: DeviceRegion[] = []) {
    this.set(regions);
  }

  set(regions: DeviceRegion[]): void {
    this.regions = [...regions].sort((a, b) => a.base - b.base);
    this.starts = this.regions.map((x) => x.base);
    this.last = undefined;
  }

  add(regions: DeviceRegion[]): void {
    const names = new Set(this.regions.map((x) => x.name));
    this.set([...this.regions, ...regions.filter((x) => !names.has(x.name))]);
  }

  find(addr: number): DeviceRegion | undefined {
    const l = this.last;
    if (l && addr >= l.base && addr < l.base + l.size) return l;
    let lo = 0;
    let hi = this.starts.length - 1;
    let hit = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= addr) {
        hit = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (hit < 0) return undefined;
    const reg = this.regions[hit]!;
    if (addr >= reg.base + reg.size) return undefined;
    this.last = reg;
    return reg;
  }

  /** First region of a model (device trace events that print only an offset). */
  byModel(model: string): DeviceRegion | undefined {
    return this.regions.find((x) => x.model === model);
  }
}
