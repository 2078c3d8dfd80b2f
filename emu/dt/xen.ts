// The xen personality's device tree: what Xen 4.17's toolstack (tools/libs/light/libxl_arm.c,
// libxl__prepare_dtb) writes for an arm64 domU: root `xen,xenvm`, /chosen, /cpus (vMPIDR
// affinity, enable-method psci), /psci (1.0/0.2/0.1 compatibles, method hvc, PSCI 0.1 IDs
// cpu_off = 1, cpu_on = 2), /memory, the GIC (v2 or v3) at the GUEST_GIC* addresses, /timer
// (level-low PPIs with the CPU mask 0xf), /hypervisor (grant-table region, event-channel PPI 31)
// and, with a vUART, `sbsa-uart@22000000`. No PL011, PL031 or virtio nodes: a domU has none.
// `uartDt: 'pl011'` re-describes the vUART as hand-written device trees do (arm,pl011 +
// arm,primecell with an apb_pclk clock), so Linux's AMBA bus reads its (zero) ID registers.
// Xen's xen/include/public/arch-arm.h (guest memory map) and libxl_arm.c; docs/xen.md.

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
  EVTCHN_PPI: 31,
  /** libxl's GUEST_PHANDLE_GIC. */
  PHANDLE_GIC: 65000,
  CLOCK_HZ: 24000000,
} as const;

/** Magic page offsets in GUEST_MAGIC (xg_dom_arm.c): console, xenstore, memaccess, vuart. */
export const MAGIC_PAGE = { CONSOLE: 0, XENSTORE: 1, MEMACCESS: 2, VUART: 3 } as const;

export interface XenDtConfig {
  smp: number;
  memSize: number;
  gic: 2 | 3;
  /** Xen version in /hypervisor's compatible (default 4.17). */
  version?: { major: number; minor: number };
  /** vUART node: 'sbsa' (libxl's), 'pl011' (hand-written misdescription), or none. */
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
/** libxl gives PPIs the CPU mask 0xf and level-low triggering: <1 n 0xf08>. */
const PPI_FLAGS = (0xf << 8) | IRQ_LEVEL_LOW;

const hex = (n: number): string => n.toString(16);
const reg64 = (base: number, size: number): number[] => [...cells64(base), ...cells64(size)];

export function buildXenDtb(cfg: XenDtConfig): Uint8Array {
  return buildFdt(xenTree(cfg));
}

export function xenTree(cfg: XenDtConfig): FdtNode {
  const v = cfg.version ?? { major: 4, minor: 17 };
  const children: FdtNode[] = [chosenNode(cfg), cpusNode(cfg), psciNode(), memoryNode(cfg), gicNode(cfg), timerNode(), hypervisorNode(v)];
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

function chosenNode(cfg: XenDtConfig): FdtNode {
  const props: Record<string, PropValue> = {};
  if (cfg.bootargs !== undefined) props.bootargs = cfg.bootargs;
  if (cfg.initrd) {
    props['linux,initrd-start'] = [...cells64(cfg.initrd.start)];
    props['linux,initrd-end'] = [...cells64(cfg.initrd.end)];
  }
  return fdtNode('chosen', props);
}

function cpusNode(cfg: XenDtConfig): FdtNode {
  const cpus: FdtNode[] = [];
  for (let i = 0; i < cfg.smp; i++) {
    const aff = cfg.affinity(i);
    cpus.push(fdtNode(`cpu@${hex(aff)}`, { device_type: 'cpu', compatible: 'arm,armv8', 'enable-method': 'psci', reg: aff }));
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

function gicNode(cfg: XenDtConfig): FdtNode {
  if (cfg.gic === 3) {
    return fdtNode(`interrupt-controller@${hex(XEN_GUEST.GICD)}`, {
      compatible: 'arm,gic-v3',
      '#interrupt-cells': 3,
      '#address-cells': 0,
      'interrupt-controller': true,
      '#redistributor-regions': 1,
      reg: [...reg64(XEN_GUEST.GICD, XEN_GUEST.GICD_SIZE_V3), ...reg64(XEN_GUEST.GICR, XEN_GUEST.GICR_SIZE)],
      phandle: XEN_GUEST.PHANDLE_GIC,
    });
  }
  return fdtNode(`interrupt-controller@${hex(XEN_GUEST.GICD)}`, {
    compatible: 'arm,cortex-a15-gic',
    '#interrupt-cells': 3,
    '#address-cells': 0,
    'interrupt-controller': true,
    reg: [...reg64(XEN_GUEST.GICD, XEN_GUEST.GICD_SIZE_V2), ...reg64(XEN_GUEST.GICC, XEN_GUEST.GICC_SIZE)],
    phandle: XEN_GUEST.PHANDLE_GIC,
  });
}

function timerNode(): FdtNode {
  // secure phys 29, non-secure phys 30, virt 27, hyp 26 (as PPI numbers 13, 14, 11, 10)
  return fdtNode('timer', {
    compatible: 'arm,armv8-timer',
    interrupts: [13, 14, 11, 10].flatMap((ppi) => [GIC_PPI, ppi, PPI_FLAGS]),
    'interrupt-parent': XEN_GUEST.PHANDLE_GIC,
  });
}

function hypervisorNode(v: { major: number; minor: number }): FdtNode {
  return fdtNode('hypervisor', {
    compatible: [`xen,xen-${v.major}.${v.minor}`, 'xen,xen'],
    // entry 0: the grant-table region (no extended regions are advertised)
    reg: reg64(XEN_GUEST.GNTTAB, XEN_GUEST.GNTTAB_SIZE),
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
