// A xenstore client for the hypercall harness: writes requests into the domU's ring page
// (io/xs_wire.h layout), notifies the store event channel with EVTCHNOP_send, and reads what
// xenstored put in the response ring. Byte-level on purpose, so tests can also send what a
// well-behaved client never would (oversized headers, bad indices, garbage).
import type { xenHarness } from './harness.ts';

type Harness = ReturnType<typeof xenHarness>;

export const RING = 0x39001000;
export const STORE_PORT = 1;
export const OFF = { REQ: 0, RSP: 1024, REQ_CONS: 2048, REQ_PROD: 2052, RSP_CONS: 2056, RSP_PROD: 2060, ERROR: 2072 } as const;
export const T = {
  DIRECTORY: 1,
  READ: 2,
  GET_PERMS: 3,
  WATCH: 4,
  UNWATCH: 5,
  TRANSACTION_START: 6,
  TRANSACTION_END: 7,
  INTRODUCE: 8,
  GET_DOMAIN_PATH: 10,
  WRITE: 11,
  MKDIR: 12,
  RM: 13,
  SET_PERMS: 14,
  WATCH_EVENT: 15,
  ERROR: 16,
  RESET_WATCHES: 21,
  DIRECTORY_PART: 22,
} as const;

export interface Msg {
  type: number;
  req: number;
  tx: number;
  /** Payload as latin1 text (NULs kept). */
  body: string;
}

const ARG = 0x40002000;

export class XsClient {
  readonly h: Harness;
  private nextReq = 1;
  constructor(h: Harness) {
    this.h = h;
  }

  /** Raw bytes into req[] (wrapping), then req_prod moved; no notification. */
  put(bytes: Uint8Array): void {
    let prod = this.h.mem.u32(RING + OFF.REQ_PROD);
    for (const b of bytes) {
      this.h.mem.w8(RING + OFF.REQ + (prod % 1024), b);
      prod = (prod + 1) >>> 0;
    }
    this.h.mem.w32(RING + OFF.REQ_PROD, prod);
  }

  /** EVTCHNOP_send on the store port. */
  kick(port = STORE_PORT): bigint {
    this.h.mem.w32(ARG, port);
    return this.h.hypercall(32, [4n, BigInt(ARG)]);
  }

  static encode(type: number, req: number, tx: number, body: string, len = body.length): Uint8Array {
    const b = new Uint8Array(16 + body.length);
    const v = new DataView(b.buffer);
    v.setUint32(0, type, true);
    v.setUint32(4, req, true);
    v.setUint32(8, tx, true);
    v.setUint32(12, len, true);
    for (let i = 0; i < body.length; i++) b[16 + i] = body.charCodeAt(i);
    return b;
  }

  /**
   * Send one request and return everything xenstored answered (reply and watch events). Like a
   * real client it writes no more than the ring has room for, notifying after each piece.
   */
  call(type: number, body: string, tx = 0): Msg[] {
    const msg = XsClient.encode(type, this.nextReq++, tx, body);
    const out: Msg[] = [];
    for (let at = 0; at < msg.length;) {
      const used = (this.h.mem.u32(RING + OFF.REQ_PROD) - this.h.mem.u32(RING + OFF.REQ_CONS)) >>> 0;
      const n = Math.min(1024 - used, msg.length - at);
      if (n === 0) throw new Error('xenstored stopped taking requests');
      this.put(msg.subarray(at, at + n));
      at += n;
      this.kick();
      out.push(...this.take());
    }
    return out;
  }

  /** The reply to a request (watch events that came with it are dropped). */
  reply(type: number, body: string, tx = 0): Msg {
    const all = this.call(type, body, tx);
    // A reply longer than the ring arrives over several notifications.
    for (let i = 0; i < 16 && !all.some((m) => m.type !== T.WATCH_EVENT); i++) {
      this.kick();
      all.push(...this.take());
    }
    const r = all.find((m) => m.type !== T.WATCH_EVENT);
    if (!r) throw new Error(`no reply to type ${type} ${JSON.stringify(body)}`);
    return r;
  }

  private partial: number[] = [];

  /** Every byte in rsp[] is taken (rsp_cons moves); the complete messages among them are returned. */
  take(): Msg[] {
    let cons = this.h.mem.u32(RING + OFF.RSP_CONS);
    const prod = this.h.mem.u32(RING + OFF.RSP_PROD);
    while (cons !== prod && (prod - cons) >>> 0 <= 1024) {
      this.partial.push(this.h.mem.u8(RING + OFF.RSP + (cons % 1024)));
      cons = (cons + 1) >>> 0;
    }
    this.h.mem.w32(RING + OFF.RSP_CONS, cons);
    const out: Msg[] = [];
    while (this.partial.length >= 16) {
      const v = new DataView(Uint8Array.from(this.partial.slice(0, 16)).buffer);
      const len = v.getUint32(12, true);
      if (this.partial.length < 16 + len) break;
      const body = String.fromCharCode(...this.partial.slice(16, 16 + len));
      out.push({ type: v.getUint32(0, true), req: v.getUint32(4, true), tx: v.getUint32(8, true), body });
      this.partial.splice(0, 16 + len);
    }
    return out;
  }
}
