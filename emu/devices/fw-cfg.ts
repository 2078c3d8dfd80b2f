// QEMU's firmware configuration device (fw_cfg) in its MMIO form, as QEMU 7.2's virt machine has it
// at 0x0902_0000 (DT compatible "qemu,fw-cfg-mmio"): how the firmware learns the kernel, initrd and
// command line, the boot order, the ACPI tables and SMBIOS. docs/firmware.md ("fw_cfg") describes the interface.
//
// Registers: data at +0 (1–8 byte reads stream the selected item; the bytes reach the guest in
// item order), selector at +8 (16 bits, big-endian), DMA address at +16 (64 bits, big-endian; a
// write of the low word at +20, or a 64-bit write at +16, starts the transfer). A DMA descriptor in
// guest memory is { be32 control, be32 length, be64 address }; control bits: 0x01 error, 0x02 read,
// 0x04 skip, 0x08 select (item in bits 31:16), 0x10 write. The device clears control (or leaves
// only the error bit) when the transfer is done.

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import type { MmioDevice } from '../types.ts';
import type { GuestMemory } from './virtqueue.ts';

export const FW_CFG = {
  SIGNATURE: 0x00,
  ID: 0x01,
  UUID: 0x02,
  NOGRAPHIC: 0x04,
  NB_CPUS: 0x05,
  KERNEL_SIZE: 0x08,
  INITRD_SIZE: 0x0b,
  BOOT_MENU: 0x0e,
  KERNEL_DATA: 0x11,
  INITRD_DATA: 0x12,
  CMDLINE_SIZE: 0x14,
  CMDLINE_DATA: 0x15,
  SETUP_SIZE: 0x17,
  SETUP_DATA: 0x18,
  FILE_DIR: 0x19,
  FILE_FIRST: 0x20,
} as const;

const ITEM_NAMES: Readonly<Record<number, string>> = {
  0x00: 'signature',
  0x01: 'id',
  0x02: 'uuid',
  0x04: 'nographic',
  0x05: 'nb_cpus',
  0x08: 'kernel_size',
  0x0b: 'initrd_size',
  0x0e: 'boot_menu',
  0x11: 'kernel_data',
  0x12: 'initrd_data',
  0x14: 'cmdline_size',
  0x15: 'cmdline_data',
  0x17: 'setup_size',
  0x18: 'setup_data',
  0x19: 'file_dir',
};

/** The DMA register reads as this signature ("QEMU CFG"). */
const DMA_SIGNATURE = 0x51454d5520434647n;
const CTL_ERROR = 0x01;
const CTL_READ = 0x02;
const CTL_SKIP = 0x04;
const CTL_SELECT = 0x08;
const CTL_WRITE = 0x10;
/** Bytes of one directory entry: be32 size, be16 select, be16 reserved, 56-byte name. */
const DIR_ENTRY = 64;
const NAME_MAX = 56;

/** One named file in the directory (e.g. "etc/table-loader"). */
export interface FwCfgFile {
  name: string;
  data: Uint8Array;
}

/** What the firmware is given: numbered items and named files. */
export interface FwCfgContent {
  /** Items by selector (below FILE_FIRST), e.g. KERNEL_DATA. */
  items: Map<number, Uint8Array>;
  files: FwCfgFile[];
}

/** One DMA transfer, as the trace decodes it. */
export interface FwCfgDma {
  item: string;
  op: 'read' | 'skip' | 'write' | 'select';
  length: number;
  address: number;
  error: boolean;
}

export interface FwCfgOptions {
  region: DeviceRegion;
  content: FwCfgContent;
  memory: GuestMemory;
  /** Called for each DMA transfer (recorded by the personality). */
  onDma?: (t: FwCfgDma) => void;
}

const le = (n: number, bytes: number): Uint8Array => {
  const b = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) b[i] = Math.floor(n / 2 ** (8 * i)) & 0xff;
  return b;
};

/** QEMU's fixed items for the virt machine (signature, ID with DMA, zero UUID, nographic, CPUs). */
export function baseItems(cpus: number): Map<number, Uint8Array> {
  return new Map<number, Uint8Array>([
    [FW_CFG.SIGNATURE, new TextEncoder().encode('QEMU')],
    [FW_CFG.ID, le(3, 4)], // bit 0: traditional interface, bit 1: DMA
    [FW_CFG.UUID, new Uint8Array(16)],
    [FW_CFG.NOGRAPHIC, le(1, 2)],
    [FW_CFG.BOOT_MENU, le(0, 2)],
    [FW_CFG.NB_CPUS, le(cpus, 2)],
  ]);
}

/** Items for -kernel/-initrd/-append: little-endian sizes and the data (the command line NUL-terminated). */
export function kernelItems(kernel?: Uint8Array, initrd?: Uint8Array, cmdline?: string): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  if (kernel) {
    m.set(FW_CFG.KERNEL_SIZE, le(kernel.length, 4));
    m.set(FW_CFG.KERNEL_DATA, kernel);
  }
  if (initrd) {
    m.set(FW_CFG.INITRD_SIZE, le(initrd.length, 4));
    m.set(FW_CFG.INITRD_DATA, initrd);
  }
  if (cmdline !== undefined) {
    const c = new TextEncoder().encode(cmdline + '\0');
    m.set(FW_CFG.CMDLINE_SIZE, le(c.length, 4));
    m.set(FW_CFG.CMDLINE_DATA, c);
  }
  return m;
}

export class FwCfg implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  /** Directory order: sorted by name, as QEMU keeps it. */
  readonly files: readonly FwCfgFile[];
  private readonly items: Map<number, Uint8Array>;
  private readonly memory: GuestMemory;
  private readonly onDma: ((t: FwCfgDma) => void) | undefined;
  private selector = 0;
  private cursor = 0;
  private dmaHigh = 0;
  private lastName = '';
  /** Items selected so far, in order (for tests and the run summary). */
  readonly selected: string[] = [];

  constructor(opts: FwCfgOptions) {
    this.region = opts.region;
    this.memory = opts.memory;
    this.onDma = opts.onDma;
    this.files = [...opts.content.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const f of this.files) {
      if (new TextEncoder().encode(f.name).length >= NAME_MAX) throw new RangeError(`fw_cfg file name '${f.name}' is too long`);
    }
    this.items = new Map(opts.content.items);
    this.items.set(FW_CFG.FILE_DIR, this.directory());
  }

  /** be32 count, then one entry per file. */
  private directory(): Uint8Array {
    const out = new Uint8Array(4 + DIR_ENTRY * this.files.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, this.files.length);
    this.files.forEach((f, i) => {
      const o = 4 + i * DIR_ENTRY;
      dv.setUint32(o, f.data.length);
      dv.setUint16(o + 4, FW_CFG.FILE_FIRST + i);
      out.set(new TextEncoder().encode(f.name), o + 8);
    });
    return out;
  }

  /** Name of an item as the trace shows it: the fixed item's name or the file's. */
  itemName(sel: number): string {
    const key = sel & 0x3fff;
    if (key >= FW_CFG.FILE_FIRST) return this.files[key - FW_CFG.FILE_FIRST]?.name ?? `file-0x${key.toString(16)}`;
    return ITEM_NAMES[key] ?? `item-0x${key.toString(16)}`;
  }

  private data(sel: number): Uint8Array | undefined {
    const key = sel & 0x3fff;
    if (key >= FW_CFG.FILE_FIRST) return this.files[key - FW_CFG.FILE_FIRST]?.data;
    return this.items.get(key);
  }

  registerName(offset: number): string {
    return this.lastName || (offset < 8 ? 'data' : offset < 16 ? 'selector' : 'dma');
  }

  private select(sel: number): void {
    this.selector = sel & 0xffff;
    this.cursor = 0;
    this.selected.push(this.itemName(this.selector));
  }

  read(offset: number, size: number): number {
    if (offset < 8) return Number(this.readData(size) & 0xffffffffn);
    if (offset >= 16) {
      this.lastName = offset < 20 ? 'dma_high' : 'dma_low';
      // The register holds the signature, big-endian: the guest's little-endian load sees it swapped.
      const sig = swap64(DMA_SIGNATURE);
      return Number((offset < 20 ? sig : sig >> 32n) & 0xffffffffn);
    }
    this.lastName = 'selector';
    return 0;
  }

  read64(offset: number): bigint {
    if (offset === 0) return this.readData(8);
    if (offset === 16) {
      this.lastName = 'dma';
      return swap64(DMA_SIGNATURE);
    }
    this.lastOutcome = 'raz_wi';
    return 0n;
  }

  /** Streams `size` bytes of the selected item (zeros past its end); the first byte is the lowest. */
  private readData(size: number): bigint {
    this.lastName = `data:${this.itemName(this.selector)}`;
    const d = this.data(this.selector);
    let v = 0n;
    for (let i = 0; i < size; i++) {
      const b = d && this.cursor < d.length ? d[this.cursor]! : 0;
      if (d && this.cursor < d.length) this.cursor++;
      v |= BigInt(b) << BigInt(8 * i);
    }
    return v;
  }

  write(offset: number, size: number, value: number): void {
    if (offset === 8 && size === 2) {
      const sel = ((value & 0xff) << 8) | ((value >>> 8) & 0xff);
      this.select(sel);
      this.lastName = `select:${this.itemName(sel)}`;
      return;
    }
    if (offset === 16 && size === 4) {
      this.lastName = 'dma_high';
      this.dmaHigh = swap32(value);
      return;
    }
    if (offset === 20 && size === 4) {
      this.dma(this.dmaHigh * 2 ** 32 + swap32(value));
      return;
    }
    // Data writes are ignored by QEMU 7.2; anything else is not a register.
    this.lastName = offset < 8 ? 'data' : 'invalid';
    this.lastOutcome = 'raz_wi';
  }

  write64(offset: number, value: bigint): void {
    if (offset === 16) {
      this.dma(Number(swap64(value)));
      return;
    }
    this.lastName = 'invalid';
    this.lastOutcome = 'raz_wi';
  }

  /** Runs one DMA descriptor at guest-physical `desc`. */
  private dma(desc: number): void {
    const m = this.memory;
    const off = m.memOffset(desc);
    if (off < 0 || m.memOffset(desc + 15) !== off + 15) {
      this.lastName = 'dma:descriptor-outside-ram';
      return;
    }
    const dv = new DataView(m.mem.buffer, m.mem.byteOffset);
    const control = dv.getUint32(off);
    const length = dv.getUint32(off + 4);
    const address = Number(dv.getBigUint64(off + 8));
    if (control & CTL_SELECT) this.select(control >>> 16);
    let error = false;
    let op: FwCfgDma['op'] = 'select';
    if (control & CTL_READ) {
      op = 'read';
      error = !this.dmaRead(address, length);
    } else if (control & CTL_WRITE) {
      // No item of the virt machine's is writable in QEMU 7.2.
      op = 'write';
      error = true;
    } else if (control & CTL_SKIP) {
      op = 'skip';
      const d = this.data(this.selector);
      this.cursor = Math.min(this.cursor + length, d?.length ?? 0);
    }
    dv.setUint32(off, error ? CTL_ERROR : 0);
    const item = this.itemName(this.selector);
    // The transfer, decoded, is the name of the register write that started it.
    this.lastName = `dma:${op}:${item}${op === 'select' ? '' : `:${length}`}${error ? ':error' : ''}`;
    this.onDma?.({ item, op, length, address, error });
  }

  /** Copies `length` bytes of the item to guest RAM (zeros past the item's end). */
  private dmaRead(address: number, length: number): boolean {
    const m = this.memory;
    const start = m.memOffset(address);
    if (length === 0) return true;
    if (start < 0 || m.memOffset(address + length - 1) !== start + length - 1) return false;
    const d = this.data(this.selector) ?? new Uint8Array(0);
    const avail = Math.max(0, Math.min(length, d.length - this.cursor));
    m.mem.set(d.subarray(this.cursor, this.cursor + avail), start);
    m.mem.fill(0, start + avail, start + length);
    this.cursor += avail;
    m.written?.(start, length);
    return true;
  }
}

function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0;
}

function swap64(v: bigint): bigint {
  let r = 0n;
  for (let i = 0n; i < 8n; i++) r = (r << 8n) | ((v >> (8n * i)) & 0xffn);
  return r;
}
