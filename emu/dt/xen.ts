// The xen personality's device tree, as one of two builders writes it for an arm64 domU:
//   - xl (the default): Xen 4.17's toolstack (tools/libs/light/libxl_arm.c, libxl__prepare_dtb):
//     root `xen,xenvm` with its model and interrupt-parent, /chosen, /cpus (vMPIDR affinity,
//     `arm,armv8`, enable-method psci), /psci (1.0/0.2/0.1 compatibles, method hvc, PSCI 0.1 IDs
//     cpu_off = 1, cpu_on = 2), /memory, the GIC (v2 or v3) at the GUEST_GIC* addresses, /timer
//     (three level-low PPIs with the CPU mask 0xf: secure, non-secure physical and virtual),
//     /hypervisor (grant-table region, then the extended regions; event-channel PPI 31) and, with
//     a vUART, `sbsa-uart@22000000`;
//   - dom0less: what Xen's own dom0less builder writes (xen/arch/arm/domain_build.c,
//     prepare_dtb_domU): no root model, compatible or interrupt-parent; /chosen with placeholder
//     initrd properties, /psci, /cpus with the host CPU's compatible, /memory, the GIC as
//     `arm,gic-v3` (no #redistributor-regions) or `arm,gic-400`, the same timer, the vpl011 as
//     `sbsa-uart@22000000` with an SPI specifier carrying the CPU mask, and /hypervisor last
//     (its node exists because the domU is "xen,enhanced"); each interrupt user names its parent.
// No PL011, PL031 or virtio nodes: a domU has none. `uartDt: 'pl011'` re-describes the vUART as
// hand-written device trees do (arm,pl011 + arm,primecell with an apb_pclk clock), so Linux's AMBA
// bus reads its (zero) ID registers. Xen's xen/include/public/arch-arm.h (guest memory map);
// docs/xen.md ("Device tree") lists both trees property by property.

import { buildFdt, cells64, fdtNode, type FdtNode, type PropValue } from '../../arch/fdt.ts';

/** arch-arm.h guest memory map (Xen 4.17). */
export const XEN_GUEST = {
  GICD: 0x03001000,
  GICD_SIZE_V2: 0x1000,
  GICC: 0x03002000,
  GICC_SIZE: 0x2000,
  GICD_SIZE_V3: 0x10000,
  GICR: 0x03020000,
  GICR_SIZE: 0x01000000,
  VPL011: 0x22000000,
  VPL011_SIZE: 0x1000,
  VPL011_SPI: 32,
  GNTTAB: 0x38000000,
  GNTTAB_SIZE: 0x01000000,
  MAGIC: 0x39000000,
  MAGIC_SIZE: 0x01000000,
  RAM0: 0x40000000,
  RAM0_SIZE: 0xc0000000,
  RAM1: 0x200000000,
  RAM1_SIZE: 0xfe00000000,
  EVTCHN_PPI: 31,
  /** libxl's and Xen's GUEST_PHANDLE_GIC. */
  PHANDLE_GIC: 65000,
  CLOCK_HZ: 24000000,
  /**
   * The guest-physical address size Xen's P2M gives a domain on this machine ("P2M: 44-bit IPA"
   * on a Cortex-A57 with 44-bit physical addresses, ID_AA64MMFR0.PARange = 4): it bounds the
   * extended regions.
   */
  IPA_BITS: 44,
} as const;

/** Magic page offsets in GUEST_MAGIC (xg_dom_arm.c): console, xenstore, memaccess, vuart. */
export const MAGIC_PAGE = { CONSOLE: 0, XENSTORE: 1, MEMACCESS: 2, VUART: 3 } as const;

/** Who builds the domain, and so writes its DT: xl (libxl) or Xen's dom0less builder. */
export type XenToolstack = 'xl' | 'dom0less';

export interface XenDtConfig {
  smp: number;
  memSize: number;
  gic: 2 | 3;
  /** The DT's writer (default xl). */
  toolstack?: XenToolstack;
  /** Xen version in /hypervisor's compatible (default 4.17). */
  version?: { major: number; minor: number };
  /** vUART node: 'sbsa' (as the toolstack writes it), 'pl011' (hand-written misdescription), or none. */
  vuart?: 'sbsa' | 'pl011' | 'none';
  bootargs?: string;
  initrd?: { start: number; end: number };
  /** vMPIDR affinity of each vCPU (DT cpu `reg`). */
  affinity: (cpu: number) => number;
}

const GIC_SPI = 0;
const GIC_PPI = 1;
const IRQ_LEVEL_HIGH = 4;
const IRQ_LEVEL_LOW = 8;
/** Both builders give PPIs the CPU mask 0xf and level-low triggering: <1 n 0xf08>. */
const PPI_FLAGS = (0xf << 8) | IRQ_LEVEL_LOW;
/** The timer's PPIs as both builders list them: secure physical 29, non-secure physical 30, virtual 27. */
const TIMER_PPIS = [13, 14, 11];
const MIB = 0x100000;

const hex = (n: number): string => n.toString(16);
const reg64 = (base: number, size: number): number[] => [...cells64(base), ...cells64(size)];

export function buildXenDtb(cfg: XenDtConfig): Uint8Array {
  return buildFdt(xenTree(cfg));
}

export function xenTree(cfg: XenDtConfig): FdtNode {
  return (cfg.toolstack ?? 'xl') === 'dom0less' ? dom0lessTree(cfg) : xlTree(cfg);
}

/**
 * The extended regions a domain's /hypervisor `reg` lists after the grant-table region: in each
 * guest RAM bank, the part the domain's memory does not use (from its end rounded up to 2 MiB),
 * bounded by the IPA size, when at least 64 MiB (libxl's finalize_hypervisor_node and Xen's
 * find_domU_holes compute the same).
 */
export function extendedRegions(memSize: number): { base: number; size: number }[] {
  const ipaEnd = 2 ** XEN_GUEST.IPA_BITS;
  const banks = [
    { base: XEN_GUEST.RAM0, size: XEN_GUEST.RAM0_SIZE, used: Math.min(memSize, XEN_GUEST.RAM0_SIZE) },
    { base: XEN_GUEST.RAM1, size: XEN_GUEST.RAM1_SIZE, used: Math.max(0, memSize - XEN_GUEST.RAM0_SIZE) },
  ];
  const out: { base: number; size: number }[] = [];
  for (const b of banks) {
    const base = b.base + Math.ceil(b.used / (2 * MIB)) * 2 * MIB;
    const end = Math.min(ipaEnd, b.base + b.size);
    if (end - base >= 64 * MIB) out.push({ base, size: end - base });
  }
  return out;
}

function hypervisorReg(memSize: number): number[] {
  return [...reg64(XEN_GUEST.GNTTAB, XEN_GUEST.GNTTAB_SIZE), ...extendedRegions(memSize).flatMap((r) => reg64(r.base, r.size))];
}

// ---- xl (libxl) ---------------------------------------------------------------------------

function xlTree(cfg: XenDtConfig): FdtNode {
  const v = cfg.version ?? { major: 4, minor: 17 };
  const children: FdtNode[] = [
    chosenNode(cfg),
    cpusNode(cfg, 'arm,armv8'),
    psciNode(),
    memoryNode(cfg),
    xlGicNode(cfg),
    timerNode(),
    xlHypervisorNode(v, cfg.memSize),
  ];
  const vuart = cfg.vuart ?? 'none';
  if (vuart === 'sbsa') children.push(sbsaNode());
  if (vuart === 'pl011') children.push(...pl011Nodes());
  return fdtNode(
    '',
    {
      compatible: [`xen,xenvm-${v.major}.${v.minor}`, 'xen,xenvm'],
      model: `XENVM-${v.major}.${v.minor}`,
      'interrupt-parent': XEN_GUEST.PHANDLE_GIC,
      '#address-cells': 2,
      '#size-cells': 2,
    },
    children,
  );
}

/**
 * libxl's /chosen: the initrd's end is the end of the segment libxc loaded it into
 * (xc_dom_seg.vend, rounded up to the 4 KiB page), so Linux frees the whole last page ("Freeing
 * initrd memory: 1180K" for a 1,204,323-byte initramfs, as under real xl). libxl also writes 128
 * random bytes as `rng-seed`; left out here as on the kvm machine (host randomness in the DT).
 */
function chosenNode(cfg: XenDtConfig): FdtNode {
  const props: Record<string, PropValue> = {};
  if (cfg.bootargs !== undefined) props.bootargs = cfg.bootargs;
  if (cfg.initrd) {
    const { start, end } = cfg.initrd;
    props['linux,initrd-start'] = [...cells64(start)];
    props['linux,initrd-end'] = [...cells64(start + Math.ceil((end - start) / 4096) * 4096)];
  }
  return fdtNode('chosen', props);
}

function cpusNode(cfg: XenDtConfig, compatible: string): FdtNode {
  const cpus: FdtNode[] = [];
  for (let i = 0; i < cfg.smp; i++) {
    const aff = cfg.affinity(i);
    cpus.push(fdtNode(`cpu@${hex(aff)}`, { device_type: 'cpu', compatible, 'enable-method': 'psci', reg: aff }));
  }
  return fdtNode('cpus', { '#address-cells': 1, '#size-cells': 0 }, cpus);
}

function psciNode(): FdtNode {
  return fdtNode('psci', {
    compatible: ['arm,psci-1.0', 'arm,psci-0.2', 'arm,psci'],
    method: 'hvc',
    cpu_off: 1, // PSCI 0.1 function IDs as Xen numbers them (PSCI_cpu_off / PSCI_cpu_on)
    cpu_on: 2,
  });
}

function memoryNode(cfg: XenDtConfig): FdtNode {
  return fdtNode(`memory@${hex(XEN_GUEST.RAM0)}`, { device_type: 'memory', reg: reg64(XEN_GUEST.RAM0, cfg.memSize) });
}

function gicReg(cfg: XenDtConfig): number[] {
  return cfg.gic === 3
    ? [...reg64(XEN_GUEST.GICD, XEN_GUEST.GICD_SIZE_V3), ...reg64(XEN_GUEST.GICR, XEN_GUEST.GICR_SIZE)]
    : [...reg64(XEN_GUEST.GICD, XEN_GUEST.GICD_SIZE_V2), ...reg64(XEN_GUEST.GICC, XEN_GUEST.GICC_SIZE)];
}

function xlGicNode(cfg: XenDtConfig): FdtNode {
  if (cfg.gic === 3) {
    return fdtNode(`interrupt-controller@${hex(XEN_GUEST.GICD)}`, {
      compatible: 'arm,gic-v3',
      '#interrupt-cells': 3,
      '#address-cells': 0,
      'interrupt-controller': true,
      '#redistributor-regions': 1,
      reg: gicReg(cfg),
      phandle: XEN_GUEST.PHANDLE_GIC,
    });
  }
  return fdtNode(`interrupt-controller@${hex(XEN_GUEST.GICD)}`, {
    compatible: 'arm,cortex-a15-gic',
    '#interrupt-cells': 3,
    '#address-cells': 0,
    'interrupt-controller': true,
    reg: gicReg(cfg),
    phandle: XEN_GUEST.PHANDLE_GIC,
  });
}

/** The generic timer as both builders describe it: three PPIs, no hypervisor timer. */
function timerNode(): FdtNode {
  return fdtNode('timer', {
    compatible: 'arm,armv8-timer',
    interrupts: TIMER_PPIS.flatMap((ppi) => [GIC_PPI, ppi, PPI_FLAGS]),
    'interrupt-parent': XEN_GUEST.PHANDLE_GIC,
  });
}

function xlHypervisorNode(v: { major: number; minor: number }, memSize: number): FdtNode {
  return fdtNode('hypervisor', {
    compatible: [`xen,xen-${v.major}.${v.minor}`, 'xen,xen'],
    reg: hypervisorReg(memSize),
    interrupts: [GIC_PPI, XEN_GUEST.EVTCHN_PPI - 16, PPI_FLAGS],
    'interrupt-parent': XEN_GUEST.PHANDLE_GIC,
  });
}

function sbsaNode(): FdtNode {
  return fdtNode(`sbsa-uart@${hex(XEN_GUEST.VPL011)}`, {
    compatible: 'arm,sbsa-uart',
    reg: reg64(XEN_GUEST.VPL011, XEN_GUEST.VPL011_SIZE),
    interrupts: [GIC_SPI, XEN_GUEST.VPL011_SPI - 32, IRQ_LEVEL_HIGH],
    'interrupt-parent': XEN_GUEST.PHANDLE_GIC,
    'current-speed': 115200,
  });
}

/** The vUART as a hand-written DT describes it: a full PL011 with an APB clock. */
function pl011Nodes(): FdtNode[] {
  const clk = 65001;
  return [
    fdtNode('apb-pclk', {
      compatible: 'fixed-clock',
      '#clock-cells': 0,
      'clock-frequency': XEN_GUEST.CLOCK_HZ,
      'clock-output-names': 'clk24mhz',
      phandle: clk,
    }),
    fdtNode(`pl011@${hex(XEN_GUEST.VPL011)}`, {
      compatible: ['arm,pl011', 'arm,primecell'],
      reg: reg64(XEN_GUEST.VPL011, XEN_GUEST.VPL011_SIZE),
      interrupts: [GIC_SPI, XEN_GUEST.VPL011_SPI - 32, IRQ_LEVEL_HIGH],
      'interrupt-parent': XEN_GUEST.PHANDLE_GIC,
      clocks: [clk, clk],
      'clock-names': ['uartclk', 'apb_pclk'],
    }),
  ];
}

// ---- dom0less (Xen's own builder) -----------------------------------------------------------

/** The CPU compatible Xen copies from the host's /cpus node: the Cortex-A57 the MIDR names. */
const DOM0LESS_CPU_COMPATIBLE = 'arm,cortex-a57';

function dom0lessTree(cfg: XenDtConfig): FdtNode {
  const v = cfg.version ?? { major: 4, minor: 17 };
  // Placeholders filled with the ramdisk's place, 0 and 0 when there is none.
  const chosen: Record<string, PropValue> = {};
  if (cfg.bootargs !== undefined) chosen.bootargs = cfg.bootargs;
  chosen['linux,initrd-start'] = [...cells64(cfg.initrd?.start ?? 0)];
  chosen['linux,initrd-end'] = [...cells64(cfg.initrd?.end ?? 0)];
  const cpus: FdtNode[] = [];
  for (let i = 0; i < cfg.smp; i++) {
    const aff = cfg.affinity(i);
    cpus.push(fdtNode(`cpu@${hex(aff)}`, { compatible: DOM0LESS_CPU_COMPATIBLE, device_type: 'cpu', reg: aff, 'enable-method': 'psci' }));
  }
  const children: FdtNode[] = [
    fdtNode('chosen', chosen),
    psciNode(),
    fdtNode('cpus', { '#address-cells': 1, '#size-cells': 0 }, cpus),
    memoryNode(cfg),
    fdtNode(`interrupt-controller@${hex(XEN_GUEST.GICD)}`, {
      '#address-cells': 0,
      '#interrupt-cells': 3,
      'interrupt-controller': true,
      compatible: cfg.gic === 3 ? 'arm,gic-v3' : 'arm,gic-400',
      reg: gicReg(cfg),
      'linux,phandle': XEN_GUEST.PHANDLE_GIC,
      phandle: XEN_GUEST.PHANDLE_GIC,
    }),
    timerNode(),
  ];
  const vuart = cfg.vuart ?? 'none';
  if (vuart === 'sbsa') {
    children.push(
      fdtNode(`sbsa-uart@${hex(XEN_GUEST.VPL011)}`, {
        compatible: 'arm,sbsa-uart',
        reg: reg64(XEN_GUEST.VPL011, XEN_GUEST.VPL011_SIZE),
        interrupts: [GIC_SPI, XEN_GUEST.VPL011_SPI - 32, (0xf << 8) | IRQ_LEVEL_HIGH],
        'interrupt-parent': XEN_GUEST.PHANDLE_GIC,
        'current-speed': 115200,
      }),
    );
  }
  if (vuart === 'pl011') children.push(...pl011Nodes());
  children.push(
    fdtNode('hypervisor', {
      compatible: [`xen,xen-${v.major}.${v.minor}`, 'xen,xen'],
      reg: hypervisorReg(cfg.memSize),
      interrupts: [GIC_PPI, XEN_GUEST.EVTCHN_PPI - 16, PPI_FLAGS],
      'interrupt-parent': XEN_GUEST.PHANDLE_GIC,
    }),
  );
  return fdtNode('', { '#address-cells': 2, '#size-cells': 2 }, children);
}
