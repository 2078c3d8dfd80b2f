// Xen's FIFO event channel ABI (public/event_channel.h "FIFO ABI"; xen/common/event_fifo.c), the
// ABI Xen 4.17 offers a domU and Linux picks ("xen:events: Using FIFO-based ABI"). The guest owns
// the memory: a control block per vCPU (EVTCHNOP_init_control: a guest frame and an offset; `ready`
// bitmap u32 @0, `head[16]` u32 @8) and the event array, one guest page per 1024 ports
// (EVTCHNOP_expand_array). Each port has a 32-bit event word: PENDING (bit 31), MASKED (30), LINKED
// (29), BUSY (28) and LINK (bits 0-16, the next port in its queue). Raising an event sets PENDING
// and, when the word is not masked and not yet linked, appends the port to the queue of its priority
// (0 highest … 15 lowest, 7 by default) on the vCPU it notifies: the previous tail's LINK, or the
// queue's head when the queue was empty; an empty queue becoming non-empty sets its `ready` bit and
// then marks events pending on the vCPU (evtchn_upcall_pending, the PPI). The guest walks the queues
// and clears LINKED itself. Hypercalls run atomically with respect to the guest here, so Xen's
// compare-and-exchange retries (BUSY) never happen.

import type { GuestAccess } from './xen-guest-memory.ts';

export const FIFO = {
  PENDING: 31,
  MASKED: 30,
  LINKED: 29,
  BUSY: 28,
  LINK_BITS: 17,
  LINK_MASK: (1 << 17) - 1,
  MAX_QUEUES: 16,
  PRIORITY_DEFAULT: 7,
  PRIORITY_MIN: 15,
  /** sizeof(evtchn_fifo_control_block): ready u32, reserved u32, head[16] u32. */
  CONTROL_BLOCK_SIZE: 72,
  WORDS_PER_PAGE: 1024,
  /** EVTCHN_FIFO_NR_CHANNELS / 1024 pages. */
  MAX_ARRAY_PAGES: 128,
} as const;

const ERR = { ENOENT: -2, ENOSPC: -28, EINVAL: -22, EOPNOTSUPP: -95 } as const;
const bit = (n: number): number => (1 << n) >>> 0;

interface PortFifoState {
  priority: number;
  /** The queue the port was last linked on (Xen's fifo_lastq). */
  lastVcpu: number;
  lastPriority: number;
  /** Raised while the event array had no page for it (re-raised when the page arrives). */
  savedPending: boolean;
}

export interface FifoHost {
  readonly numCpu: number;
  readonly access: GuestAccess;
  /** Can a guest frame be mapped (RAM or the grant/magic windows)? */
  canBack(gfn: number): boolean;
  /** Is `port` within the allocated channel buckets (port_is_valid)? */
  portValid(port: number): boolean;
  /** The vCPU a port notifies. */
  notifyVcpu(port: number): number;
  /** vcpu_mark_events_pending. */
  markEventsPending(vcpu: number): void;
}

export class FifoEventChannels {
  private readonly host: FifoHost;
  /** Per vCPU: the control block's guest-physical address, or -1 (not mapped yet). */
  private readonly controlBlock: number[];
  /** Per vCPU and priority: the queue's tail port (0: empty). */
  private readonly tail: Uint32Array[];
  /** Guest-physical address of each event-array page. */
  private readonly arrayPages: number[] = [];
  private readonly portState = new Map<number, PortFifoState>();

  constructor(host: FifoHost) {
    this.host = host;
    this.controlBlock = new Array<number>(host.numCpu).fill(-1);
    this.tail = Array.from({ length: host.numCpu }, () => new Uint32Array(FIFO.MAX_QUEUES));
  }

  /** Ports the event array covers. */
  get numEvtchns(): number {
    return this.arrayPages.length * FIFO.WORDS_PER_PAGE;
  }

  /** Control block of a vCPU (guest-physical), or -1. */
  controlBlockOf(vcpu: number): number {
    return this.controlBlock[vcpu] ?? -1;
  }

  private state(port: number): PortFifoState {
    let s = this.portState.get(port);
    if (!s) {
      s = { priority: FIFO.PRIORITY_DEFAULT, lastVcpu: 0, lastPriority: 0, savedPending: false };
      this.portState.set(port, s);
    }
    return s;
  }

  /** evtchn_fifo_init: a newly allocated port starts at the default priority. */
  portAllocated(port: number): void {
    const s = this.state(port);
    s.priority = FIFO.PRIORITY_DEFAULT;
    s.savedPending = false;
  }

  /** The event word's guest-physical address, or -1 when the array has no page for the port. */
  private wordPa(port: number): number {
    if (port >= this.numEvtchns) return -1;
    return this.arrayPages[Math.floor(port / FIFO.WORDS_PER_PAGE)]! + 4 * (port % FIFO.WORDS_PER_PAGE);
  }

  private view(pa: number, len: number): DataView | undefined {
    return this.host.access.physView(pa, len);
  }

  private word(port: number): DataView | undefined {
    const pa = this.wordPa(port);
    return pa < 0 ? undefined : this.view(pa, 4);
  }

  /** EVTCHNOP_init_control for `vcpu` (its arguments checked): 0 or a negative errno. */
  mapControlBlock(vcpu: number, gfn: bigint, offset: number): number {
    if (this.controlBlock[vcpu]! >= 0) return ERR.EINVAL;
    if (gfn >= 1n << 36n || !this.host.canBack(Number(gfn))) return ERR.EINVAL;
    this.controlBlock[vcpu] = Number(gfn) * 4096 + offset;
    return 0;
  }

  /** EVTCHNOP_expand_array: one more page of event words. */
  expandArray(gfn: bigint): number {
    if (this.arrayPages.length >= FIFO.MAX_ARRAY_PAGES) return ERR.ENOSPC;
    if (gfn >= 1n << 36n || !this.host.canBack(Number(gfn))) return ERR.EINVAL;
    const first = this.numEvtchns;
    this.arrayPages.push(Number(gfn) * 4096);
    // Re-raise what was raised while the page was missing.
    for (let port = first; port < this.numEvtchns; port++) {
      if (!this.host.portValid(port)) break;
      const s = this.portState.get(port);
      if (s?.savedPending) this.setPending(port, this.host.notifyVcpu(port));
    }
    return 0;
  }

  /** setup_ports: a port pending under the 2-level ABI stays pending; every port at priority 7. */
  adoptPort(port: number, pending: boolean): void {
    const s = this.state(port);
    if (pending) s.savedPending = true;
    s.priority = FIFO.PRIORITY_DEFAULT;
  }

  /** EVTCHNOP_set_priority once the port is known to be valid. */
  setPriority(port: number, priority: number): number {
    if (priority > FIFO.PRIORITY_MIN) return ERR.EINVAL;
    this.state(port).priority = priority;
    return 0;
  }

  priorityOf(port: number): number {
    return this.portState.get(port)?.priority ?? FIFO.PRIORITY_DEFAULT;
  }

  /** evtchn_fifo_set_pending on vCPU `v`. */
  setPending(port: number, v: number): void {
    const w = this.word(port);
    if (!w) {
      this.state(port).savedPending = true;
      return;
    }
    const s = this.state(port);
    // PENDING is set before the control block is looked at, as event_fifo.c does
    let word = (w.getUint32(0, true) | bit(FIFO.PENDING)) >>> 0;
    const cb = this.controlBlock[v]!;
    if (cb < 0) {
      // no control block on that vCPU: the event is pending but not linked (Xen warns)
      w.setUint32(0, word, true);
      return;
    }
    let linked = true;
    if (!(word & bit(FIFO.MASKED)) && !(word & bit(FIFO.LINKED))) {
      word = (word | bit(FIFO.LINKED)) >>> 0;
      w.setUint32(0, word, true);
      const oldTail = this.tail[s.lastVcpu]!;
      if (oldTail[s.lastPriority] === port) oldTail[s.lastPriority] = 0; // it was a tail: that queue is empty now
      s.lastVcpu = v;
      s.lastPriority = s.priority;
      const q = this.tail[v]!;
      linked = false;
      const t = q[s.priority]!;
      if (t) linked = this.setLink(t, port);
      if (!linked) this.view(cb + 8 + 4 * s.priority, 4)?.setUint32(0, port, true); // head
      q[s.priority] = port;
    } else w.setUint32(0, word, true);
    if (!linked) {
      const ready = this.view(cb, 4);
      if (ready) {
        const r = ready.getUint32(0, true);
        if (!(r & bit(s.priority))) {
          ready.setUint32(0, (r | bit(s.priority)) >>> 0, true);
          this.host.markEventsPending(v);
        }
      }
    }
  }

  /** Link the tail to `port` iff the tail is still LINKED (the guest may have consumed it). */
  private setLink(tailPort: number, port: number): boolean {
    const w = this.word(tailPort);
    if (!w) return false;
    const word = w.getUint32(0, true);
    if (!(word & bit(FIFO.LINKED))) return false;
    w.setUint32(0, ((word & ~(bit(FIFO.BUSY) | FIFO.LINK_MASK)) | port) >>> 0, true);
    return true;
  }

  /** evtchn_fifo_clear_pending: only the P bit (the guest unlinks). */
  clearPending(port: number): void {
    const w = this.word(port);
    if (w) w.setUint32(0, (w.getUint32(0, true) & ~bit(FIFO.PENDING)) >>> 0, true);
  }

  /** evtchn_fifo_unmask: clear MASKED; a pending event is linked again. */
  unmask(port: number): void {
    const w = this.word(port);
    if (!w) return;
    const word = (w.getUint32(0, true) & ~bit(FIFO.MASKED)) >>> 0;
    w.setUint32(0, word, true);
    if (word & bit(FIFO.PENDING)) this.setPending(port, this.host.notifyVcpu(port));
  }

  isPending(port: number): boolean {
    const w = this.word(port);
    return !!w && (w.getUint32(0, true) & bit(FIFO.PENDING)) !== 0;
  }

  isMasked(port: number): boolean {
    const w = this.word(port);
    return !w || (w.getUint32(0, true) & bit(FIFO.MASKED)) !== 0;
  }
}
