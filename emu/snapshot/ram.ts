// Guest memory (bus.mem: RAM and the extra windows) as copy-on-write 4K pages for snapshots.
//
// A snapshot's RAM is an array with one entry per page: an immutable copy, shared with every other
// snapshot in which the page had the same contents, or null for a page of zeros. Taking one copies
// only the pages written since the previous one: stores by the vCPUs are tracked exactly (the first
// store to a clean page misses the write TLB and lists the page, CpuShared.clean), and the pages
// devices looked up for DMA (MachineBus.touched) are compared with their last copy. Restoring
// writes back the pages that differ between the current contents and the snapshot's.

import type { CpuShared } from '../cpu/state.ts';
import type { MachineBus } from '../machine/bus.ts';

const PAGE = 4096;
/** Estimated cost of one page-array slot (a pointer), for the memory bound. */
const SLOT_COST = 8;

/** One copied page and the number of page arrays holding it. */
interface PageCopy {
  readonly data: Uint8Array;
  refs: number;
}

export type PageArray = (PageCopy | null)[];

const ZERO = new Uint8Array(PAGE);

export class RamPages {
  private readonly mem: Uint8Array;
  private readonly shared: CpuShared;
  private readonly bus: MachineBus;
  readonly pages: number;
  /** The page array the current contents started from (the last snapshot taken or restored). */
  private base: PageArray;
  /** Bytes of page copies alive (held by a snapshot or the base). */
  bytes = 0;
  /** Check every page at each capture and fail on a write the tracking missed (tests). */
  readonly verify: boolean;
  /** Pages copied by the last capture, written by the last restore. */
  lastCount = 0;

  private readonly flushTlbs: () => void;

  constructor(bus: MachineBus, shared: CpuShared, flushTlbs: () => void, opts: { verify?: boolean } = {}) {
    this.flushTlbs = flushTlbs;
    this.mem = bus.mem;
    this.bus = bus;
    this.shared = shared;
    this.verify = opts.verify ?? false;
    this.pages = Math.ceil(this.mem.length / PAGE);
    // the extra windows (Xen's shared pages, flash) are written by the personality and devices
    for (const w of bus.windows) for (let p = w.off / PAGE; p < (w.off + w.size) / PAGE; p++) this.touch(p);
    // The first array: before the guest runs, only pages loaders wrote or devices looked up can be
    // other than zero (mem starts zeroed). Only those are read: reading a page the guest never
    // touched would make the host back it (a 512 MiB guest would cost 512 MiB at once).
    const first: PageArray = new Array(this.pages).fill(null);
    for (const p of new Set([...bus.loadedPages, ...bus.touchedList]))
      if (!this.isZero(p)) first[p] = { data: this.view(p).slice(), refs: 0 };
    this.base = first;
    this.hold(first);
    shared.clean = new Uint8Array(this.pages).fill(1);
    shared.dirty.length = 0;
  }

  /** Cost of one page array (its slots), for the memory bound. */
  get arrayBytes(): number {
    return this.pages * SLOT_COST;
  }

  /** The current contents as a page array (held until release()): copies the pages written since the base. */
  capture(): PageArray {
    const changed = this.changed();
    if (this.verify) this.check(changed);
    const arr = this.base.slice();
    for (const p of changed) arr[p] = this.isZero(p) ? null : { data: this.view(p).slice(), refs: 0 };
    this.lastCount = changed.size;
    this.hold(arr);
    this.setBase(arr);
    return arr;
  }

  /** Make the current contents those of `arr`. */
  restore(arr: PageArray): void {
    const pages = this.changed();
    const base = this.base;
    for (let p = 0; p < this.pages; p++) if (base[p] !== arr[p]) pages.add(p);
    for (const p of pages) {
      const c = arr[p];
      this.mem.set(c ? c.data : ZERO, p * PAGE);
      this.shared.invalidateMem(p * PAGE, PAGE); // decoded code and compiled blocks of the page are stale
    }
    this.lastCount = pages.size;
    this.setBase(arr);
  }

  /** A snapshot's array is no longer needed. */
  release(arr: PageArray): void {
    for (const c of arr) if (c && --c.refs === 0) this.bytes -= PAGE;
  }

  private hold(arr: PageArray): void {
    for (const c of arr) if (c && c.refs++ === 0) this.bytes += PAGE;
  }

  /** A new base: tracking starts again from it (every page clean, no write cached in a TLB). */
  private setBase(arr: PageArray): void {
    this.hold(arr);
    this.release(this.base);
    this.base = arr;
    this.shared.clean!.fill(1);
    this.shared.dirty.length = 0;
    this.flushTlbs();
  }

  /** Pages whose contents may differ from the base's: written by a vCPU, or a device's that differ. */
  private changed(): Set<number> {
    const out = new Set(this.shared.dirty);
    for (const p of this.bus.touchedList) if (!out.has(p) && !this.same(p, this.base[p] ?? null)) out.add(p);
    return out;
  }

  /** Every page outside `changed` must equal the base (BOOTSCOPE_SNAPSHOT_CHECK). */
  private check(changed: Set<number>): void {
    for (let p = 0; p < this.pages; p++) {
      if (!changed.has(p) && !this.same(p, this.base[p] ?? null))
        throw new Error(`snapshot: page 0x${(p * PAGE).toString(16)} of guest memory changed without being tracked`);
    }
  }

  private touch(p: number): void {
    const t = this.bus.touched;
    if (!t[p]) {
      t[p] = 1;
      this.bus.touchedList.push(p);
    }
  }

  private view(p: number): Uint8Array {
    return this.mem.subarray(p * PAGE, Math.min(this.mem.length, (p + 1) * PAGE));
  }

  private isZero(p: number): boolean {
    const v = this.view(p);
    return Buffer.compare(v, ZERO.subarray(0, v.length)) === 0;
  }

  private same(p: number, c: PageCopy | null): boolean {
    return c ? Buffer.compare(this.view(p), c.data) === 0 : this.isZero(p);
  }
}
