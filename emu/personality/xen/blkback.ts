// blkback: the block backend the emulated dom0 runs for each `--disk` (io/blkif.h, arm-abi), as
// Linux's xen-blkback answers a frontend (docs/xen.md "blkback"):
//
// - Probe (before the domU runs): feature-max-indirect-segments 256, multi-queue-max-queues 4,
//   max-ring-page-order 4, then InitWait.
// - Frontend Initialised or Connected: read protocol, multi-queue-num-queues, each ring's
//   ring-ref(s) (ring-page-order) and event-channel; map the ring pages through their grants and
//   bind the channels; then, in one transaction, feature-flush-cache 1, feature-discard 0,
//   feature-barrier 1, feature-persistent 0, sectors, info, sector-size 512,
//   physical-sector-size 512; then Connected.
// - Requests (on a notification): read, write, write-barrier, flush and indirect read/write,
//   data through the segments' grants; every other operation is BLKIF_RSP_EOPNOTSUPP; a bad
//   segment count or sector range, a write to a read-only disk, or a grant Xen would refuse is
//   BLKIF_RSP_ERROR, as blkback answers them. A frontend that produces more requests than the ring
//   holds has that ring halted (blkback stops processing it).
//
// Each request is a `block_request` and `block_complete` event (device vbd-<virtual-device>),
// each grant use a `xen_grant` event.

import {
  BLKIF_ENTRY_SIZE,
  BLKIF_IND,
  BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST,
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP,
  BLKIF_REQ,
  BLKIF_RSP,
  BLKIF_RSP_OFF,
  BLKIF_SEG_SIZE,
  GNTST,
  VDISK,
  XENBUS_STATE,
} from '../../../arch/hypercalls/xen-io.ts';
import { XenbusBackend, type BackendContext } from './backend.ts';
import { BackRing } from './ring.ts';

/** The disk behind a vbd (emu/storage's DiskImage has this shape). */
export interface BlockBacking {
  readonly sectors: number;
  readonly readOnly: boolean;
  read(sector: number, out: Uint8Array): void;
  write(sector: number, data: Uint8Array): void;
  flush(): void;
  /** Faults given to --disk-fault (absent: none). */
  readonly faults?: { refuse?: boolean };
  /** Does a request for these sectors fail on purpose (--disk-fault eio@)? Absent: never. */
  failsAt?(sector: number, bytes: number): boolean;
}

/** Linux blkback's limits (MAX_INDIRECT_SEGMENTS, xen_blkif_max_ring_order, queues offered). */
export const BLKBACK = { maxIndirectSegments: 256, maxRingPageOrder: 4, maxQueues: 4 } as const;
const SECTOR = 512;
/** GUEST_EVTCHN_PPI (public/arch-arm.h): the INTID an event-channel notification raises. */
const EVTCHN_PPI = 31;
const SECTORS_PER_PAGE = 8;
const SEGS_PER_INDIRECT_PAGE = 4096 / BLKIF_SEG_SIZE;
const OP_NAMES: Readonly<Record<number, 'read' | 'write' | 'flush' | 'discard'>> = {
  0: 'read',
  1: 'write',
  2: 'write',
  3: 'flush',
  5: 'discard',
};

interface Segment {
  gref: number;
  first: number;
  last: number;
}

interface Queue {
  ring: BackRing;
  dom0Port: number;
  halted: boolean;
}

interface Done {
  id: bigint;
  op: number;
  status: number;
  queue: number;
  kind: 'read' | 'write' | 'flush' | 'discard' | 'other';
  written: number;
}

export class BlkBack extends XenbusBackend {
  readonly devid: number;
  readonly disk: BlockBacking;
  private queues: Queue[] = [];
  /** Requests served and errors, for `info` and tests. */
  readonly stats = { requests: 0, errors: 0, sectorsRead: 0, sectorsWritten: 0 };

  constructor(ctx: BackendContext, devid: number, disk: BlockBacking, paths: { frontend: string; backend: string }) {
    super(ctx, `vbd-${devid}`, paths);
    this.devid = devid;
    this.disk = disk;
  }

  protected probe(): void {
    const xs = this.xs;
    xs.write(`${this.backend}/feature-max-indirect-segments`, String(BLKBACK.maxIndirectSegments));
    xs.write(`${this.backend}/multi-queue-max-queues`, String(BLKBACK.maxQueues));
    xs.write(`${this.backend}/max-ring-page-order`, String(BLKBACK.maxRingPageOrder));
    // What the hotplug script writes once the disk is attached.
    xs.write(`${this.backend}/physical-device`, `ca:${(this.devid & 0xff).toString(16)}`);
    xs.write(`${this.backend}/hotplug-status`, 'connected');
  }

  protected frontendChanged(state: number): void {
    switch (state) {
      case XENBUS_STATE.Initialising:
        if (this.state === XENBUS_STATE.Closed) this.switchState(XENBUS_STATE.InitWait);
        break;
      case XENBUS_STATE.Initialised:
      case XENBUS_STATE.Connected:
        if (this.state === XENBUS_STATE.Connected) break;
        // --disk-fault refuse: the backend will not connect this disk (xenbus_dev_fatal, then Closing).
        if (this.disk.faults?.refuse) {
          if (this.state !== XENBUS_STATE.Closing) this.fatal(95, 'the disk refuses to connect (--disk-fault refuse)');
          break;
        }
        this.disconnect();
        if (this.connectRings()) this.connect();
        else this.disconnect();
        break;
      case XENBUS_STATE.Closing:
        this.switchState(XENBUS_STATE.Closing);
        break;
      case XENBUS_STATE.Closed:
        this.disconnect();
        this.switchState(XENBUS_STATE.Closed);
        break;
      case XENBUS_STATE.Unknown:
        this.disconnect();
        break;
      default:
        this.fatal(22, `saw state ${state} at frontend`);
    }
  }

  /** connect_ring(): protocol, queues and each queue's ring; false (after a fatal error) on failure. */
  private connectRings(): boolean {
    const fe = this.frontend;
    const protocol = this.xs.read(`${fe}/protocol`);
    // arm-abi is the native layout; x86_64-abi has the same layout on arm64. x86_32-abi is not modelled.
    if (protocol !== undefined && protocol !== 'arm-abi' && protocol !== 'x86_64-abi') {
      this.fatal(38, `unknown fe protocol ${protocol}`);
      return false;
    }
    const nq = this.readUint(`${fe}/multi-queue-num-queues`) ?? 1;
    if (nq === 0 || nq > BLKBACK.maxQueues) {
      this.fatal(38, `guest requested ${nq} queues, exceeding the maximum of ${BLKBACK.maxQueues}.`);
      return false;
    }
    for (let q = 0; q < nq; q++) {
      const dir = nq === 1 ? fe : `${fe}/queue-${q}`;
      const queue = this.connectQueue(dir);
      if (!queue) return false;
      this.queues.push(queue);
    }
    return true;
  }

  private connectQueue(dir: string): Queue | undefined {
    const evtchn = this.readUint(`${dir}/event-channel`);
    if (evtchn === undefined) {
      this.fatal(22, `reading ${dir}/event-channel`);
      return undefined;
    }
    const order = this.readUint(`${this.frontend}/ring-page-order`);
    const refs: number[] = [];
    if (order === undefined) {
      const ref = this.readUint(`${dir}/ring-ref`);
      if (ref === undefined) {
        this.fatal(22, `reading ${dir}/ring-ref`);
        return undefined;
      }
      refs.push(ref);
    } else {
      if (order > BLKBACK.maxRingPageOrder) {
        this.fatal(22, `${dir}/request ${order} ring page order exceed max:${BLKBACK.maxRingPageOrder}`);
        return undefined;
      }
      for (let i = 0; i < 1 << order; i++) {
        const ref = this.readUint(`${dir}/ring-ref${i}`);
        if (ref === undefined) {
          this.fatal(22, `reading ${dir}/ring-ref${i}`);
          return undefined;
        }
        refs.push(ref);
      }
    }
    const pages: DataView[] = [];
    for (const ref of refs) {
      const g = this.ctx.grants.use(this.name, ref, 'write', this.ctx.bus.vcpu);
      const page = g.status === GNTST.okay ? this.ctx.grants.page(g.pa) : undefined;
      if (!page) {
        this.fatal(22, `mapping ring-ref port ${evtchn}`);
        return undefined;
      }
      pages.push(page);
    }
    const port = this.ctx.channels.bind(evtchn, this);
    if (port < 0) {
      this.fatal(-port, `mapping ring-ref port ${evtchn}`);
      return undefined;
    }
    return { ring: new BackRing(pages, BLKIF_ENTRY_SIZE), dom0Port: port, halted: false };
  }

  /** connect(): the disk's details in one transaction, then Connected. */
  private connect(): void {
    const be = this.backend;
    const info = this.disk.readOnly ? VDISK.READONLY : 0;
    this.xs.transaction((tx) => {
      this.xs.write(`${be}/feature-flush-cache`, '1', tx);
      this.xs.write(`${be}/feature-discard`, '0', tx);
      this.xs.write(`${be}/feature-barrier`, '1', tx);
      this.xs.write(`${be}/feature-persistent`, '0', tx);
      this.xs.write(`${be}/sectors`, String(this.disk.sectors), tx);
      this.xs.write(`${be}/info`, String(info), tx);
      this.xs.write(`${be}/sector-size`, String(SECTOR), tx);
      this.xs.write(`${be}/physical-sector-size`, String(SECTOR), tx);
    });
    this.switchState(XENBUS_STATE.Connected);
  }

  private disconnect(): void {
    for (const q of this.queues) this.ctx.channels.unbind(q.dom0Port);
    this.queues = [];
  }

  /** The frontend notified one of our channels: serve every queue with requests. */
  onNotify(vcpu: number): void {
    this.queues.forEach((q, i) => this.serve(q, i, vcpu));
  }

  private serve(q: Queue, index: number, vcpu: number): void {
    if (q.halted) return;
    const done: Done[] = [];
    for (let rounds = 0; rounds < 1 << 16; rounds++) {
      if (q.ring.overflowed()) {
        // "Frontend provided bogus ring requests": blkback stops serving this ring.
        q.halted = true;
        this.deviceError(
          vcpu,
          `ring ${index}: the frontend claims ${q.ring.pending()} requests in a ring of ${q.ring.size}; blkback stops serving this ring`,
        );
        break;
      }
      while (q.ring.pending() > 0) done.push(this.dispatch(q.ring.takeRequest(), index, vcpu));
      if (!q.ring.finalCheck()) break;
    }
    if (done.length === 0) return;
    for (const d of done) q.ring.putResponse(response(d.id, d.op, d.status));
    const notify = q.ring.pushResponses();
    // The event-channel PPI announces the completions unless the frontend's rsp_event said not to.
    const intid = notify ? EVTCHN_PPI : 0;
    const r = this.ctx.env.recorder;
    if (r.enabled) {
      for (const d of done) {
        r.record({
          kind: 'block_complete',
          time: this.ctx.env.now(),
          vcpu,
          device: this.name,
          queue: d.queue,
          request: d.id,
          op: d.kind,
          status: d.status === BLKIF_RSP.OKAY ? 'ok' : d.status === BLKIF_RSP.EOPNOTSUPP ? 'unsupported' : 'ioerr',
          length: d.written,
          intid,
        });
      }
    }
    if (notify) this.ctx.channels.notifyGuest(q.dom0Port, vcpu);
  }

  /** One request, copied out of the ring: do it and say how it ended. */
  private dispatch(req: Uint8Array, queue: number, vcpu: number): Done {
    const v = new DataView(req.buffer);
    const op = v.getUint8(BLKIF_REQ.OP);
    const id = v.getBigUint64(BLKIF_REQ.ID, true);
    const sector = v.getBigUint64(BLKIF_REQ.SECTOR, true);
    this.stats.requests++;
    const fin = (effOp: number, kind: Done['kind'], status: number, written = 0): Done => {
      if (status !== BLKIF_RSP.OKAY) this.stats.errors++;
      return { id, op: effOp, status, queue, kind, written };
    };
    switch (op) {
      case BLKIF_OP.READ:
      case BLKIF_OP.WRITE:
      case BLKIF_OP.WRITE_BARRIER:
      case BLKIF_OP.FLUSH_DISKCACHE: {
        const nseg = v.getUint8(BLKIF_REQ.NR_SEGS);
        const segs: Segment[] = [];
        for (let i = 0; i < Math.min(nseg, BLKIF_MAX_SEGMENTS_PER_REQUEST); i++)
          segs.push(segmentAt(v, BLKIF_REQ.SEG + i * BLKIF_SEG_SIZE));
        const bad = nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST || (nseg === 0 && (op === BLKIF_OP.READ || op === BLKIF_OP.WRITE));
        if (bad) this.segmentError(queue, vcpu, id, `${nseg} segments (a request carries 1 to ${BLKIF_MAX_SEGMENTS_PER_REQUEST})`);
        return this.rw(op, bad ? undefined : segs, sector, fin, queue, vcpu, id);
      }
      case BLKIF_OP.INDIRECT: {
        const inner = v.getUint8(BLKIF_IND.INDIRECT_OP);
        const nseg = v.getUint16(BLKIF_IND.NR_SEGS, true);
        const effOp = inner === BLKIF_OP.READ || inner === BLKIF_OP.WRITE ? inner : op;
        if (effOp === op || nseg === 0 || nseg > BLKBACK.maxIndirectSegments) {
          if (effOp !== op)
            this.segmentError(queue, vcpu, id, `${nseg} segments (an indirect request carries 1 to ${BLKBACK.maxIndirectSegments})`);
          this.recordRequest(
            queue,
            vcpu,
            id,
            inner === BLKIF_OP.WRITE ? 'write' : inner === BLKIF_OP.READ ? 'read' : 'other',
            safe(sector),
            0,
          );
          return fin(effOp, effOp === BLKIF_OP.WRITE ? 'write' : effOp === BLKIF_OP.READ ? 'read' : 'other', BLKIF_RSP.ERROR);
        }
        const segs = this.indirectSegments(v, nseg, vcpu);
        return this.rw(effOp, segs, sector, fin, queue, vcpu, id);
      }
      case BLKIF_OP.DISCARD:
        // feature-discard is 0: the operation is not supported.
        this.recordRequest(queue, vcpu, id, 'discard', safe(sector), 0);
        return fin(op, 'discard', BLKIF_RSP.EOPNOTSUPP);
      default:
        this.recordRequest(queue, vcpu, id, 'other', 0, 0);
        return fin(op, 'other', BLKIF_RSP.EOPNOTSUPP);
    }
  }

  /** The segments an indirect request's pages list (undefined when a page's grant fails). */
  private indirectSegments(v: DataView, nseg: number, vcpu: number): Segment[] | undefined {
    const pages = Math.ceil(nseg / SEGS_PER_INDIRECT_PAGE);
    const segs: Segment[] = [];
    for (let p = 0; p < pages && p < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; p++) {
      const g = this.ctx.grants.use(this.name, v.getUint32(BLKIF_IND.GREFS + 4 * p, true), 'read', vcpu);
      const page = g.status === GNTST.okay ? this.ctx.grants.page(g.pa) : undefined;
      if (!page) return undefined;
      for (let i = 0; i < SEGS_PER_INDIRECT_PAGE && segs.length < nseg; i++) segs.push(segmentAt(page, i * BLKIF_SEG_SIZE));
    }
    return segs;
  }

  /** Read, write, barrier or flush over checked segments (undefined: the request was malformed). */
  private rw(
    op: number,
    segs: Segment[] | undefined,
    sector: bigint,
    fin: (op: number, kind: Done['kind'], status: number, written?: number) => Done,
    queue: number,
    vcpu: number,
    id: bigint,
  ): Done {
    const isWrite = op === BLKIF_OP.WRITE || op === BLKIF_OP.WRITE_BARRIER;
    const kind: Done['kind'] = OP_NAMES[op] === 'flush' ? 'flush' : isWrite ? 'write' : 'read';
    const sectors = (segs ?? []).reduce((n, s) => n + (s.last >= s.first ? s.last - s.first + 1 : 0), 0);
    this.recordRequest(queue, vcpu, id, kind, safe(sector), sectors * SECTOR);
    const outside = segs ? segs.findIndex((s) => s.last >= SECTORS_PER_PAGE || s.last < s.first) : -1;
    if (outside >= 0) {
      const s = segs![outside]!;
      this.segmentError(
        queue,
        vcpu,
        id,
        `segment ${outside} has first_sect ${s.first}, last_sect ${s.last} (0 <= first <= last <= 7 in its page)`,
      );
    }
    if (!segs || outside >= 0) return fin(op, kind, BLKIF_RSP.ERROR);
    if (isWrite && this.disk.readOnly) return fin(op, kind, BLKIF_RSP.ERROR);
    if (sectors > 0 && sector + BigInt(sectors) > BigInt(this.disk.sectors)) return fin(op, kind, BLKIF_RSP.ERROR);
    if (op === BLKIF_OP.FLUSH_DISKCACHE && segs.length === 0) {
      this.disk.flush();
      return fin(op, kind, BLKIF_RSP.OKAY);
    }
    // Every segment's grant first (blkback maps them all before any I/O).
    const pages: number[] = [];
    for (const s of segs) {
      const g = this.ctx.grants.use(this.name, s.gref, isWrite ? 'read' : 'write', vcpu);
      if (g.status !== GNTST.okay) return fin(op, kind, BLKIF_RSP.ERROR);
      pages.push(g.pa);
    }
    // --disk-fault eio@: the request fails as a failing disk's would (BLKIF_RSP_ERROR).
    if (sectors > 0 && this.disk.failsAt?.(Number(sector), sectors * SECTOR)) return fin(op, kind, BLKIF_RSP.ERROR);
    let at = Number(sector);
    let written = 0;
    segs.forEach((s, i) => {
      const n = s.last - s.first + 1;
      const page = this.ctx.grants.page(pages[i]!)!;
      const buf = new Uint8Array(page.buffer, page.byteOffset + s.first * SECTOR, n * SECTOR);
      if (isWrite) this.disk.write(at, buf.slice());
      else {
        const tmp = new Uint8Array(n * SECTOR);
        this.disk.read(at, tmp);
        buf.set(tmp);
        written += tmp.length;
      }
      at += n;
    });
    if (isWrite) this.stats.sectorsWritten += sectors;
    else this.stats.sectorsRead += sectors;
    if (op === BLKIF_OP.WRITE_BARRIER || op === BLKIF_OP.FLUSH_DISKCACHE) this.disk.flush();
    return fin(op, kind, BLKIF_RSP.OKAY, written);
  }

  /** A request refused for its segments, as blkback logs it (the blkif rules read this detail). */
  private segmentError(queue: number, vcpu: number, id: bigint, what: string): void {
    this.deviceError(vcpu, `ring ${queue}: request ${id}: ${what}; answered BLKIF_RSP_ERROR`);
  }

  private recordRequest(
    queue: number,
    vcpu: number,
    id: bigint,
    op: 'read' | 'write' | 'flush' | 'discard' | 'other',
    sector: number,
    length: number,
  ): void {
    const r = this.ctx.env.recorder;
    if (r.enabled)
      r.record({ kind: 'block_request', time: this.ctx.env.now(), vcpu, device: this.name, queue, request: id, op, sector, length });
  }

  /** Connected rings (for `info` and tests). */
  get rings(): number {
    return this.queues.length;
  }

  get xenbusState(): number {
    return this.state;
  }
}

/** A guest's 64-bit sector number as a trace u53 (larger ones are out of range anyway). */
const safe = (sector: bigint): number => (sector <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(sector) : Number.MAX_SAFE_INTEGER);

function segmentAt(v: DataView, off: number): Segment {
  return { gref: v.getUint32(off, true), first: v.getUint8(off + 4), last: v.getUint8(off + 5) };
}

/** struct blkif_response (16 bytes; the rest of the slot keeps the request's bytes). */
function response(id: bigint, op: number, status: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigUint64(BLKIF_RSP_OFF.ID, id, true);
  v.setUint8(BLKIF_RSP_OFF.OP, op);
  v.setInt16(BLKIF_RSP_OFF.STATUS, status, true);
  return b;
}
