// Split virtqueues as the device side sees them (OASIS virtio 1.2 §2.7 'Split Virtqueues'): the
// descriptor table, the driver (available) ring and the device (used) ring in guest memory,
// indirect descriptors (§2.7.5.3) and notification suppression with event indexes (§2.7.7,
// §2.7.10). Every guest-controlled value is checked: a ring or buffer outside RAM, a chain that
// loops or is longer than the queue, an indirect table that is malformed, or a writable buffer
// before a readable one is a VirtqError, which the transport turns into DEVICE_NEEDS_RESET
// (§2.1.2) instead of letting it reach the host.

/** Guest RAM as the device reads and writes it (the machine bus). */
export interface GuestMemory {
  readonly mem: Uint8Array;
  /** Offset in mem of a guest-physical address, or -1 outside RAM. */
  memOffset(pa: number): number;
  /** Told after a device wrote guest RAM at mem offset `off` (the CPUs drop code decoded there). */
  written?(off: number, len: number): void;
}

/** A guest error in a queue: the device stops using it and asks for a reset. */
export class VirtqError extends Error {
  override name = 'VirtqError';
}

export const VIRTQ_DESC_F = { NEXT: 1, WRITE: 2, INDIRECT: 4 } as const;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** One guest buffer: its offset in mem and length (inside RAM, checked). */
export interface Segment {
  off: number;
  len: number;
}

/** A descriptor chain taken from the available ring. */
export interface Chain {
  head: number;
  /** Device-readable buffers, in order. */
  readable: Segment[];
  /** Device-writable buffers, in order (they follow the readable ones). */
  writable: Segment[];
}

/** The largest queue a split ring can have (§2.7: Queue Size ≤ 32768). */
export const VIRTQ_MAX_SIZE = 32768;

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

export class SplitQueue {
  readonly index: number;
  /** The device's maximum (queue_size reads this until the driver writes a smaller one). */
  readonly maxSize: number;
  size: number;
  enabled = false;
  desc = 0;
  driver = 0;
  device = 0;
  /** MSI-X vector for this queue (0xffff: none). */
  vector = 0xffff;
  /** Next available-ring index the device will read. */
  private lastAvail = 0;
  /** The used-ring index as last written. */
  private usedIdx = 0;
  /** Used index at the last interrupt decision (for event-idx). */
  private signalledUsed = 0;
  private signalledValid = false;
  private readonly memory: GuestMemory;
  private dv: DataView | undefined;

  constructor(index: number, maxSize: number, memory: GuestMemory) {
    if (!isPowerOfTwo(maxSize) || maxSize > VIRTQ_MAX_SIZE)
      throw new RangeError(`queue ${index}: size ${maxSize} is not a power of two ≤ 32768`);
    this.index = index;
    this.maxSize = maxSize;
    this.size = maxSize;
    this.memory = memory;
  }

  /** A view of RAM, made on first use (the machine's RAM exists only once its bus does). */
  private get view(): DataView {
    const m = this.memory.mem;
    if (!this.dv || this.dv.buffer !== m.buffer) this.dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
    return this.dv;
  }

  reset(): void {
    this.size = this.maxSize;
    this.enabled = false;
    this.desc = this.driver = this.device = 0;
    this.vector = 0xffff;
    this.lastAvail = this.usedIdx = this.signalledUsed = 0;
    this.signalledValid = false;
  }

  /**
   * The driver's queue_size write. A split queue's size must be a power of two (§2.7: "Queue Size
   * value is always a power of 2") no larger than the device's maximum: other values are
   * ignored, so the driver reads back the size in force. Returns whether it was taken.
   */
  setSize(n: number): boolean {
    if (!isPowerOfTwo(n) || n > this.maxSize) return false;
    this.size = n;
    return true;
  }

  /** Checks the rings lie in RAM (called when the driver enables the queue). */
  checkRings(): void {
    this.ram(this.desc, 16 * this.size, 'descriptor table');
    this.ram(this.driver, 6 + 2 * this.size, 'driver ring');
    this.ram(this.device, 6 + 8 * this.size, 'device ring');
    if (this.desc % 16 || this.driver % 2 || this.device % 4) throw new VirtqError(`queue ${this.index}: misaligned ring address`);
  }

  /** Is there a chain the device has not taken yet? */
  hasAvailable(): boolean {
    return this.enabled && this.availIdx() !== this.lastAvail;
  }

  /** Takes the next available chain (null when none). */
  pop(eventIdx: boolean): Chain | null {
    if (!this.enabled) return null;
    const avail = this.availIdx();
    if (avail === this.lastAvail) return null;
    if (((avail - this.lastAvail) & 0xffff) > this.size)
      throw new VirtqError(`queue ${this.index}: driver ring index ${avail} is more than ${this.size} ahead of ${this.lastAvail}`);
    const head = this.u16(this.driver + 4 + 2 * (this.lastAvail % this.size));
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    // With event indexes the device says which driver-ring index it wants a notification for.
    if (eventIdx) this.w16(this.device + 4 + 8 * this.size, this.lastAvail);
    return this.walk(head);
  }

  /** Returns a chain to the driver with `len` bytes written into its writable buffers. */
  push(head: number, len: number): void {
    const at = this.device + 4 + 8 * (this.usedIdx % this.size);
    this.w32(at, head);
    this.w32(at + 4, len);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    this.w16(this.device + 2, this.usedIdx);
  }

  /**
   * Should the device interrupt for what it pushed since the last decision? Event index: when the
   * used index passed the driver's used_event (§2.7.10); otherwise unless the driver set
   * VIRTQ_AVAIL_F_NO_INTERRUPT.
   */
  needInterrupt(eventIdx: boolean): boolean {
    const old = this.signalledUsed,
      now = this.usedIdx;
    const valid = this.signalledValid;
    this.signalledUsed = now;
    this.signalledValid = true;
    if (!eventIdx) return (this.u16(this.driver) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    if (!valid) return true;
    const usedEvent = this.u16(this.driver + 4 + 2 * this.size);
    return ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
  }

  private availIdx(): number {
    return this.u16(this.driver + 2);
  }

  /** Follows a chain from `head`, through at most one indirect table. */
  private walk(head: number): Chain {
    const chain: Chain = { head, readable: [], writable: [] };
    if (head >= this.size)
      throw new VirtqError(`queue ${this.index}: chain head ${head} is outside the ${this.size}-entry descriptor table`);
    let table = this.desc,
      entries = this.size,
      i = head,
      seen = 0,
      indirect = false;
    for (;;) {
      if (++seen > entries)
        throw new VirtqError(`queue ${this.index}: descriptor chain from ${head} loops or is longer than its table (${entries})`);
      const d = table + 16 * i;
      const addr = this.u64(d);
      const len = this.u32(d + 8);
      const flags = this.u16(d + 12);
      const next = this.u16(d + 14);
      if (flags & VIRTQ_DESC_F.INDIRECT) {
        if (indirect) throw new VirtqError(`queue ${this.index}: an indirect table holds an indirect descriptor`);
        if (flags & VIRTQ_DESC_F.NEXT) throw new VirtqError(`queue ${this.index}: descriptor ${i} is both indirect and chained`);
        if (len === 0 || len % 16 || len / 16 > VIRTQ_MAX_SIZE) throw new VirtqError(`queue ${this.index}: indirect table of ${len} bytes`);
        this.ram(addr, len, 'indirect table');
        table = addr;
        entries = len / 16;
        i = 0;
        seen = 0;
        indirect = true;
        continue;
      }
      const off = this.ram(addr, len, 'buffer');
      if (flags & VIRTQ_DESC_F.WRITE) chain.writable.push({ off, len });
      else if (chain.writable.length) throw new VirtqError(`queue ${this.index}: a device-readable buffer follows a writable one`);
      else chain.readable.push({ off, len });
      if (!(flags & VIRTQ_DESC_F.NEXT)) return chain;
      if (next >= entries) throw new VirtqError(`queue ${this.index}: next descriptor ${next} is outside its ${entries}-entry table`);
      i = next;
    }
  }

  /** Offset in mem of [pa, pa + len) when wholly in RAM; else a VirtqError. */
  private ram(pa: number, len: number, what: string): number {
    const off = this.memory.memOffset(pa);
    if (off < 0 || !Number.isSafeInteger(pa + len) || (len > 0 && this.memory.memOffset(pa + len - 1) !== off + len - 1)) {
      throw new VirtqError(`queue ${this.index}: ${what} at 0x${pa.toString(16)} (+${len}) is outside guest RAM`);
    }
    return off;
  }

  private u16(pa: number): number {
    return this.view.getUint16(this.ram(pa, 2, 'ring'), true);
  }

  private u32(pa: number): number {
    return this.view.getUint32(this.ram(pa, 4, 'ring'), true);
  }

  private u64(pa: number): number {
    const off = this.ram(pa, 8, 'descriptor table');
    return this.view.getUint32(off, true) + this.view.getUint32(off + 4, true) * 0x100000000;
  }

  private w16(pa: number, v: number): void {
    this.view.setUint16(this.ram(pa, 2, 'ring'), v, true);
  }

  private w32(pa: number, v: number): void {
    this.view.setUint32(this.ram(pa, 4, 'ring'), v >>> 0, true);
  }
}

/** Copies `n` bytes out of a chain's readable buffers starting at byte `from`. */
export function readChain(mem: Uint8Array, segs: readonly Segment[], from: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let pos = 0,
    skip = from;
  for (const s of segs) {
    if (pos >= n) break;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const take = Math.min(s.len - skip, n - pos);
    out.set(mem.subarray(s.off + skip, s.off + skip + take), pos);
    pos += take;
    skip = 0;
  }
  return pos === n ? out : out.subarray(0, pos);
}

/** Copies bytes into a chain's writable buffers starting at byte `from`; returns bytes written. */
export function writeChain(mem: Uint8Array, segs: readonly Segment[], from: number, data: Uint8Array): number {
  let pos = 0,
    skip = from;
  for (const s of segs) {
    if (pos >= data.length) break;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const take = Math.min(s.len - skip, data.length - pos);
    mem.set(data.subarray(pos, pos + take), s.off + skip);
    pos += take;
    skip = 0;
  }
  return pos;
}

export const chainBytes = (segs: readonly Segment[]): number => segs.reduce((a, s) => a + s.len, 0);
