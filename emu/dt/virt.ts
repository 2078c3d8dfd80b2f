// The kvm personality's device tree, in the form QEMU 7.2's virt machine generates it
// (hw/arm/virt.c create_fdt/fdt_add_*; hw/arm/boot.c for /chosen): same node names, property
// names, values, phandle numbering and node/property order as `-M virt,dumpdtb=` for the
// devices we model. Nodes for devices we do not model (flash and fw-cfg without --bios,
// platform bus, PMU) and the random /chosen seeds (kaslr-seed forces KPTI;
// rng-seed would be host randomness) are left out on purpose; /aliases/serial0 is added as
// newer QEMU versions do. docs/emulator-platform.md lists every difference.

import { buildFdt, cells64, fdtNode, type FdtNode, type PropValue } from '../../arch/fdt.ts';

export interface VirtDtConfig {
  smp: number;
  memBase: number;
  memSize: number;
  gic: 2 | 3;
  /** GICv3 redistributor region size as QEMU describes it (0xF60000 for the low region). */
  redistSize?: number;
  cpuCompatible?: string;
  psciMethod?: 'hvc' | 'smc';
  bootargs?: string;
  initrd?: { start: number; end: number };
  /** MPIDR affinity (DT cpu `reg`) of each vCPU. */
  affinity?: (cpu: number) => number;
  /** Number of virtio-mmio transports (QEMU: 32). */
  virtioCount?: number;
  /** Add /aliases/serial0 (default true). */
  aliases?: boolean;
  /** Pad the blob to this size (QEMU's virt DTB is 1 MiB, which the kernel reserves whole). */
  padTo?: number;
  /** Describe the PCIe host (default true, as QEMU virt always has one). */
  pcie?: boolean;
  /** GICv2: describe the GICv2m MSI frame (QEMU always has one) and point the PCIe host's msi-map at it. */
  v2m?: boolean;
  /** GICv3: describe the ITS (QEMU's default its=on) and point the PCIe host's msi-map at it. */
  its?: boolean;
  /** Describe the PL061 GPIO and the power button on its line 3 (gpio-keys), as QEMU virt does (default true). */
  gpio?: boolean;
  /** --bios: describe fw-cfg and the two flash banks, as QEMU virt always does (the firmware needs both). */
  firmware?: boolean;
}

export const VIRT = {
  GIC_DIST: 0x08000000,
  GIC_CPU: 0x08010000,
  GIC_REDIST: 0x080a0000,
  GIC_REDIST_SIZE: 0xf60000,
  GIC_V2M: 0x08020000,
  GIC_ITS: 0x08080000,
  GIC_ITS_SIZE: 0x20000,
  UART: 0x09000000,
  RTC: 0x09010000,
  GPIO: 0x09030000,
  GPIO_SPI: 7,
  FW_CFG: 0x09020000,
  FW_CFG_SIZE: 0x18,
  FLASH: 0x0,
  FLASH_BANK_SIZE: 0x4000000,
  /** Stolen-time records (QEMU's VIRT_PVTIME, plain memory; no DT node). */
  PVTIME: 0x090a0000,
  PVTIME_SIZE: 0x10000,
  VIRTIO: 0x0a000000,
  VIRTIO_SIZE: 0x200,
  MEM: 0x40000000,
  UART_SPI: 1,
  RTC_SPI: 2,
  VIRTIO_SPI: 16,
  CLOCK_HZ: 24000000,
  PCIE_ECAM: 0x40_1000_0000,
  PCIE_ECAM_SIZE: 0x1000_0000,
  PCIE_MMIO: 0x1000_0000,
  PCIE_MMIO_SIZE: 0x2eff_0000,
  PCIE_PIO: 0x3eff_0000,
  PCIE_PIO_SIZE: 0x1_0000,
  PCIE_MMIO_HIGH: 0x80_0000_0000,
  PCIE_MMIO_HIGH_SIZE: 0x80_0000_0000,
  PCIE_IRQ_SPI: 3,
} as const;

const IRQ_TYPE_EDGE_RISING = 1;
const IRQ_TYPE_LEVEL_HIGH = 4;
const GIC_FDT_IRQ_TYPE_SPI = 0;
const GIC_FDT_IRQ_TYPE_PPI = 1;

const hex = (n: number): string => n.toString(16);
const reg64 = (base: number, size: number): number[] => [...cells64(base), ...cells64(size)];

/** The DTB QEMU's virt machine would hand the kernel, for our modelled devices. */
export function buildVirtDtb(cfg: VirtDtConfig): Uint8Array {
  return buildFdt(virtTree(cfg), cfg.padTo ? { padTo: cfg.padTo } : {});
}

export function virtTree(cfg: VirtDtConfig): FdtNode {
  const smp = cfg.smp;
  const affinity = cfg.affinity ?? ((c: number) => c);
  // QEMU's phandle allocation: the clock first, then the CPUs (highest index first), then the GIC.
  const clockPhandle = 0x8000;
  const cpuPhandle = (i: number) => 0x8000 + smp - i;
  const gicPhandle = 0x8000 + smp + 1;

  const children: FdtNode[] = [];
  children.push(
    fdtNode('psci', {
      migrate: 0xc4000005,
      cpu_on: 0xc4000003,
      cpu_off: 0x84000002,
      cpu_suspend: 0xc4000001,
      method: cfg.psciMethod ?? 'hvc',
      compatible: ['arm,psci-1.0', 'arm,psci-0.2', 'arm,psci'],
    }),
  );
  children.push(fdtNode(`memory@${hex(cfg.memBase)}`, { reg: reg64(cfg.memBase, cfg.memSize), device_type: 'memory' }));
  if (cfg.firmware) {
    children.push(
      fdtNode(`fw-cfg@${hex(VIRT.FW_CFG)}`, {
        'dma-coherent': true,
        reg: reg64(VIRT.FW_CFG, VIRT.FW_CFG_SIZE),
        compatible: 'qemu,fw-cfg-mmio',
      }),
    );
  }
  // QEMU adds the virtio transports from the highest address down, so the blob lists them ascending.
  const nVirtio = cfg.virtioCount ?? 32;
  for (let i = 0; i < nVirtio; i++) {
    const base = VIRT.VIRTIO + i * VIRT.VIRTIO_SIZE;
    children.push(
      fdtNode(`virtio_mmio@${hex(base)}`, {
        'dma-coherent': true,
        interrupts: [GIC_FDT_IRQ_TYPE_SPI, VIRT.VIRTIO_SPI + i, IRQ_TYPE_EDGE_RISING],
        reg: reg64(base, VIRT.VIRTIO_SIZE),
        compatible: 'virtio,mmio',
      }),
    );
  }
  // QEMU numbers the MSI frame right after the GIC, then the GPIO controller.
  const v2m = cfg.gic === 2 && (cfg.v2m ?? false);
  const its = cfg.gic === 3 && (cfg.its ?? false);
  // QEMU numbers the GPIO controller after the GIC's MSI frame (GICv2m or ITS).
  if (cfg.gpio ?? true) children.push(...gpioNodes(gicPhandle + 1 + (v2m || its ? 1 : 0), clockPhandle));
  if (cfg.pcie ?? true) children.push(pcieNode(gicPhandle, v2m || its ? gicPhandle + 1 : undefined));
  children.push(
    fdtNode(`pl031@${hex(VIRT.RTC)}`, {
      'clock-names': 'apb_pclk',
      clocks: clockPhandle,
      interrupts: [GIC_FDT_IRQ_TYPE_SPI, VIRT.RTC_SPI, IRQ_TYPE_LEVEL_HIGH],
      reg: reg64(VIRT.RTC, 0x1000),
      compatible: ['arm,pl031', 'arm,primecell'],
    }),
  );
  children.push(
    fdtNode(`pl011@${hex(VIRT.UART)}`, {
      'clock-names': ['uartclk', 'apb_pclk'],
      clocks: [clockPhandle, clockPhandle],
      interrupts: [GIC_FDT_IRQ_TYPE_SPI, VIRT.UART_SPI, IRQ_TYPE_LEVEL_HIGH],
      reg: reg64(VIRT.UART, 0x1000),
      compatible: ['arm,pl011', 'arm,primecell'],
    }),
  );
  children.push(gicNode(cfg, gicPhandle, v2m || its));
  if (cfg.firmware) {
    const bank = VIRT.FLASH_BANK_SIZE;
    children.push(
      fdtNode('flash@0', {
        'bank-width': 4,
        reg: [...reg64(VIRT.FLASH, bank), ...reg64(VIRT.FLASH + bank, bank)],
        compatible: 'cfi-flash',
      }),
    );
  }
  children.push(cpusNode(smp, affinity, cpuPhandle, cfg.cpuCompatible ?? 'arm,cortex-a57'));
  // GICv2 PPI specifiers carry the CPU mask in bits [15:8].
  const ppiFlags = cfg.gic === 2 ? (((1 << smp) - 1) << 8) | IRQ_TYPE_LEVEL_HIGH : IRQ_TYPE_LEVEL_HIGH;
  children.push(
    fdtNode('timer', {
      interrupts: [13, 14, 11, 10].flatMap((ppi) => [GIC_FDT_IRQ_TYPE_PPI, ppi, ppiFlags]),
      'always-on': true,
      compatible: ['arm,armv8-timer', 'arm,armv7-timer'],
    }),
  );
  children.push(
    fdtNode('apb-pclk', {
      phandle: clockPhandle,
      'clock-output-names': 'clk24mhz',
      'clock-frequency': VIRT.CLOCK_HZ,
      '#clock-cells': 0,
      compatible: 'fixed-clock',
    }),
  );
  if (cfg.aliases ?? true) children.push(fdtNode('aliases', { serial0: `/pl011@${hex(VIRT.UART)}` }));
  children.push(chosenNode(cfg));

  return fdtNode(
    '',
    {
      'interrupt-parent': gicPhandle,
      model: 'linux,dummy-virt',
      '#size-cells': 2,
      '#address-cells': 2,
      compatible: 'linux,dummy-virt',
    },
    children,
  );
}

/**
 * QEMU virt's PL061 and the power button wired to its line 3 (Linux bindings gpio/pl061-gpio and
 * input/gpio-keys: KEY_POWER = 116, active high).
 */
function gpioNodes(phandle: number, clockPhandle: number): FdtNode[] {
  return [
    fdtNode('gpio-keys', { compatible: 'gpio-keys' }, [
      fdtNode('poweroff', { gpios: [phandle, 3, 0], 'linux,code': 116, label: 'GPIO Key Poweroff' }),
    ]),
    fdtNode(`pl061@${hex(VIRT.GPIO)}`, {
      phandle,
      'clock-names': 'apb_pclk',
      clocks: clockPhandle,
      interrupts: [GIC_FDT_IRQ_TYPE_SPI, VIRT.GPIO_SPI, IRQ_TYPE_LEVEL_HIGH],
      'gpio-controller': true,
      '#gpio-cells': 2,
      compatible: ['arm,pl061', 'arm,primecell'],
      reg: reg64(VIRT.GPIO, 0x1000),
    }),
  ];
}

/**
 * The generic ECAM host (Linux binding pci-host-ecam-generic; the PCI bus binding's `ranges`
 * and `interrupt-map`): I/O, 32-bit and 64-bit memory windows, and INTx of slots 0-3 swizzled
 * onto SPIs 3-6, which the mask 0x1800 repeats for every fourth slot.
 */
function pcieNode(gicPhandle: number, msiPhandle: number | undefined): FdtNode {
  const map: number[] = [];
  for (let slot = 0; slot < 4; slot++) {
    for (let pin = 1; pin <= 4; pin++) {
      const spi = VIRT.PCIE_IRQ_SPI + ((slot + pin - 1) % 4);
      map.push(slot << 11, 0, 0, pin, gicPhandle, 0, 0, GIC_FDT_IRQ_TYPE_SPI, spi, IRQ_TYPE_LEVEL_HIGH);
    }
  }
  const PCI_IO = 0x1000000,
    PCI_MEM32 = 0x2000000,
    PCI_MEM64 = 0x3000000;
  const props: Record<string, PropValue> = {
    'interrupt-map-mask': [0x1800, 0, 0, 7],
    'interrupt-map': map,
    '#interrupt-cells': 1,
    ranges: [
      PCI_IO,
      0,
      0,
      ...cells64(VIRT.PCIE_PIO),
      ...cells64(VIRT.PCIE_PIO_SIZE),
      PCI_MEM32,
      ...cells64(VIRT.PCIE_MMIO),
      ...cells64(VIRT.PCIE_MMIO),
      ...cells64(VIRT.PCIE_MMIO_SIZE),
      PCI_MEM64,
      ...cells64(VIRT.PCIE_MMIO_HIGH),
      ...cells64(VIRT.PCIE_MMIO_HIGH),
      ...cells64(VIRT.PCIE_MMIO_HIGH_SIZE),
    ],
    reg: reg64(VIRT.PCIE_ECAM, VIRT.PCIE_ECAM_SIZE),
  };
  if (msiPhandle !== undefined) props['msi-map'] = [0, msiPhandle, 0, 0x10000];
  props['dma-coherent'] = true;
  props['bus-range'] = [0, 0xff];
  props['linux,pci-domain'] = 0;
  props['#size-cells'] = 2;
  props['#address-cells'] = 3;
  props.device_type = 'pci';
  props.compatible = 'pci-host-ecam-generic';
  return fdtNode(`pcie@${hex(VIRT.PCIE_MMIO)}`, props);
}

function gicNode(cfg: VirtDtConfig, phandle: number, msi = false): FdtNode {
  if (cfg.gic === 3) {
    // QEMU's create_its: the ITS is a child of the GIC node, numbered right after it.
    const its = msi
      ? [
          fdtNode(`its@${hex(VIRT.GIC_ITS)}`, {
            phandle: phandle + 1,
            reg: reg64(VIRT.GIC_ITS, VIRT.GIC_ITS_SIZE),
            '#msi-cells': 1,
            'msi-controller': true,
            compatible: 'arm,gic-v3-its',
          }),
        ]
      : [];
    return fdtNode(
      `intc@${hex(VIRT.GIC_DIST)}`,
      {
        phandle,
        reg: [...reg64(VIRT.GIC_DIST, 0x10000), ...reg64(VIRT.GIC_REDIST, cfg.redistSize ?? VIRT.GIC_REDIST_SIZE)],
        '#redistributor-regions': 1,
        compatible: 'arm,gic-v3',
        ranges: true,
        '#size-cells': 2,
        '#address-cells': 2,
        'interrupt-controller': true,
        '#interrupt-cells': 3,
      },
      its,
    );
  }
  const frames = msi
    ? [
        fdtNode(`v2m@${hex(VIRT.GIC_V2M)}`, {
          phandle: phandle + 1,
          reg: reg64(VIRT.GIC_V2M, 0x1000),
          'msi-controller': true,
          compatible: 'arm,gic-v2m-frame',
        }),
      ]
    : [];
  return fdtNode(
    `intc@${hex(VIRT.GIC_DIST)}`,
    {
      phandle,
      reg: [...reg64(VIRT.GIC_DIST, 0x10000), ...reg64(VIRT.GIC_CPU, 0x10000)],
      compatible: 'arm,cortex-a15-gic',
      ranges: true,
      '#size-cells': 2,
      '#address-cells': 2,
      'interrupt-controller': true,
      '#interrupt-cells': 3,
    },
    frames,
  );
}

function cpusNode(smp: number, affinity: (c: number) => number, phandleOf: (c: number) => number, compatible: string): FdtNode {
  // cpu-map: one socket, one cluster, a core per vCPU (QEMU 7.2 lists cores in reverse creation order).
  const cores: FdtNode[] = [];
  for (let i = 0; i < smp; i++) cores.push(fdtNode(`core${i}`, { cpu: phandleOf(i) }));
  const cpuMap = fdtNode('cpu-map', {}, [fdtNode('socket0', {}, [fdtNode('cluster0', {}, cores)])]);
  const cpus: FdtNode[] = [];
  for (let i = 0; i < smp; i++) {
    const aff = affinity(i);
    const props: Record<string, PropValue> = { phandle: phandleOf(i) };
    // #address-cells is 1 unless an affinity needs Aff3 (then QEMU uses 2).
    props.reg = aff > 0xffffffff ? [...cells64(aff)] : aff;
    if (smp > 1) props['enable-method'] = 'psci';
    props.compatible = compatible;
    props.device_type = 'cpu';
    cpus.push(fdtNode(`cpu@${hex(aff)}`, props));
  }
  const wide = Array.from({ length: smp }, (_, i) => affinity(i)).some((a) => a > 0xffffffff);
  return fdtNode('cpus', { '#size-cells': 0, '#address-cells': wide ? 2 : 1 }, [cpuMap, ...cpus]);
}

function chosenNode(cfg: VirtDtConfig): FdtNode {
  const props: Record<string, PropValue> = {};
  if (cfg.initrd) {
    props['linux,initrd-end'] = addrCells(cfg.initrd.end);
    props['linux,initrd-start'] = addrCells(cfg.initrd.start);
  }
  if (cfg.bootargs !== undefined) props.bootargs = cfg.bootargs;
  props['stdout-path'] = `/pl011@${hex(VIRT.UART)}`;
  return fdtNode('chosen', props);
}

function addrCells(v: number): number | number[] {
  return v > 0xffffffff ? [...cells64(v)] : v;
}
