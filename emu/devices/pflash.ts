// One bank of QEMU virt's parallel NOR flash as QEMU 7.2 models it (pflash_cfi01: the Intel/Sharp
// command set, "Intel 28F/P30"): 64 MiB, a 32-bit bank of two 16-bit devices side by side, 256 KiB
// erase blocks. Used with --bios: bank 0 holds the firmware, bank 1 the UEFI variable store.
//
// Like QEMU's "romd" mode, the bank's contents are plain memory while it is in read-array mode:
// the CPU fetches and loads from them without an MMIO exit (the bus maps the storage read-only,
// see MachineBus), and only writes (commands) reach this model. Once a command leaves read-array
// mode, reads come here too (status, IDs, the CFI query) until the guest asks for read-array again;
// onModeChange tells the machine to drop the CPUs' cached translations each time.
//
// Commands (JEDEC JESD68.01 "Common Flash Interface" and Intel's "Basic Command Set" as the
// 28F/P30 datasheets describe it): 0xFF read array, 0x90 read identifier, 0x98 CFI query, 0x70 read
// status, 0x50 clear status, 0x20 + 0xD0 block erase, 0x40/0x10 word program, 0xE8 + count + data
// + 0xD0 buffered program, 0x60 + 0x01/0xD0 block lock/unlock. Erase and program complete at once
// (the status register's ready bit 7 is always set), as in QEMU.

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import type { MmioDevice } from '../types.ts';

export const PFLASH_BANK_SIZE = 0x400_0000;
/** Erase block of the bank (both devices together). */
export const PFLASH_SECTOR = 0x4_0000;
const BANK_WIDTH = 4;
const DEVICE_WIDTH = 2;
const DEVICES = BANK_WIDTH / DEVICE_WIDTH;
/** Status register bit 7: the write state machine is ready (28F/P30 SR.7). */
const SR_READY = 0x80;
/** Manufacturer and device codes QEMU virt gives its flash (Intel, 0x18). */
const ID_MANUFACTURER = 0x89;
const ID_DEVICE = 0x18;

/** Names of the commands, for the trace's register column. */
export const PFLASH_COMMANDS: Readonly<Record<number, string>> = {
  0x00: 'read-array',
  0xff: 'read-array',
  0x90: 'read-id',
  0x98: 'cfi-query',
  0x70: 'read-status',
  0x50: 'clear-status',
  0x20: 'block-erase',
  0x28: 'block-erase',
  0x10: 'program',
  0x40: 'program',
  0xe8: 'buffered-program',
  0x60: 'lock-setup',
  0xf0: 'read-array',
};

/** The CFI query table of one 16-bit device (JESD68.01 §4: query string, system interface, geometry). */
function cfiTable(): Uint8Array {
  const t = new Uint8Array(0x40);
  const devBytes = PFLASH_BANK_SIZE / DEVICES;
  const blocksPerDevice = PFLASH_BANK_SIZE / PFLASH_SECTOR;
  const sectorPerDevice = PFLASH_SECTOR / DEVICES;
  t.set([0x51, 0x52, 0x59], 0x10); // "QRY"
  t.set([0x01, 0x00], 0x13); // primary command set: Intel/Sharp extended
  t.set([0x31, 0x00], 0x15); // primary extended table at 0x31
  t.set([0x45, 0x55, 0x00, 0x00], 0x1b); // Vcc 4.5–5.5 V, no Vpp
  t.set([0x07, 0x07, 0x0a, 0x00, 0x04, 0x04, 0x04, 0x00], 0x1f); // typical / maximum timeouts
  t[0x27] = Math.log2(devBytes); // device size 2^n bytes
  t.set([0x02, 0x00], 0x28); // x8/x16 interface
  t.set([0x0b, 0x00], 0x2a); // 2^11 bytes per buffered program
  t[0x2c] = 1; // one uniform erase-block region
  t[0x2d] = (blocksPerDevice - 1) & 0xff;
  t[0x2e] = (blocksPerDevice - 1) >> 8;
  t[0x2f] = (sectorPerDevice >> 8) & 0xff;
  t[0x30] = sectorPerDevice >> 16;
  t.set([0x50, 0x52, 0x49, 0x31, 0x30], 0x31); // "PRI10"
  t[0x3f] = 0x01;
  return t;
}

const CFI = cfiTable();

export interface PflashOptions {
  region: DeviceRegion;
  /**
   * The bank's contents: PFLASH_BANK_SIZE bytes (used as they are), or fewer (an image: the rest of
   * the bank is zero, as QEMU pads a short -bios image). The bus hands over its ROM window later.
   */
  storage?: Uint8Array;
}

export class Pflash implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  storage: Uint8Array;
  /** True while array reads are plain memory (read-array mode). */
  romMode = true;
  /** Called when romMode changes (the machine drops the CPUs' cached translations). */
  onModeChange: () => void = () => {};
  /** Block erases and buffered programs done, for the run summary and tests. */
  readonly counts = { erases: 0, bufferedPrograms: 0, wordPrograms: 0 };
  private cmd = 0;
  private wcycle = 0;
  private counter = 0;
  private status = 0;
  private lastName = '';

  /** Bytes at the start of storage that may be non-zero (the rest is known to be zero). */
  private used: number;

  constructor(opts: PflashOptions) {
    this.region = opts.region;
    const given = opts.storage;
    if (given && given.length === PFLASH_BANK_SIZE) this.storage = given;
    else {
      this.storage = new Uint8Array(PFLASH_BANK_SIZE);
      if (given) this.storage.set(given.subarray(0, PFLASH_BANK_SIZE));
    }
    this.used = Math.min(given?.length ?? 0, PFLASH_BANK_SIZE);
  }

  /**
   * The bus's ROM window (zero-filled) becomes the storage: only the bytes that may be non-zero
   * are copied in (a 2 MiB firmware image, not its 64 MiB bank: copying whole banks into fresh
   * memory cost about 0.9 s of CPU per firmware run).
   */
  attachStorage(mem: Uint8Array): void {
    mem.set(this.storage.subarray(0, Math.min(this.used, mem.length)));
    this.storage = mem;
  }

  registerName(_offset: number): string {
    return this.lastName;
  }

  reset(): void {
    this.cmd = 0;
    this.wcycle = 0;
    this.status = 0;
    this.setRom(true);
  }

  private setRom(on: boolean): void {
    if (this.romMode === on) return;
    this.romMode = on;
    this.onModeChange();
  }

  read(offset: number, size: number): number {
    switch (this.cmd) {
      case 0x90:
        this.lastName = 'id';
        return this.replicate(this.idAt(offset), size);
      case 0x98:
        this.lastName = 'cfi';
        return this.replicate(this.cfiAt(offset), size);
      case 0x10:
      case 0x20:
      case 0x28:
      case 0x40:
      case 0x50:
      case 0x60:
      case 0x70:
      case 0xe8:
        this.lastName = 'status';
        return this.replicate(this.status, size);
      default:
        this.lastName = 'array';
        return this.arrayRead(offset, size);
    }
  }

  /** Each 16-bit device answers in its own lanes, so a wide read sees the answer once per device. */
  private replicate(v: number, size: number): number {
    if (size <= DEVICE_WIDTH) return v & (size === 1 ? 0xff : 0xffff);
    return ((v & 0xffff) | ((v & 0xffff) << 16)) >>> 0;
  }

  private idAt(offset: number): number {
    const idx = offset >>> 2;
    return idx === 0 ? ID_MANUFACTURER : idx === 1 ? ID_DEVICE : 0;
  }

  private cfiAt(offset: number): number {
    const idx = offset >>> 2;
    return idx < CFI.length ? CFI[idx]! : 0;
  }

  private arrayRead(offset: number, size: number): number {
    const s = this.storage;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (s[offset + i] ?? 0);
    return v >>> 0;
  }

  write(offset: number, size: number, value: number): void {
    this.used = PFLASH_BANK_SIZE; // a command may erase or program anywhere
    const cmd = value & 0xff;
    if (this.wcycle === 0) return this.firstCycle(offset, cmd);
    switch (this.cmd) {
      case 0x10:
      case 0x40:
        this.lastName = 'program-data';
        this.program(offset, size, value);
        this.counts.wordPrograms++;
        this.status |= SR_READY;
        this.wcycle = 0;
        return;
      case 0x20:
      case 0x28:
        if (cmd === 0xd0) {
          this.lastName = 'erase-confirm';
          this.wcycle = 0;
          this.status |= SR_READY;
        } else this.abandon(cmd, 'erase');
        return;
      case 0x60:
        if (cmd === 0xd0 || cmd === 0x01) {
          this.lastName = cmd === 0xd0 ? 'unlock-confirm' : 'lock-confirm';
          this.wcycle = 0;
          this.status |= SR_READY;
        } else this.abandon(cmd, 'lock');
        return;
      case 0xe8:
        return this.bufferedCycle(offset, size, value);
      default:
        this.abandon(cmd, 'command');
    }
  }

  private firstCycle(offset: number, cmd: number): void {
    this.lastName = PFLASH_COMMANDS[cmd] ?? `cmd-0x${cmd.toString(16)}`;
    switch (cmd) {
      case 0x00:
      case 0xf0:
      case 0xff:
        return this.readArray();
      case 0x10:
      case 0x40:
      case 0x60:
        this.cmd = cmd;
        this.wcycle = 1;
        break;
      case 0x20:
      case 0x28: {
        // Erased at setup, as QEMU does; the 0xD0 that follows only confirms.
        const base = offset & ~(PFLASH_SECTOR - 1);
        this.storage.fill(0xff, base, base + PFLASH_SECTOR);
        this.counts.erases++;
        this.cmd = cmd;
        this.wcycle = 1;
        this.status |= SR_READY;
        break;
      }
      case 0x50:
        this.status = 0;
        return this.readArray();
      case 0x70:
      case 0x90:
      case 0x98:
        this.cmd = cmd;
        break;
      case 0xe8:
        this.cmd = cmd;
        this.wcycle = 1;
        this.status |= SR_READY;
        break;
      default:
        // An unknown command: back to read-array, the status untouched (as QEMU does).
        this.lastOutcome = 'raz_wi';
        return this.readArray();
    }
    this.setRom(false);
  }

  /** 0xE8 cycles: word count − 1 (per device), the data words, then 0xD0. */
  private bufferedCycle(offset: number, size: number, value: number): void {
    if (this.wcycle === 1) {
      this.lastName = 'buffer-count';
      this.counter = value & 0xffff;
      this.wcycle = 2;
      return;
    }
    if (this.wcycle === 2) {
      this.lastName = 'buffer-data';
      this.program(offset, size, value);
      this.status |= SR_READY;
      if (this.counter === 0) this.wcycle = 3;
      else this.counter--;
      return;
    }
    if ((value & 0xff) === 0xd0) {
      this.lastName = 'buffer-confirm';
      this.counts.bufferedPrograms++;
      this.wcycle = 0;
      this.status |= SR_READY;
    } else this.abandon(value & 0xff, 'buffered program');
  }

  /** Flash programming can only clear bits. */
  private program(offset: number, size: number, value: number): void {
    const s = this.storage;
    for (let i = 0; i < size && offset + i < s.length; i++) s[offset + i]! &= (value >>> (8 * i)) & 0xff;
  }

  /** A sequence broken off: back to read-array (0xFF) or an error in the status register. */
  private abandon(cmd: number, what: string): void {
    if (cmd === 0xff) {
      this.lastName = 'read-array';
      return this.readArray();
    }
    // A broken sequence returns to read-array; QEMU 7.2 sets no error bit for it.
    this.lastName = `${what}-error`;
    this.lastOutcome = 'raz_wi';
    this.readArray();
  }

  private readArray(): void {
    this.cmd = 0;
    this.wcycle = 0;
    this.setRom(true);
  }
}
