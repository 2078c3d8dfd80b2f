// What the guest's device tree says, flattened for analyses: every node with its compatible,
// absolute reg ranges, interrupts and status, plus /chosen. Built once per replay from the DTB
// the trace carries (meta.extra.dtbBase64, written by `run` and `import --dtb`; see capture/dtb-meta.ts).

import {
  FdtError,
  parseFdt,
  propStrings,
  propString,
  propU32,
  propU32s,
  regEntries,
  walkNodes,
  findPhandle,
  type FdtNode,
} from '../arch/fdt.ts';

export interface DtDevice {
  path: string;
  compatible: string[];
  reg: { base: number; size: number }[];
  /**
   * A PCI host bridge's (`device_type = "pci"`) memory and I/O windows, from `ranges`: the
   * firmware or the guest assigns the functions' BARs inside them, so they describe those BARs.
   */
  windows: { base: number; size: number }[];
  /** `interrupts` cells (GIC: type, number, flags triples). */
  interrupts: number[];
  status: string;
  node: FdtNode;
}

export interface DtInfo {
  devices: DtDevice[];
  stdoutPath: string;
  bootargs: string;
  /** Parse problem, when the blob is not a valid DTB. */
  error?: string;
  root: FdtNode | undefined;
}

export function readDt(blob: Uint8Array | undefined): DtInfo | undefined {
  if (!blob) return undefined;
  let fdt;
  try {
    fdt = parseFdt(blob, 'trace DTB');
  } catch (err) {
    if (err instanceof FdtError) return { devices: [], stdoutPath: '', bootargs: '', error: err.message, root: undefined };
    throw err;
  }
  const devices: DtDevice[] = [];
  walk(fdt.root, '/', 2, 1, devices);
  const chosen = fdt.root.children.find((c) => c.name === 'chosen');
  return {
    devices,
    stdoutPath: (chosen && (propString(chosen, 'stdout-path') ?? propString(chosen, 'linux,stdout-path'))) ?? '',
    bootargs: (chosen && propString(chosen, 'bootargs')) ?? '',
    root: fdt.root,
  };
}

// Addresses are taken as identity-mapped through `ranges` (true for every machine we model).
function walk(node: FdtNode, path: string, ac: number, sc: number, out: DtDevice[]): void {
  if (path !== '/') {
    const reg = regEntries(node, ac, sc).map((r) => ({ base: Number(r.address), size: Number(r.size) }));
    out.push({
      path,
      compatible: propStrings(node, 'compatible') ?? [],
      reg,
      windows: propString(node, 'device_type') === 'pci' ? pciWindows(node, ac) : [],
      interrupts: propU32s(node, 'interrupts') ?? [],
      status: propString(node, 'status') ?? 'okay',
      node,
    });
  }
  const childAc = propU32(node, '#address-cells') ?? 2;
  const childSc = propU32(node, '#size-cells') ?? 1;
  for (const c of node.children) walk(c, path === '/' ? `/${c.name}` : `${path}/${c.name}`, childAc, childSc, out);
}

/** `ranges` of a PCI node: (3-cell PCI address, parent address, size) entries → CPU windows. */
function pciWindows(node: FdtNode, parentAc: number): { base: number; size: number }[] {
  const cells = propU32s(node, 'ranges') ?? [];
  const sc = propU32(node, '#size-cells') ?? 2;
  const stride = 3 + parentAc + sc;
  const num = (xs: readonly number[]) => xs.reduce((v, c) => v * 0x100000000 + c, 0);
  const out: { base: number; size: number }[] = [];
  for (let i = 0; i + stride <= cells.length; i += stride)
    out.push({ base: num(cells.slice(i + 3, i + 3 + parentAc)), size: num(cells.slice(i + 3 + parentAc, i + stride)) });
  return out;
}

/**
 * The DT device whose reg contains `addr` (the smallest such range); failing that, the PCI host
 * bridge whose windows contain it (a function's BAR).
 */
export function dtDeviceAt(dt: DtInfo, addr: number): DtDevice | undefined {
  let best: DtDevice | undefined;
  let bestSize = Infinity;
  for (const pass of ['reg', 'windows'] as const) {
    for (const d of dt.devices) {
      if (d.path.startsWith('/memory') || d.path.startsWith('/cpus')) continue;
      for (const r of d[pass])
        if (addr >= r.base && addr < r.base + r.size && r.size < bestSize) {
          best = d;
          bestSize = r.size;
        }
    }
    if (best) return best;
  }
  return best;
}

/** GIC SPI/PPI INTID from a 3-cell GIC interrupt specifier (type 0 = SPI, 1 = PPI). */
export function gicIntid(cells: readonly number[]): number | undefined {
  if (cells.length < 3) return undefined;
  return cells[0] === 0 ? cells[1]! + 32 : cells[0] === 1 ? cells[1]! + 16 : undefined;
}

/** Clock frequencies behind a node's `clocks` phandles. */
export function clockRates(root: FdtNode, node: FdtNode): number[] {
  const out: number[] = [];
  for (const ph of propU32s(node, 'clocks') ?? []) {
    const c = findPhandle(root, ph);
    const hz = c && propU32(c, 'clock-frequency');
    if (hz !== undefined && hz !== null) out.push(hz);
  }
  return out;
}

export { walkNodes };
