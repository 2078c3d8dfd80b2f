// One PCI function's configuration space (PCI Local Bus Specification 3.0 chapter 6): the type 0
// header with per-byte writable and write-1-to-clear masks, BARs (sizing by writing all-ones,
// §6.2.5.1), the expansion ROM BAR, the capabilities list (§6.7), and the INTx pin. Subclasses
// (the host bridge, virtio-pci) add their capabilities and answer accesses to their BARs.

import { PCI_BAR, PCI_CFG, PCI_COMMAND, PCI_STATUS, headerRegisterName } from '../../arch/regmaps/pci.ts';

export interface BarSpec {
  /** Size in bytes, a power of two (≥ 16 for memory, ≥ 4 for I/O). */
  size: number;
  kind: 'mem32' | 'mem64' | 'io';
  prefetchable?: boolean;
}

/** What a function answers in one of its BARs. Offsets are relative to the BAR's base. */
export interface BarHandler {
  read(offset: number, size: number, vcpu: number): number;
  write(offset: number, size: number, value: number, vcpu: number): void;
  registerName(offset: number): string;
}

export interface PciIdentity {
  vendorId: number;
  deviceId: number;
  revision: number;
  /** 24-bit class code: base class, subclass, programming interface. */
  classCode: number;
  subsystemVendorId: number;
  subsystemId: number;
  /** 0 none, 1..4 INTA..INTD. */
  interruptPin: number;
}

/** How a function tells the host its INTx level changed. */
export type IntxSink = (fn: PciFunction, level: boolean) => void;

export abstract class PciFunction {
  /** Device name used in events, e.g. 'virtio-blk@00:02.0'. */
  readonly name: string;
  /** Model, e.g. 'virtio-blk-pci', 'gpex-root'. */
  readonly model: string;
  readonly dev: number;
  readonly fn: number;
  readonly config = new Uint8Array(PCI_CFG.SIZE);
  /** Bits the guest may write. */
  private readonly wmask = new Uint8Array(PCI_CFG.SIZE);
  /** Bits a guest write of 1 clears. */
  private readonly w1cmask = new Uint8Array(PCI_CFG.SIZE);
  readonly bars: (BarSpec | undefined)[] = [];
  private intxLevel = false;
  /** Set by the host when the function is plugged. */
  intxSink: IntxSink = () => {};
  /** The host, for MSI writes (set when plugged). */
  host:
    | {
        sendMsi(f: PciFunction, addr: number, data: number, vcpu: number): number;
        msiIntid(addr: number, data: number, f?: PciFunction): number;
      }
    | undefined;

  constructor(name: string, model: string, dev: number, fn: number, id: PciIdentity) {
    this.name = name;
    this.model = model;
    this.dev = dev;
    this.fn = fn;
    this.set16(PCI_CFG.VENDOR_ID, id.vendorId);
    this.set16(PCI_CFG.DEVICE_ID, id.deviceId);
    this.config[PCI_CFG.REVISION_ID] = id.revision;
    this.config[PCI_CFG.CLASS_PROG] = id.classCode & 0xff;
    this.set16(PCI_CFG.CLASS_DEVICE, id.classCode >>> 8);
    this.set16(PCI_CFG.SUBSYSTEM_VENDOR_ID, id.subsystemVendorId);
    this.set16(PCI_CFG.SUBSYSTEM_ID, id.subsystemId);
    this.config[PCI_CFG.INTERRUPT_PIN] = id.interruptPin;
    // Command: I/O, memory, bus master, parity, SERR, INTx disable (what QEMU's PCI core lets the guest set).
    const cmd = PCI_COMMAND.IO | PCI_COMMAND.MEMORY | PCI_COMMAND.MASTER | PCI_COMMAND.PARITY | PCI_COMMAND.SERR | PCI_COMMAND.INTX_DISABLE;
    this.wmask[PCI_CFG.COMMAND] = cmd & 0xff;
    this.wmask[PCI_CFG.COMMAND + 1] = cmd >>> 8;
    this.wmask[PCI_CFG.CACHE_LINE_SIZE] = 0xff;
    this.wmask[PCI_CFG.LATENCY_TIMER] = 0xff;
    this.wmask[PCI_CFG.INTERRUPT_LINE] = 0xff;
    // Status: the error bits are write-1-to-clear (nothing sets them here).
    this.w1cmask[PCI_CFG.STATUS + 1] = 0xf9;
  }

  get bdf(): string {
    return `00:${this.dev.toString(16).padStart(2, '0')}.${this.fn}`;
  }

  /** Declares BAR `index` (a 64-bit BAR also takes index + 1). */
  protected addBar(index: number, spec: BarSpec): void {
    if (spec.size & (spec.size - 1) || spec.size < (spec.kind === 'io' ? 4 : 16))
      throw new RangeError(`${this.name}: BAR${index} size ${spec.size} is not a power of two`);
    this.bars[index] = spec;
    const off = PCI_CFG.BAR0 + 4 * index;
    const low =
      spec.kind === 'io' ? PCI_BAR.IO : (spec.kind === 'mem64' ? PCI_BAR.MEM_TYPE_64 : 0) | (spec.prefetchable ? PCI_BAR.PREFETCH : 0);
    this.set32(off, low);
    // The address bits above the size are writable; the low (type) bits are read-only.
    this.setMask32(off, ~(spec.size - 1) >>> 0);
    if (spec.kind === 'mem64') this.setMask32(off + 4, 0xffffffff);
  }

  /** Appends a capability of `length` bytes with id `id`; returns its offset. */
  protected addCapability(offset: number, id: number, length: number): number {
    this.config[offset] = id;
    // The list is kept in the order capabilities are added: each new one goes at the head, as
    // QEMU's pci_add_capability does, so the last added is what CAPABILITY_LIST points to.
    this.config[offset + 1] = this.config[PCI_CFG.CAPABILITY_LIST]!;
    this.config[PCI_CFG.CAPABILITY_LIST] = offset;
    this.set16(PCI_CFG.STATUS, this.get16(PCI_CFG.STATUS) | PCI_STATUS.CAP_LIST);
    if (offset + length > PCI_CFG.SIZE)
      throw new RangeError(`${this.name}: capability at 0x${offset.toString(16)} runs past the configuration space`);
    return offset;
  }

  /** Marks bytes of a capability writable. */
  protected setWritable(offset: number, bytes: number, mask = 0xff): void {
    for (let i = 0; i < bytes; i++) this.wmask[offset + i] = mask;
  }

  // ---- configuration accesses (from the host's ECAM decoder) ----------------------------------

  configRead(reg: number, size: number): number {
    if (reg + size > PCI_CFG.SIZE) return size === 4 ? 0xffffffff : (1 << (size * 8)) - 1; // no extended space
    this.beforeConfigRead(reg, size);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.config[reg + i]!;
    return v >>> 0;
  }

  configWrite(reg: number, size: number, value: number): void {
    if (reg + size > PCI_CFG.SIZE) return;
    const oldCommand = this.get16(PCI_CFG.COMMAND);
    for (let i = 0; i < size; i++) {
      const b = (value >>> (8 * i)) & 0xff;
      const a = reg + i;
      const wm = this.wmask[a]!,
        cm = this.w1cmask[a]!;
      this.config[a] = ((this.config[a]! & ~wm) | (b & wm)) & ~(b & cm) & 0xff;
    }
    this.afterConfigWrite(reg, size, value);
    if (oldCommand !== this.get16(PCI_CFG.COMMAND)) this.updateIntx();
  }

  /** Hooks for capabilities with side effects (virtio's PCI_CFG window, MSI-X enable). */
  protected beforeConfigRead(_reg: number, _size: number): void {}
  protected afterConfigWrite(_reg: number, _size: number, _value: number): void {}

  /** Register name of a configuration offset: the header's, or the function's capabilities'. */
  configRegisterName(reg: number): string {
    return reg < PCI_CFG.HEADER_SIZE ? headerRegisterName(reg) : this.capabilityRegisterName(reg);
  }

  protected capabilityRegisterName(_reg: number): string {
    return '';
  }

  /** The BAR a configuration offset belongs to (0-5, 6 for the ROM), or -1. */
  barOfConfig(reg: number): number {
    if (reg >= PCI_CFG.BAR0 && reg < PCI_CFG.BAR0 + 24) {
      const i = (reg - PCI_CFG.BAR0) >> 2;
      if (this.bars[i]) return i;
      if (i > 0 && this.bars[i - 1]?.kind === 'mem64') return i - 1;
      return -1;
    }
    return reg >= PCI_CFG.ROM_ADDRESS && reg < PCI_CFG.ROM_ADDRESS + 4 ? 6 : -1;
  }

  // ---- BAR decoding ------------------------------------------------------------------------

  get memoryEnabled(): boolean {
    return (this.get16(PCI_CFG.COMMAND) & PCI_COMMAND.MEMORY) !== 0;
  }

  get ioEnabled(): boolean {
    return (this.get16(PCI_CFG.COMMAND) & PCI_COMMAND.IO) !== 0;
  }

  get busMaster(): boolean {
    return (this.get16(PCI_CFG.COMMAND) & PCI_COMMAND.MASTER) !== 0;
  }

  /** Current address of BAR i (undefined when not declared). */
  barAddress(i: number): number | undefined {
    const spec = this.bars[i];
    if (!spec) return undefined;
    const off = PCI_CFG.BAR0 + 4 * i;
    const lo = this.get32(off) & (spec.kind === 'io' ? ~3 : ~15);
    const hi = spec.kind === 'mem64' ? this.get32(off + 4) : 0;
    return hi * 0x100000000 + (lo >>> 0);
  }

  /**
   * The BAR holding bus address `addr` of the given space, with the offset in it; undefined when
   * decoding is off (command register) or no BAR is there. A BAR still at address 0 decodes
   * nothing (firmware and Linux treat 0 as unassigned).
   */
  decode(addr: number, space: 'mem' | 'io'): { bar: number; offset: number } | undefined {
    if (space === 'mem' ? !this.memoryEnabled : !this.ioEnabled) return undefined;
    for (let i = 0; i < this.bars.length; i++) {
      const spec = this.bars[i];
      if (!spec || (spec.kind === 'io') !== (space === 'io')) continue;
      const base = this.barAddress(i)!;
      if (base !== 0 && addr >= base && addr < base + spec.size) return { bar: i, offset: addr - base };
    }
    return undefined;
  }

  abstract barHandler(bar: number): BarHandler | undefined;

  // ---- INTx ---------------------------------------------------------------------------------

  /** The function's interrupt condition (virtio: ISR ≠ 0); the pin follows it unless INTx is disabled. */
  protected setIntxCondition(level: boolean): void {
    const st = this.get16(PCI_CFG.STATUS);
    this.set16(PCI_CFG.STATUS, level ? st | PCI_STATUS.INTERRUPT : st & ~PCI_STATUS.INTERRUPT);
    this.updateIntx();
  }

  private updateIntx(): void {
    const pending = (this.get16(PCI_CFG.STATUS) & PCI_STATUS.INTERRUPT) !== 0;
    const level =
      pending &&
      !(this.get16(PCI_CFG.COMMAND) & PCI_COMMAND.INTX_DISABLE) &&
      this.config[PCI_CFG.INTERRUPT_PIN]! !== 0 &&
      this.intxAllowed();
    if (level === this.intxLevel) return;
    this.intxLevel = level;
    this.intxSink(this, level);
  }

  /** MSI-X, when enabled, replaces INTx (PCI Local Bus 3.0 §6.8.3.1). */
  protected intxAllowed(): boolean {
    return true;
  }

  /** Re-evaluates the INTx pin (after MSI-X is switched on or off). */
  protected refreshIntx(): void {
    this.updateIntx();
  }

  // ---- little-endian helpers ---------------------------------------------------------------

  get16(off: number): number {
    return this.config[off]! | (this.config[off + 1]! << 8);
  }

  get32(off: number): number {
    return (this.config[off]! | (this.config[off + 1]! << 8) | (this.config[off + 2]! << 16) | (this.config[off + 3]! << 24)) >>> 0;
  }

  protected set16(off: number, v: number): void {
    this.config[off] = v & 0xff;
    this.config[off + 1] = (v >>> 8) & 0xff;
  }

  protected set32(off: number, v: number): void {
    for (let i = 0; i < 4; i++) this.config[off + i] = (v >>> (8 * i)) & 0xff;
  }

  private setMask32(off: number, v: number): void {
    for (let i = 0; i < 4; i++) this.wmask[off + i] = (v >>> (8 * i)) & 0xff;
  }
}
