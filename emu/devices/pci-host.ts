// The PCIe host of QEMU 7.2's virt machine ("gpex", DT compatible pci-host-ecam-generic): the
// ECAM window (PCI Express Base Specification 5.0 §7.2.2), the host bridge at 00:00.0 (1b36:0008,
// class 0x060000, no capabilities), the MMIO and I/O windows through which the functions' BARs
// answer, and INTx routing onto four level SPIs.
//
// Only bus 0 exists (no bridges): configuration accesses to any other bus, to an empty slot or to
// a function that is not there read all-ones and ignore writes, as a PCI host reports a master
// abort on a configuration read. Each access is recorded twice: as the ECAM MMIO access (by the
// bus) and, decoded, as a pci_config event. BAR accesses are MMIO events of the window, named by
// the function and register (device 'virtio-blk@00:02.0', register 'BAR4+0x3000 notify').
//
// INTx: a function in slot s asserting pin p (1 = INTA) drives SPI 3 + ((s + p − 1) mod 4), the
// swizzle QEMU's interrupt-map describes (PCI-to-PCI Bridge Architecture Specification 1.2
// §9.1). Several functions may share an SPI: the line is the OR of their levels.

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { bdfName, ecamDecode, PCI_CFG } from '../../arch/regmaps/pci.ts';
import type { DeviceEnv, InterruptController } from './irq.ts';
import { PciFunction, type BarHandler } from './pci-function.ts';
import type { MmioDevice } from '../types.ts';
import { region } from '../types.ts';

/** QEMU 7.2 virt's PCIe layout (hw/arm/virt.c base_memmap and its high-memory map). */
export const VIRT_PCIE = {
  ECAM: 0x40_1000_0000,
  ECAM_SIZE: 0x1000_0000,
  MMIO: 0x1000_0000,
  MMIO_SIZE: 0x2eff_0000,
  PIO: 0x3eff_0000,
  PIO_SIZE: 0x1_0000,
  MMIO_HIGH: 0x80_0000_0000,
  MMIO_HIGH_SIZE: 0x80_0000_0000,
  /** INTA..INTD of slot 0 go to SPIs 3..6 (INTIDs 35..38). */
  IRQ_SPI: 3,
} as const;

const named = (model: string, base: number, size: number): DeviceRegion =>
  region(`${model}@${base.toString(16)}`, model, 'pcie', base, size);

/** The SPI (not INTID) slot `dev`'s pin `pin` (1..4) is wired to. */
export const intxSpi = (dev: number, pin: number): number => VIRT_PCIE.IRQ_SPI + ((dev + pin - 1) % 4);

/** The host bridge: a function with no BARs and no capabilities (QEMU's gpex-root). */
export class HostBridge extends PciFunction {
  constructor() {
    super('pcie-host@00:00.0', 'gpex-root', 0, 0, {
      vendorId: 0x1b36,
      deviceId: 0x0008,
      revision: 0,
      classCode: 0x060000,
      subsystemVendorId: 0x1af4,
      subsystemId: 0x1100,
      interruptPin: 0,
    });
  }

  barHandler(): BarHandler | undefined {
    return undefined;
  }
}

export interface PciHostOptions {
  irq: InterruptController;
  env: DeviceEnv;
}

export class PciHost {
  readonly functions: PciFunction[] = [];
  private readonly bySlot = new Map<number, PciFunction>();
  private readonly irq: InterruptController;
  private readonly env: DeviceEnv;
  /** Asserted functions per SPI (the line is high while any is). */
  private readonly intxCount = new Map<number, number>();
  readonly ecam: EcamDevice;
  readonly windows: PciWindow[];

  constructor(opts: PciHostOptions) {
    this.irq = opts.irq;
    this.env = opts.env;
    this.ecam = new EcamDevice(this);
    this.windows = [
      new PciWindow(this, named('pcie-mmio', VIRT_PCIE.MMIO, VIRT_PCIE.MMIO_SIZE), 'mem', VIRT_PCIE.MMIO),
      new PciWindow(this, named('pcie-pio', VIRT_PCIE.PIO, VIRT_PCIE.PIO_SIZE), 'io', 0),
      new PciWindow(this, named('pcie-mmio-high', VIRT_PCIE.MMIO_HIGH, VIRT_PCIE.MMIO_HIGH_SIZE), 'mem', VIRT_PCIE.MMIO_HIGH),
    ];
    this.plug(new HostBridge());
  }

  /**
   * Where MSI writes go (the GICv2m frame's doorbell or the ITS's GITS_TRANSLATER; the machine sets
   * it): returns the INTID raised, or 0 when the address is no doorbell. `requesterId` is the
   * sender's bus/device/function (the ITS DeviceID through msi-map's identity mapping). `dryRun`
   * only says which INTID it would be.
   */
  msiTarget: ((addr: number, data: number, source: string, dryRun: boolean, requesterId: number) => number) | undefined;

  /** A function's MSI write: recorded as an msi event, then delivered. Returns the INTID (0: none). */
  sendMsi(f: PciFunction, addr: number, data: number, vcpu: number): number {
    const rid = requesterId(f);
    const intid = this.msiTarget ? this.msiTarget(addr, data, f.name, true, rid) : 0;
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'msi', time: this.env.now(), vcpu, device: f.name, addr, msi_data: data >>> 0, intid });
    return this.msiTarget ? this.msiTarget(addr, data, f.name, false, rid) : 0;
  }

  /** The INTID an MSI from `f` would raise, without sending it. */
  msiIntid(addr: number, data: number, f?: PciFunction): number {
    return this.msiTarget ? this.msiTarget(addr, data, '', true, f ? requesterId(f) : 0) : 0;
  }

  /** MMIO devices for the machine bus: the ECAM and the three windows. */
  get devices(): MmioDevice[] {
    return [this.ecam, ...this.windows];
  }

  /** Regions for the trace: the ECAM, the windows and one (address-less) entry per function. */
  regions(): DeviceRegion[] {
    return [
      this.ecam.region,
      ...this.windows.map((w) => w.region),
      // Functions have no fixed address (the guest assigns their BARs): base and size 0.
      ...this.functions.map((f) =>
        region(
          f.name,
          f.model,
          f.model === 'gpex-root' ? 'pcie' : 'virtio',
          0,
          0,
          f.config[PCI_CFG.INTERRUPT_PIN] ? { intid: 32 + intxSpi(f.dev, f.config[PCI_CFG.INTERRUPT_PIN]!) } : {},
        ),
      ),
    ];
  }

  plug(f: PciFunction): void {
    const key = f.dev * 8 + f.fn;
    if (this.bySlot.has(key)) throw new RangeError(`PCI slot ${f.bdf} is taken`);
    this.bySlot.set(key, f);
    this.functions.push(f);
    f.intxSink = (fn, level) => this.setIntx(fn, level);
    f.host = this;
  }

  /** The next free slot on bus 0 (QEMU's automatic addressing: slots in creation order). */
  nextSlot(): number {
    for (let d = 1; d < 32; d++) if (!this.bySlot.has(d * 8)) return d;
    throw new RangeError('no free PCI slot on bus 0 (31 devices at most)');
  }

  function(bus: number, dev: number, fn: number): PciFunction | undefined {
    return bus === 0 ? this.bySlot.get(dev * 8 + fn) : undefined;
  }

  private setIntx(f: PciFunction, level: boolean): void {
    const spi = intxSpi(f.dev, f.config[PCI_CFG.INTERRUPT_PIN]!);
    const intid = 32 + spi;
    const r = this.env.recorder;
    if (r.enabled)
      r.record({ kind: 'irq_line', time: this.env.now(), vcpu: -1, intid, level: level ? 1 : 0, trigger: 'level', source: f.name });
    const n = (this.intxCount.get(spi) ?? 0) + (level ? 1 : -1);
    this.intxCount.set(spi, n);
    if (n > 0 !== n - (level ? 1 : -1) > 0) this.irq.setLine(intid, n > 0);
  }

  /** Records a decoded configuration access. */
  recordConfig(
    vcpu: number,
    bus: number,
    dev: number,
    fn: number,
    f: PciFunction | undefined,
    write: boolean,
    reg: number,
    size: number,
    value: number,
  ): void {
    const r = this.env.recorder;
    if (!r.enabled) return;
    r.record({
      kind: 'pci_config',
      time: this.env.now(),
      vcpu,
      bdf: bdfName(bus, dev, fn),
      device: f?.name ?? '',
      write,
      offset: reg,
      size,
      value: BigInt(value >>> 0),
      register: f ? f.configRegisterName(reg) : '',
      bar: f ? f.barOfConfig(reg) : -1,
      outcome: f ? 'handled' : 'absent',
    });
  }

  /** The function and BAR answering a bus address in a space, if any. */
  route(addr: number, space: 'mem' | 'io'): { f: PciFunction; bar: number; offset: number; handler: BarHandler } | undefined {
    for (const f of this.functions) {
      const hit = f.decode(addr, space);
      if (!hit) continue;
      const handler = f.barHandler(hit.bar);
      if (handler) return { f, ...hit, handler };
    }
    return undefined;
  }
}

/** The ECAM window: bus << 20 | device << 15 | function << 12 | register. */
class EcamDevice implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly host: PciHost;

  constructor(host: PciHost) {
    this.host = host;
    this.region = { ...named('pcie-ecam', VIRT_PCIE.ECAM, VIRT_PCIE.ECAM_SIZE), compatible: ['pci-host-ecam-generic'] };
  }

  registerName(offset: number): string {
    const { bus, dev, fn, reg } = ecamDecode(offset);
    const f = this.host.function(bus, dev, fn);
    const name = f ? f.configRegisterName(reg) : '';
    return `${bdfName(bus, dev, fn)}.${name || '0x' + reg.toString(16)}`;
  }

  read(offset: number, size: number, vcpu: number): number {
    const { bus, dev, fn, reg } = ecamDecode(offset);
    const f = this.host.function(bus, dev, fn);
    const mask = size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    // Misaligned accesses are not PCI configuration transactions: all-ones, as for a master abort.
    const v = f && reg % size === 0 ? f.configRead(reg, size) : mask;
    this.host.recordConfig(vcpu, bus, dev, fn, f, false, reg, size, v >>> 0);
    return v >>> 0;
  }

  write(offset: number, size: number, value: number, vcpu: number): void {
    const { bus, dev, fn, reg } = ecamDecode(offset);
    const f = this.host.function(bus, dev, fn);
    const v = size === 4 ? value >>> 0 : value & ((1 << (size * 8)) - 1);
    this.host.recordConfig(vcpu, bus, dev, fn, f, true, reg, size, v);
    if (f && reg % size === 0) f.configWrite(reg, size, v);
  }
}

/**
 * A window of the PCI bus (memory or I/O) as the CPU sees it. Accesses go to the BAR that holds the
 * bus address; where no BAR is, reads return 0 and writes are ignored (QEMU's unassigned PCI
 * memory: under KVM the access completes with no fault).
 */
class PciWindow implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly host: PciHost;
  private readonly space: 'mem' | 'io';
  /** Bus address of the window's first byte (the I/O window starts at port 0). */
  private readonly busBase: number;

  constructor(host: PciHost, r: DeviceRegion, space: 'mem' | 'io', busBase: number) {
    this.host = host;
    this.region = r;
    this.space = space;
    this.busBase = busBase;
  }

  deviceName(offset: number): string {
    return this.host.route(this.busBase + offset, this.space)?.f.name ?? this.region.name;
  }

  registerName(offset: number): string {
    const hit = this.host.route(this.busBase + offset, this.space);
    if (!hit) return '';
    const reg = hit.handler.registerName(hit.offset);
    return `BAR${hit.bar}+0x${hit.offset.toString(16)}${reg ? ' ' + reg : ''}`;
  }

  read(offset: number, size: number, vcpu: number): number {
    const hit = this.host.route(this.busBase + offset, this.space);
    if (!hit) {
      this.lastOutcome = 'raz_wi';
      return 0;
    }
    return hit.handler.read(hit.offset, size, vcpu) >>> 0;
  }

  write(offset: number, size: number, value: number, vcpu: number): void {
    const hit = this.host.route(this.busBase + offset, this.space);
    if (!hit) {
      this.lastOutcome = 'raz_wi';
      return;
    }
    hit.handler.write(hit.offset, size, value, vcpu);
  }
}

/** A function's PCI requester ID on the root bus (bus 0): device << 3 | function. */
export function requesterId(f: PciFunction): number {
  return (f.dev << 3) | f.fn;
}
