// The domU's xenstore connection: struct xenstore_domain_interface (io/xs_wire.h) in the
// xenstore magic page, served as Xen 4.17's C xenstored serves a domain (xenstored_domain.c
// readchn/writechn, xenstored_core.c handle_input/write_messages):
//
// - Requests are read from req[] between req_cons and req_prod, header first. A header whose len
//   exceeds XENSTORE_PAYLOAD_MAX, or indices more than a ring apart (on either ring), make
//   xenstored give up on the domain: `error` gets XENSTORE_ERROR_PROTO / _RINGIDX, its watches and
//   transactions are dropped and nothing more is read or written ("ignore_connection").
// - Replies and watch events queue per connection and go into rsp[] as far as there is room; a
//   message may be split across notifications. An identical watch event still queued is not
//   queued twice. No new request is read while 20 replies wait for ring space.
// - Every pass that moved an index notifies the domU on the store event channel.
//
// The ring is plain guest memory (the magic page); nothing here can fault the host.

import {
  XENSTORE_ERROR,
  XENSTORE_ERROR_NAMES,
  XENSTORE_PAYLOAD_MAX,
  XENSTORE_RING_SIZE,
  XS_HEADER_SIZE,
  XS_RING,
  XS_TYPE,
} from '../../../arch/hypercalls/xen-io.ts';
import type { XsConnection, XsTransaction, XsWatch } from './xenstore.ts';

/** What the ring needs from its surroundings. */
export interface RingHost {
  /** The interface page (4 KiB of guest memory), or undefined when unbacked. */
  page(): DataView | undefined;
  /** Process one complete request and queue its reply (and what it caused). */
  handle(conn: XenstoreRing, type: number, reqId: number, txId: number, payload: Uint8Array): void;
  /** Notify the domU (EVTCHNOP_send from xenstored's side). */
  notify(): void;
  /** The ring was dropped: record why. */
  dropped(conn: XenstoreRing, error: number, header: { type: number; reqId: number; txId: number; len: number } | undefined): void;
}

interface OutMsg {
  bytes: Uint8Array;
  used: number;
  watch: boolean;
}

/** Replies waiting for ring space before xenstored stops reading requests (quota_req_outstanding). */
const MAX_OUTSTANDING = 20;

export class XenstoreRing implements XsConnection {
  readonly domid: number;
  readonly privileged = false;
  readonly watches: XsWatch[] = [];
  readonly transactions = new Map<number, XsTransaction>();
  nextTxId = 0;
  /** xenstored gave up on this connection (and why, as the interface's error value). */
  ignored = false;
  error: number = XENSTORE_ERROR.NONE;
  private readonly host: RingHost;
  private readonly out: OutMsg[] = [];
  private readonly hdr = new Uint8Array(XS_HEADER_SIZE);
  private hdrUsed = 0;
  private payload: Uint8Array | undefined;
  private payloadUsed = 0;
  private header = { type: 0, reqId: 0, txId: 0, len: 0 };
  /** Watch events queued by a change: recorded by the host, written by the next flush. */
  onWatchEvent: ((path: string, token: string) => void) | undefined;

  constructor(domid: number, host: RingHost) {
    this.domid = domid;
    this.host = host;
  }

  /** The domU notified the store channel: take what is in req[], answer, write rsp[]. */
  service(): void {
    if (this.ignored) return;
    const v = this.host.page();
    if (!v) return;
    let moved = this.flush(v);
    while (!this.ignored && this.outstanding() < MAX_OUTSTANDING) {
      const n = this.readSome(v);
      if (n < 0) break;
      if (n === 0) break;
      moved = true;
      if (this.payload && this.payloadUsed === this.payload.length) this.dispatch();
      if (!this.ignored && this.flush(v)) moved = true;
    }
    if (moved) this.host.notify();
  }

  /** Write queued messages now (after a backend changed something the domU watches). */
  push(): void {
    if (this.ignored) return;
    const v = this.host.page();
    if (v && this.flush(v)) this.host.notify();
  }

  /** Queue a reply to the request being handled. */
  reply(type: number, reqId: number, txId: number, payload: Uint8Array): void {
    this.out.push({ bytes: message(type, reqId, txId, payload), used: 0, watch: false });
  }

  /** XsConnection: queue a watch event (send_event), unless an identical one is still queued. */
  deliver(path: string, token: string): void {
    if (this.ignored) return;
    const payload = new TextEncoder().encode(`${path}\0${token}\0`);
    if (payload.length > XENSTORE_PAYLOAD_MAX) return;
    const bytes = message(XS_TYPE.WATCH_EVENT, 0, 0, payload);
    if (!path.startsWith('@') && this.out.some((m) => m.watch && sameBytes(m.bytes, bytes))) return;
    this.out.push({ bytes, used: 0, watch: true });
    this.onWatchEvent?.(path, token);
  }

  private outstanding(): number {
    let n = 0;
    for (const m of this.out) if (!m.watch) n++;
    return n;
  }

  /** Read request bytes into the header or payload being assembled; -1 when dropped or nothing to do. */
  private readSome(v: DataView): number {
    const cons = v.getUint32(XS_RING.REQ_CONS, true);
    const prod = v.getUint32(XS_RING.REQ_PROD, true);
    if ((prod - cons) >>> 0 > XENSTORE_RING_SIZE) {
      this.drop(v, XENSTORE_ERROR.RINGIDX);
      return -1;
    }
    const avail = (prod - cons) >>> 0;
    if (avail === 0) return 0;
    let want: number;
    let dst: Uint8Array;
    let at: number;
    if (!this.payload) {
      want = XS_HEADER_SIZE - this.hdrUsed;
      dst = this.hdr;
      at = this.hdrUsed;
    } else {
      want = this.payload.length - this.payloadUsed;
      dst = this.payload;
      at = this.payloadUsed;
    }
    // get_input_chunk: up to the end of the ring buffer, then the rest on the next round.
    const idx = cons % XENSTORE_RING_SIZE;
    const n = Math.min(want, avail, XENSTORE_RING_SIZE - idx);
    for (let i = 0; i < n; i++) dst[at + i] = v.getUint8(XS_RING.REQ + idx + i);
    v.setUint32(XS_RING.REQ_CONS, (cons + n) >>> 0, true);
    if (!this.payload) {
      this.hdrUsed += n;
      if (this.hdrUsed === XS_HEADER_SIZE) this.startPayload(v);
    } else this.payloadUsed += n;
    return n;
  }

  private startPayload(v: DataView): void {
    const h = new DataView(this.hdr.buffer);
    this.header = { type: h.getUint32(0, true), reqId: h.getUint32(4, true), txId: h.getUint32(8, true), len: h.getUint32(12, true) };
    if (this.header.len > XENSTORE_PAYLOAD_MAX) {
      this.drop(v, XENSTORE_ERROR.PROTO, this.header);
      return;
    }
    this.payload = new Uint8Array(this.header.len);
    this.payloadUsed = 0;
  }

  private dispatch(): void {
    const { type, reqId, txId } = this.header;
    const payload = this.payload!;
    this.payload = undefined;
    this.hdrUsed = 0;
    this.host.handle(this, type, reqId, txId, payload);
  }

  /** write_messages(): as much of the queue as rsp[] has room for; true when an index moved. */
  private flush(v: DataView): boolean {
    let moved = false;
    while (this.out.length && !this.ignored) {
      const cons = v.getUint32(XS_RING.RSP_CONS, true);
      const prod = v.getUint32(XS_RING.RSP_PROD, true);
      if ((prod - cons) >>> 0 > XENSTORE_RING_SIZE) {
        this.drop(v, XENSTORE_ERROR.RINGIDX);
        return moved;
      }
      const m = this.out[0]!;
      // get_output_chunk: free space up to the end of the buffer.
      const idx = prod % XENSTORE_RING_SIZE;
      const free = XENSTORE_RING_SIZE - ((prod - cons) >>> 0);
      const n = Math.min(m.bytes.length - m.used, free, XENSTORE_RING_SIZE - idx);
      if (n === 0) return moved;
      for (let i = 0; i < n; i++) v.setUint8(XS_RING.RSP + idx + i, m.bytes[m.used + i]!);
      v.setUint32(XS_RING.RSP_PROD, (prod + n) >>> 0, true);
      m.used += n;
      moved = true;
      if (m.used === m.bytes.length) this.out.shift();
    }
    return moved;
  }

  /** ignore_connection(): set the interface's error, drop watches, transactions and queued output. */
  private drop(v: DataView, error: number, header?: { type: number; reqId: number; txId: number; len: number }): void {
    this.ignored = true;
    this.error = error;
    v.setUint32(XS_RING.ERROR, error, true);
    this.watches.length = 0;
    this.transactions.clear();
    this.out.length = 0;
    this.payload = undefined;
    this.host.dropped(this, error, header);
  }
}

/** A wire message: header then payload. */
export function message(type: number, reqId: number, txId: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(XS_HEADER_SIZE + payload.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, reqId, true);
  v.setUint32(8, txId, true);
  v.setUint32(12, payload.length, true);
  b.set(payload, XS_HEADER_SIZE);
  return b;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The name a dropped connection's error is recorded under. */
export function ringErrorName(error: number): string {
  return XENSTORE_ERROR_NAMES[error] ?? `error ${error}`;
}
