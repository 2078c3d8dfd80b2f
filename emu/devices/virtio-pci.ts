// virtio 1.x over PCI, the modern transport (OASIS virtio 1.2 §4.1), with QEMU 7.2's layout for a
// device created with disable-legacy=on: device ID 0x1040 + type, revision 1, subsystem
// 1af4:1100, BAR 4 (64-bit prefetchable, 16 KiB) holding the common configuration (+0x0000), the
// ISR (+0x1000), the device configuration (+0x2000) and the notification area (+0x3000, one
// 4-byte slot per queue), described by vendor capabilities at 0x40 (common), 0x50 (ISR), 0x60
// (device), 0x70 (notify) and 0x84 (PCI configuration access), the list starting at 0x84.
//
// The device model behind it (virtio-blk, -net, -console) implements VirtioBackend: it gets
// notified when the driver kicks a queue and completes requests synchronously, so a run is
// deterministic. Interrupts: INTx (pin A) while the ISR is non-zero; reading the ISR clears it.
// A guest error in a queue (emu/devices/virtqueue.ts) sets DEVICE_NEEDS_RESET and raises a
// configuration-change interrupt (§2.1.2); the queues stop until the driver resets the device.

import { PCI_CAP_ID, PCI_CFG } from '../../arch/regmaps/pci.ts';
import {
  VIRTIO_COMMON as C,
  VIRTIO_F,
  VIRTIO_ISR,
  VIRTIO_MSI_NO_VECTOR,
  VIRTIO_PCI_BAR as BAR,
  VIRTIO_PCI_CAP,
  VIRTIO_PCI_DEVICE_BASE,
  VIRTIO_PCI_VENDOR,
  VIRTIO_STATUS,
  virtioBarRegisterName,
} from '../../arch/regmaps/virtio-pci.ts';
import type { DeviceEnv } from './irq.ts';
import { PciFunction, type BarHandler } from './pci-function.ts';
import { SplitQueue, VirtqError, type GuestMemory } from './virtqueue.ts';

/** What a virtio device model provides to the transport. */
export interface VirtioBackend {
  /** Virtio device type (§5): 1 net, 2 block, 3 console. */
  readonly deviceType: number;
  /** PCI class code (e.g. 0x010000 for a SCSI-class storage controller, as QEMU's virtio-blk-pci). */
  readonly classCode: number;
  /** Device-specific feature bits offered (the transport adds the ring and VERSION_1 bits). */
  readonly features: bigint;
  /** Maximum size of each queue. */
  readonly queueSizes: readonly number[];
  /** Device configuration space (little-endian), read by the driver through the device region. */
  readonly config: Uint8Array;
  /** A driver write to the device configuration (most fields are read-only). */
  writeConfig?(offset: number, size: number, value: number): void;
  /** Called once, before any other call. */
  attach(t: VirtioTransport): void;
  /** The driver made buffers available on queue `q`. */
  notify(q: number): void;
  /** The driver reset the device (status 0). */
  reset(): void;
  /** The driver set FEATURES_OK with its features: false leaves FEATURES_OK clear (the device refuses them). */
  acceptFeatures?(driverFeatures: bigint): boolean;
}

/** What a device model may ask of the transport. */
export interface VirtioTransport {
  readonly name: string;
  readonly memory: GuestMemory;
  readonly env: DeviceEnv;
  readonly queues: readonly SplitQueue[];
  /** Was this feature bit negotiated? */
  negotiated(bit: number): boolean;
  /** Is the device usable (DRIVER_OK and no error)? */
  readonly live: boolean;
  /** The vCPU whose access the device is serving (-1 outside an access), for events. */
  readonly vcpu: number;
  /**
   * Tells the driver about used buffers on queue `q` if it wants to hear (event index or flags).
   * `before` runs first with the INTID that will be signalled (0: the driver suppressed it), so
   * the completions it records come before the interrupt line in the trace.
   */
  signalUsed(q: number, before?: (intid: number) => void): number;
  /** A guest error: stop the device and ask the driver to reset it (DEVICE_NEEDS_RESET). */
  fail(err: VirtqError): void;
}

/** Feature bits every device gets from the transport and the rings (QEMU 7.2's set). */
const TRANSPORT_FEATURES =
  (1n << BigInt(VIRTIO_F.NOTIFY_ON_EMPTY)) |
  (1n << BigInt(VIRTIO_F.ANY_LAYOUT)) |
  (1n << BigInt(VIRTIO_F.RING_INDIRECT_DESC)) |
  (1n << BigInt(VIRTIO_F.RING_EVENT_IDX)) |
  (1n << BigInt(VIRTIO_F.BAD_FEATURE)) |
  (1n << BigInt(VIRTIO_F.VERSION_1)) |
  (1n << BigInt(VIRTIO_F.RING_RESET));

/** Capability offsets in configuration space (QEMU 7.2's). */
const CAP = { COMMON: 0x40, ISR: 0x50, DEVICE: 0x60, NOTIFY: 0x70, PCI_CFG: 0x84, MSIX: 0x98 } as const;

/**
 * MSI-X (PCI Local Bus 3.0 §6.8.2) as QEMU's msix_init_exclusive_bar lays it out: the table (16
 * bytes per vector: address low/high, data, vector control) at BAR 1 + 0, the pending bits at
 * + 0x800, BAR 1 a 32-bit 4 KiB memory BAR.
 */
const MSIX = { BAR: 1, BAR_SIZE: 0x1000, PBA: 0x800, ENTRY: 16, ENABLE: 0x80, MASKALL: 0x40 } as const;

export class VirtioPci extends PciFunction implements VirtioTransport, BarHandler {
  readonly memory: GuestMemory;
  readonly env: DeviceEnv;
  readonly backend: VirtioBackend;
  readonly queues: SplitQueue[];
  private readonly offered: bigint;
  private driverFeatures = 0n;
  private dfSelect = 0;
  private gfSelect = 0;
  private status = 0;
  private isr = 0;
  private queueSelect = 0;
  private configVector = VIRTIO_MSI_NO_VECTOR;
  /** The INTID INTx raises (set by the machine from the slot's swizzle). */
  intxIntid = 0;
  vcpu = -1;

  /** MSI-X vectors (0: no MSI-X capability, as QEMU when the machine has no MSI controller). */
  readonly msixVectors: number;
  private readonly msixTable: Uint8Array;
  private readonly msixPba: Uint8Array;

  constructor(
    name: string,
    model: string,
    dev: number,
    backend: VirtioBackend,
    memory: GuestMemory,
    env: DeviceEnv,
    opts: { msixVectors?: number } = {},
  ) {
    super(name, model, dev, 0, {
      vendorId: VIRTIO_PCI_VENDOR,
      deviceId: VIRTIO_PCI_DEVICE_BASE + backend.deviceType,
      revision: 1,
      classCode: backend.classCode,
      subsystemVendorId: VIRTIO_PCI_VENDOR,
      subsystemId: 0x1100,
      interruptPin: 1,
    });
    this.memory = memory;
    this.env = env;
    this.backend = backend;
    this.offered = backend.features | TRANSPORT_FEATURES;
    this.queues = backend.queueSizes.map((n, i) => new SplitQueue(i, n, memory));
    this.addBar(BAR.INDEX, { size: BAR.SIZE, kind: 'mem64', prefetchable: true });
    this.vendorCap(CAP.COMMON, VIRTIO_PCI_CAP.COMMON, BAR.COMMON, BAR.REGION);
    this.vendorCap(CAP.ISR, VIRTIO_PCI_CAP.ISR, BAR.ISR, BAR.REGION);
    this.vendorCap(CAP.DEVICE, VIRTIO_PCI_CAP.DEVICE, BAR.DEVICE, BAR.REGION);
    this.vendorCap(CAP.NOTIFY, VIRTIO_PCI_CAP.NOTIFY, BAR.NOTIFY, BAR.REGION, 0x14);
    this.set32(CAP.NOTIFY + 16, BAR.NOTIFY_MULTIPLIER);
    // The PCI configuration access capability: bar, offset, length and a data window the driver
    // uses to reach the BAR through configuration space (§4.1.4.9).
    this.vendorCap(CAP.PCI_CFG, VIRTIO_PCI_CAP.PCI_CFG, 0, 0, 0x14);
    this.config[CAP.PCI_CFG + 4] = 0;
    this.setWritable(CAP.PCI_CFG + 4, 1);
    this.setWritable(CAP.PCI_CFG + 8, 8);
    this.setWritable(CAP.PCI_CFG + 16, 4);
    this.msixVectors = opts.msixVectors ?? 0;
    this.msixTable = new Uint8Array(MSIX.ENTRY * this.msixVectors);
    this.msixPba = new Uint8Array(Math.ceil(this.msixVectors / 64) * 8);
    if (this.msixVectors) {
      if (this.msixVectors > 2048) throw new RangeError(`${name}: ${this.msixVectors} MSI-X vectors (2048 at most)`);
      this.addBar(MSIX.BAR, { size: MSIX.BAR_SIZE, kind: 'mem32' });
      this.addCapability(CAP.MSIX, PCI_CAP_ID.MSIX, 12);
      this.set16(CAP.MSIX + 2, this.msixVectors - 1);
      this.setWritable(CAP.MSIX + 3, 1, MSIX.ENABLE | MSIX.MASKALL);
      this.set32(CAP.MSIX + 4, 0 | MSIX.BAR);
      this.set32(CAP.MSIX + 8, MSIX.PBA | MSIX.BAR);
      // Every vector starts masked (vector control bit 0).
      for (let v = 0; v < this.msixVectors; v++) this.msixTable[v * MSIX.ENTRY + 12] = 1;
    }
    backend.attach(this);
  }

  private vendorCap(at: number, type: number, offset: number, length: number, capLen = 0x10): void {
    this.addCapability(at, PCI_CAP_ID.VENDOR, capLen);
    this.config[at + 2] = capLen;
    this.config[at + 3] = type;
    this.config[at + 4] = BAR.INDEX;
    this.set32(at + 8, offset);
    this.set32(at + 12, length);
  }

  barHandler(bar: number): BarHandler | undefined {
    if (bar === BAR.INDEX) return this;
    if (bar === MSIX.BAR && this.msixVectors) return this.msixBar;
    return undefined;
  }

  // ---- MSI-X --------------------------------------------------------------------------------

  private get msixEnabled(): boolean {
    return this.msixVectors > 0 && (this.config[CAP.MSIX + 3]! & MSIX.ENABLE) !== 0;
  }

  private vectorMasked(v: number): boolean {
    return (this.config[CAP.MSIX + 3]! & MSIX.MASKALL) !== 0 || (this.msixTable[v * MSIX.ENTRY + 12]! & 1) !== 0;
  }

  private message(v: number): { addr: number; data: number } {
    const t = this.msixTable,
      o = v * MSIX.ENTRY;
    const rd = (i: number) => (t[o + i]! | (t[o + i + 1]! << 8) | (t[o + i + 2]! << 16) | (t[o + i + 3]! << 24)) >>> 0;
    return { addr: rd(4) * 0x100000000 + rd(0), data: rd(8) };
  }

  /** Sends vector v's message now, or marks it pending while masked. Returns the INTID (0: none yet). */
  private msixNotify(v: number): number {
    if (v >= this.msixVectors) return 0;
    if (this.vectorMasked(v)) {
      this.msixPba[v >> 3]! |= 1 << (v & 7);
      return 0;
    }
    const m = this.message(v);
    return this.host ? this.host.sendMsi(this, m.addr, m.data, this.vcpu) : 0;
  }

  /** A vector was unmasked (or the function mask cleared): send what is pending (§6.8.3.4). */
  private msixUnmasked(): void {
    for (let v = 0; v < this.msixVectors; v++) {
      if (this.msixPba[v >> 3]! & (1 << (v & 7)) && !this.vectorMasked(v)) {
        this.msixPba[v >> 3]! &= ~(1 << (v & 7));
        this.msixNotify(v);
      }
    }
  }

  protected override intxAllowed(): boolean {
    return !this.msixEnabled;
  }

  private readonly msixBar: BarHandler = {
    read: (offset, size) => {
      const src = offset < MSIX.PBA ? this.msixTable : this.msixPba;
      const off = offset < MSIX.PBA ? offset : offset - MSIX.PBA;
      return readLe(src, off, size);
    },
    write: (offset, size, value) => {
      if (offset >= this.msixTable.length) return; // the PBA is read-only
      for (let i = 0; i < size && offset + i < this.msixTable.length; i++) {
        // Vector control: only the mask bit is writable.
        const at = offset + i;
        const b = (value >>> (8 * i)) & 0xff;
        this.msixTable[at] = at % MSIX.ENTRY === 12 ? b & 1 : at % MSIX.ENTRY > 12 ? 0 : b;
      }
      this.msixUnmasked();
    },
    registerName: (offset) => {
      if (offset >= MSIX.PBA) return 'msix_pba';
      const field = [
        'addr_lo',
        'addr_lo',
        'addr_lo',
        'addr_lo',
        'addr_hi',
        'addr_hi',
        'addr_hi',
        'addr_hi',
        'data',
        'data',
        'data',
        'data',
        'vector_ctrl',
        'vector_ctrl',
        'vector_ctrl',
        'vector_ctrl',
      ][offset % MSIX.ENTRY];
      return offset < this.msixTable.length ? `msix_table[${Math.floor(offset / MSIX.ENTRY)}].${field}` : '';
    },
  };

  get live(): boolean {
    return (this.status & VIRTIO_STATUS.DRIVER_OK) !== 0 && (this.status & VIRTIO_STATUS.NEEDS_RESET) === 0;
  }

  negotiated(bit: number): boolean {
    return ((this.driverFeatures >> BigInt(bit)) & 1n) === 1n;
  }

  // ---- BAR 4 -------------------------------------------------------------------------------

  registerName(offset: number): string {
    return virtioBarRegisterName(offset);
  }

  read(offset: number, size: number, _vcpu: number): number {
    if (offset < BAR.ISR) return this.commonRead(offset, size);
    if (offset < BAR.DEVICE) {
      if (offset !== BAR.ISR) return 0;
      // Reading the ISR clears it and drops the interrupt (§4.1.4.5.1).
      const v = this.isr;
      this.isr = 0;
      this.setIntxCondition(false);
      return v;
    }
    if (offset < BAR.NOTIFY) return readLe(this.backend.config, offset - BAR.DEVICE, size);
    return 0;
  }

  write(offset: number, size: number, value: number, vcpu: number): void {
    this.vcpu = vcpu;
    try {
      this.barWrite(offset, size, value);
    } finally {
      this.vcpu = -1;
    }
  }

  private barWrite(offset: number, size: number, value: number): void {
    if (offset < BAR.ISR) this.commonWrite(offset, size, value);
    else if (offset >= BAR.DEVICE && offset < BAR.NOTIFY) this.backend.writeConfig?.(offset - BAR.DEVICE, size, value);
    else if (offset >= BAR.NOTIFY && offset < BAR.SIZE) {
      const q = (offset - BAR.NOTIFY) / BAR.NOTIFY_MULTIPLIER;
      if (Number.isInteger(q) && q < this.queues.length && this.live && this.queues[q]!.enabled) this.kick(q);
    }
  }

  private kick(q: number): void {
    try {
      this.backend.notify(q);
    } catch (err) {
      if (err instanceof VirtqError) this.fail(err);
      else throw err;
    }
  }

  private commonRead(off: number, size: number): number {
    const q = this.queues[this.queueSelect];
    let v: number;
    switch (off) {
      case C.DFSELECT:
        v = this.dfSelect;
        break;
      case C.DF:
        v = this.dfSelect < 2 ? Number((this.offered >> BigInt(32 * this.dfSelect)) & 0xffffffffn) : 0;
        break;
      case C.GFSELECT:
        v = this.gfSelect;
        break;
      case C.GF:
        v = this.gfSelect < 2 ? Number((this.driverFeatures >> BigInt(32 * this.gfSelect)) & 0xffffffffn) : 0;
        break;
      case C.MSIX_CONFIG:
        v = this.configVector;
        break;
      case C.NUM_QUEUES:
        v = this.queues.length;
        break;
      case C.STATUS:
        v = this.status;
        break;
      case C.CFG_GENERATION:
        v = 0;
        break;
      case C.Q_SELECT:
        v = this.queueSelect;
        break;
      case C.Q_SIZE:
        v = q ? q.size : 0;
        break;
      case C.Q_MSIX:
        v = q ? q.vector : VIRTIO_MSI_NO_VECTOR;
        break;
      case C.Q_ENABLE:
        v = q?.enabled ? 1 : 0;
        break;
      case C.Q_NOTIFY_OFF:
        v = q ? this.queueSelect : 0;
        break;
      case C.Q_DESCLO:
        v = q ? q.desc % 0x100000000 : 0;
        break;
      case C.Q_DESCHI:
        v = q ? Math.floor(q.desc / 0x100000000) : 0;
        break;
      case C.Q_AVAILLO:
        v = q ? q.driver % 0x100000000 : 0;
        break;
      case C.Q_AVAILHI:
        v = q ? Math.floor(q.driver / 0x100000000) : 0;
        break;
      case C.Q_USEDLO:
        v = q ? q.device % 0x100000000 : 0;
        break;
      case C.Q_USEDHI:
        v = q ? Math.floor(q.device / 0x100000000) : 0;
        break;
      default:
        v = 0;
    }
    return size >= 4 ? v >>> 0 : v & ((1 << (8 * size)) - 1);
  }

  private commonWrite(off: number, _size: number, value: number): void {
    const q = this.queues[this.queueSelect];
    const lo = (x: number): number => Math.floor(x / 0x100000000) * 0x100000000 + (value >>> 0);
    const hi = (x: number): number => (value >>> 0) * 0x100000000 + (x % 0x100000000);
    switch (off) {
      case C.DFSELECT:
        this.dfSelect = value >>> 0;
        break;
      case C.GFSELECT:
        this.gfSelect = value >>> 0;
        break;
      case C.GF:
        if (this.gfSelect < 2) {
          const shift = BigInt(32 * this.gfSelect);
          const word = BigInt(value >>> 0) << shift;
          // Bits the device does not offer are dropped, as QEMU does (virtio_set_features).
          this.driverFeatures = ((this.driverFeatures & ~(0xffffffffn << shift)) | word) & this.offered;
        }
        break;
      case C.MSIX_CONFIG:
        this.configVector = this.acceptVector(value & 0xffff);
        break;
      case C.STATUS:
        this.setStatus(value & 0xff);
        break;
      case C.Q_SELECT:
        this.queueSelect = value & 0xffff;
        break;
      case C.Q_SIZE:
        if (q && !q.enabled) q.setSize(value & 0xffff);
        break;
      case C.Q_MSIX:
        if (q) q.vector = this.acceptVector(value & 0xffff);
        break;
      case C.Q_ENABLE:
        if (q && value & 1 && !q.enabled) this.enableQueue(q);
        break;
      case C.Q_DESCLO:
        if (q) q.desc = lo(q.desc);
        break;
      case C.Q_DESCHI:
        if (q) q.desc = hi(q.desc);
        break;
      case C.Q_AVAILLO:
        if (q) q.driver = lo(q.driver);
        break;
      case C.Q_AVAILHI:
        if (q) q.driver = hi(q.driver);
        break;
      case C.Q_USEDLO:
        if (q) q.device = lo(q.device);
        break;
      case C.Q_USEDHI:
        if (q) q.device = hi(q.device);
        break;
      case C.Q_RESET:
        if (q && value & 1) q.reset();
        break;
      default:
        break;
    }
  }

  /** MSI-X vectors: a vector the function has, else VIRTIO_MSI_NO_VECTOR (which the driver reads back). */
  protected acceptVector(v: number): number {
    return v < this.msixVectors ? v : VIRTIO_MSI_NO_VECTOR;
  }

  private enableQueue(q: SplitQueue): void {
    try {
      q.checkRings();
      q.enabled = true;
    } catch (err) {
      if (err instanceof VirtqError) this.fail(err);
      else throw err;
    }
  }

  private setStatus(v: number): void {
    if (v === 0) {
      this.deviceReset();
      return;
    }
    // §2.2.2 / §3.1.1 step 6: a device that cannot work with the driver's features leaves FEATURES_OK clear.
    if (
      v & VIRTIO_STATUS.FEATURES_OK &&
      !(this.status & VIRTIO_STATUS.FEATURES_OK) &&
      this.backend.acceptFeatures?.(this.driverFeatures) === false
    )
      v &= ~VIRTIO_STATUS.FEATURES_OK;
    this.status = (this.status & VIRTIO_STATUS.NEEDS_RESET) | v;
  }

  private deviceReset(): void {
    this.status = 0;
    this.driverFeatures = 0n;
    this.dfSelect = this.gfSelect = this.queueSelect = 0;
    this.configVector = VIRTIO_MSI_NO_VECTOR;
    for (const q of this.queues) q.reset();
    this.isr = 0;
    this.setIntxCondition(false);
    this.backend.reset();
  }

  // ---- interrupts ------------------------------------------------------------------------

  signalUsed(q: number, before?: (intid: number) => void): number {
    const queue = this.queues[q]!;
    if (!queue.needInterrupt(this.negotiated(VIRTIO_F.RING_EVENT_IDX))) {
      before?.(0);
      return 0;
    }
    before?.(this.intidFor(queue.vector));
    return this.raise(VIRTIO_ISR.QUEUE, queue.vector);
  }

  /** The INTID an interrupt on `vector` arrives as: its MSI-X message's, or INTx's. */
  protected intidFor(vector: number): number {
    if (!this.msixEnabled) return this.intxIntid;
    if (vector >= this.msixVectors || this.vectorMasked(vector) || !this.host) return 0;
    const m = this.message(vector);
    return this.host.msiIntid(m.addr, m.data, this);
  }

  fail(err: VirtqError): void {
    const r = this.env.recorder;
    // The guest sees DEVICE_NEEDS_RESET; the trace says why.
    if (r.enabled)
      r.record({
        kind: 'device_error',
        time: this.env.now(),
        vcpu: this.vcpu,
        device: this.name,
        detail: `${err.message}; device needs reset`,
      });
    for (const q of this.queues) q.enabled = false;
    this.status |= VIRTIO_STATUS.NEEDS_RESET;
    if (this.status & VIRTIO_STATUS.DRIVER_OK) this.raise(VIRTIO_ISR.CONFIG, this.configVector);
  }

  /**
   * Sets ISR bits and signals: the vector's MSI-X message when MSI-X is on (no vector: no
   * interrupt, §4.1.5.1.2), else INTx. Returns the INTID raised (0: none).
   */
  protected raise(isrBits: number, vector: number): number {
    this.isr |= isrBits;
    if (this.msixEnabled) return vector === VIRTIO_MSI_NO_VECTOR ? 0 : this.msixNotify(vector);
    this.setIntxCondition(true);
    return this.intxIntid;
  }

  // ---- the PCI configuration access capability ----------------------------------------------

  protected override beforeConfigRead(reg: number, size: number): void {
    if (reg >= CAP.PCI_CFG + 16 && reg < CAP.PCI_CFG + 20) {
      const acc = this.cfgWindow(size);
      if (acc) this.set32(CAP.PCI_CFG + 16, this.read(acc.offset, acc.len, 0));
    }
  }

  protected override afterConfigWrite(reg: number, size: number, value: number): void {
    if (this.msixVectors && reg <= CAP.MSIX + 3 && reg + size > CAP.MSIX + 3) {
      // MSI-X switched on or off: INTx follows; clearing the function mask sends what is pending.
      this.refreshIntx();
      if (this.msixEnabled) this.msixUnmasked();
    }
    if (reg >= CAP.PCI_CFG + 16 && reg < CAP.PCI_CFG + 20) {
      const acc = this.cfgWindow(size);
      if (acc) this.write(acc.offset, acc.len, value, 0);
    }
  }

  /** The BAR access the PCI_CFG capability describes (only BAR 4, lengths 1/2/4, aligned). */
  private cfgWindow(_size: number): { offset: number; len: number } | undefined {
    const bar = this.config[CAP.PCI_CFG + 4]!;
    const offset = this.get32(CAP.PCI_CFG + 8);
    const len = this.get32(CAP.PCI_CFG + 12);
    if (bar !== BAR.INDEX || (len !== 1 && len !== 2 && len !== 4) || offset % len || offset + len > BAR.SIZE) return undefined;
    return { offset, len };
  }

  protected override capabilityRegisterName(reg: number): string {
    const caps: [number, string][] = [
      ...(this.msixVectors ? ([[CAP.MSIX, 'CAP_MSIX']] as [number, string][]) : []),
      [CAP.PCI_CFG, 'VIRTIO_CAP_PCI_CFG'],
      [CAP.NOTIFY, 'VIRTIO_CAP_NOTIFY'],
      [CAP.DEVICE, 'VIRTIO_CAP_DEVICE'],
      [CAP.ISR, 'VIRTIO_CAP_ISR'],
      [CAP.COMMON, 'VIRTIO_CAP_COMMON'],
    ];
    for (const [at, name] of caps) if (reg >= at) return reg === at ? name : `${name}+${reg - at}`;
    return '';
  }
}

/** Little-endian read of `size` bytes (0 past the end). */
export function readLe(b: Uint8Array, off: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + (b[off + i] ?? 0);
  return v >>> 0;
}

export { PCI_CFG };
