// The emulated dom0's xenstore side: the database (xenstore.ts), the domU's ring connection
// (xenstore-ring.ts) and one privileged connection for the toolstack and the backends, with
// every request of either recorded as a `xenstore` event and every change of a PV device's
// `state` node as a `xenbus_state` event.
//
// Backends do not run inside xenstored: when a change fires a backend's watch, its callback
// runs after the request that caused it has been answered (the domU sees the acknowledgement
// first, then what the backend did), as with real xenstored and a dom0 kernel driver.

import { XENBUS_STATE, XS_TYPE, xsTypeName } from '../../../arch/hypercalls/xen-io.ts';
import type { DeviceEnv } from '../../devices/irq.ts';
import { processRequest, type XsReply } from './xenstored.ts';
import { XenStoreDb, type XsConnection, type XsTransaction, type XsWatch } from './xenstore.ts';
import { ringErrorName, XenstoreRing } from './xenstore-ring.ts';

const enc = new TextEncoder();
const dec = new TextDecoder('latin1');

/** A PV device as xenbus_state events name it, with its two xenstore directories. */
export interface PvDevice {
  /** type/id: vbd/51712, vif/0. */
  name: string;
  frontend: string;
  backend: string;
}

export interface XenBusOptions {
  domid: number;
  env: DeviceEnv;
  /** The xenstore interface page (guest memory), or undefined when unbacked. */
  page(): DataView | undefined;
  /** Notify the domU on its store event channel. */
  notifyGuest(): void;
}

/** Runaway guard: backend reactions that keep causing reactions stop after this many. */
const MAX_DEFERRED = 100_000;

export class XenBus {
  readonly db = new XenStoreDb();
  readonly ring: XenstoreRing;
  readonly dom0: Dom0Xenstore;
  readonly devices: PvDevice[] = [];
  private readonly opts: XenBusOptions;
  private readonly deferred: (() => void)[] = [];
  private draining = false;
  private readonly statePaths = new Map<string, { device: string; end: 'frontend' | 'backend' }>();
  private readonly lastState = new Map<string, number>();
  /** Every state each end went through, in order (for the run summary). */
  private readonly history = new Map<string, number[]>();
  /** The vCPU whose notification is being served (-1 outside one), for event records. */
  vcpu = -1;
  /** While a request is processed, the events it caused wait here so the request is recorded first. */
  private held: (() => void)[] | undefined;
  /** Counts for `info` and the benchmark. */
  readonly stats = { requests: 0, watchEvents: 0 };

  constructor(opts: XenBusOptions) {
    this.opts = opts;
    const self = this;
    this.ring = new XenstoreRing(opts.domid, {
      page: opts.page,
      handle: (conn, type, reqId, txId, payload) => self.handleGuest(conn, type, reqId, txId, payload),
      notify: opts.notifyGuest,
      dropped: (conn, error, h) =>
        self.recordXs(
          conn.domid,
          h ? xsTypeName(h.type) || `type ${h.type}` : 'ring',
          h?.reqId ?? 0,
          h?.txId ?? 0,
          '',
          new Uint8Array(0),
          '',
          ringErrorName(error),
        ),
    });
    this.ring.onWatchEvent = (path, token) => {
      this.stats.watchEvents++;
      this.afterRequest(() => this.recordXs(opts.domid, 'WATCH_EVENT', 0, 0, path, new Uint8Array(0), token, 'OK'));
    };
    this.dom0 = new Dom0Xenstore(this);
    this.db.connections.push(this.dom0, this.ring);
  }

  /** Register a PV device so changes of its `state` nodes are recorded. */
  addDevice(d: PvDevice): void {
    this.devices.push(d);
    this.statePaths.set(`${d.frontend}/state`, { device: d.name, end: 'frontend' });
    this.statePaths.set(`${d.backend}/state`, { device: d.name, end: 'backend' });
  }

  /** The domU notified the store channel. */
  guestNotified(vcpu: number): void {
    const before = this.vcpu;
    this.vcpu = vcpu;
    this.ring.service();
    this.drain();
    this.ring.push();
    this.vcpu = before;
  }

  /** Run a dom0 action from outside a guest notification (e.g. a scheduled shutdown request). */
  fromDom0(action: () => void): void {
    action();
    this.drain();
    this.ring.push();
  }

  private handleGuest(conn: XenstoreRing, type: number, reqId: number, txId: number, payload: Uint8Array): void {
    this.stats.requests++;
    const r = this.process(conn, { type, reqId, txId, payload });
    this.recordReply(conn.domid, reqId, txId, type, r);
    this.releaseHeld();
    conn.reply(r.type, reqId, txId, r.payload);
    if (r.registered) conn.deliver(this.db.watchPath(conn, r.registered, r.registered.path), r.registered.token);
    this.drain();
  }

  /** A request of the privileged connection, recorded like the domU's. */
  dom0Request(type: number, payload: Uint8Array, txId = 0, quiet = false): XsReply {
    const r = this.process(this.dom0, { type, reqId: 0, txId, payload });
    if (!quiet) this.recordReply(0, 0, txId, type, r);
    else if (r.type !== XS_TYPE.ERROR) this.noteState(r, true);
    this.releaseHeld();
    if (r.registered) {
      this.dom0.adopt(r.registered);
      this.dom0.deliver(r.registered.path, r.registered.token, r.registered);
    }
    return r;
  }

  /** processRequest with the watch events it fires held back, to be recorded after the request. */
  private process(conn: XsConnection, req: { type: number; reqId: number; txId: number; payload: Uint8Array }): XsReply {
    const outer = this.held;
    this.held = [];
    try {
      return processRequest(this.db, conn, req);
    } finally {
      const mine = this.held;
      this.held = outer;
      this.pendingRelease = mine;
    }
  }

  private pendingRelease: (() => void)[] = [];

  private releaseHeld(): void {
    const list = this.pendingRelease;
    this.pendingRelease = [];
    for (const f of list) f();
  }

  /** Record now, or after the request being processed has been recorded. */
  afterRequest(record: () => void): void {
    if (this.held) this.held.push(record);
    else record();
  }

  /** Queue a backend reaction; it runs once the current request has been answered. */
  defer(fn: () => void): void {
    this.deferred.push(fn);
  }

  /** Run queued backend reactions (and what they cause) to the end. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let n = 0; this.deferred.length && n < MAX_DEFERRED; n++) this.deferred.shift()!();
      this.deferred.length = 0;
    } finally {
      this.draining = false;
    }
  }

  private recordReply(domid: number, reqId: number, txId: number, type: number, r: XsReply): void {
    const rec = r.record;
    this.recordXs(domid, rec.op, reqId, txId, rec.path, rec.data, rec.token, rec.result);
    if (r.type !== XS_TYPE.ERROR) this.noteState(r, false);
  }

  /** A successful WRITE to a PV device's state node: record the change (xenbus_state). */
  private noteState(r: XsReply, quiet: boolean): void {
    if (r.record.op !== 'WRITE') return;
    const dev = this.statePaths.get(r.record.path);
    if (!dev) return;
    const state = Number.parseInt(dec.decode(r.record.data), 10);
    if (!Number.isFinite(state) || state < 0) return;
    if (this.lastState.get(r.record.path) === state) return;
    this.lastState.set(r.record.path, state);
    const h = this.history.get(r.record.path) ?? [];
    h.push(state);
    this.history.set(r.record.path, h);
    const rec = this.opts.env.recorder;
    if (!quiet && rec.enabled)
      rec.record({
        kind: 'xenbus_state',
        time: this.opts.env.now(),
        vcpu: this.vcpu,
        device: dev.device,
        end: dev.end,
        xb_state: state >>> 0,
      });
  }

  /** The last state written to a device end (XENBUS_STATE values; Unknown when none). */
  stateOf(device: string, end: 'frontend' | 'backend'): number {
    const d = this.devices.find((x) => x.name === device);
    if (!d) return XENBUS_STATE.Unknown;
    return this.lastState.get(`${end === 'frontend' ? d.frontend : d.backend}/state`) ?? XENBUS_STATE.Unknown;
  }

  /** The states a device end went through, in order (the toolstack's initial one first). */
  statesOf(device: string, end: 'frontend' | 'backend'): number[] {
    const d = this.devices.find((x) => x.name === device);
    if (!d) return [];
    return [...(this.history.get(`${end === 'frontend' ? d.frontend : d.backend}/state`) ?? [])];
  }

  recordXs(domid: number, op: string, reqId: number, tx: number, path: string, data: Uint8Array, token: string, result: string): void {
    const rec = this.opts.env.recorder;
    if (!rec.enabled) return;
    rec.record({
      kind: 'xenstore',
      time: this.opts.env.now(),
      vcpu: this.vcpu,
      domid,
      xs_op: op,
      req_id: reqId,
      tx,
      path,
      data: data.slice(),
      token,
      result,
    });
  }
}

/**
 * dom0's privileged connection: the toolstack writes the domain's tree through it (quietly, before
 * the guest runs) and the backends read, write and watch through it (recorded, domid 0).
 */
export class Dom0Xenstore implements XsConnection {
  readonly domid = 0;
  readonly privileged = true;
  readonly watches: XsWatch[] = [];
  readonly transactions = new Map<number, XsTransaction>();
  nextTxId = 0;
  /** While true (toolstack set-up) requests are not recorded. */
  quiet = false;
  private readonly bus: XenBus;
  private readonly callbacks = new Map<XsWatch, (path: string) => void>();
  private readonly pendingCb = new Map<string, (path: string) => void>();

  constructor(bus: XenBus) {
    this.bus = bus;
  }

  deliver(path: string, token: string, watch: XsWatch): void {
    const cb = this.callbacks.get(watch);
    if (!cb) return;
    if (!this.quiet) {
      this.bus.stats.watchEvents++;
      this.bus.afterRequest(() => this.bus.recordXs(0, 'WATCH_EVENT', 0, 0, path, new Uint8Array(0), token, 'OK'));
    }
    this.bus.defer(() => cb(path));
  }

  private req(type: number, args: (string | Uint8Array)[], tx?: XsTransaction): XsReply {
    const parts = args.map((a) => (typeof a === 'string' ? enc.encode(a + '\0') : a));
    const len = parts.reduce((n, p) => n + p.length, 0);
    const payload = new Uint8Array(len);
    let at = 0;
    for (const p of parts) {
      payload.set(p, at);
      at += p.length;
    }
    return this.bus.dom0Request(type, payload, tx?.id ?? 0, this.quiet);
  }

  /** The value at a path, or undefined when absent. */
  read(path: string, tx?: XsTransaction): string | undefined {
    const r = this.req(XS_TYPE.READ, [path], tx);
    return r.type === XS_TYPE.ERROR ? undefined : dec.decode(r.payload);
  }

  write(path: string, value: string, tx?: XsTransaction): boolean {
    return this.req(XS_TYPE.WRITE, [path, enc.encode(value)], tx).type !== XS_TYPE.ERROR;
  }

  mkdir(path: string, tx?: XsTransaction): boolean {
    return this.req(XS_TYPE.MKDIR, [path], tx).type !== XS_TYPE.ERROR;
  }

  rm(path: string, tx?: XsTransaction): boolean {
    return this.req(XS_TYPE.RM, [path], tx).type !== XS_TYPE.ERROR;
  }

  /** SET_PERMS with xs_lib strings: owner first ("n1"), then grants ("r0"). */
  setPerms(path: string, perms: string[], tx?: XsTransaction): boolean {
    return this.req(XS_TYPE.SET_PERMS, [path, ...perms], tx).type !== XS_TYPE.ERROR;
  }

  /** Watch a path; `cb` runs (deferred) for the first event and every later one. */
  watch(path: string, token: string, cb: (path: string) => void): void {
    this.pendingCb.set(`${path}\0${token}`, cb);
    const r = this.req(XS_TYPE.WATCH, [path, token]);
    if (r.type === XS_TYPE.ERROR) this.pendingCb.delete(`${path}\0${token}`);
  }

  /** Called by the bus before the registration's first event goes out. */
  adopt(w: XsWatch): void {
    const key = `${w.path}\0${w.token}`;
    const cb = this.pendingCb.get(key);
    if (cb) {
      this.callbacks.set(w, cb);
      this.pendingCb.delete(key);
    }
  }

  /** Run `body` in a transaction, retrying on EAGAIN as xenbus_transaction_end callers do. */
  transaction(body: (tx: XsTransaction) => void): boolean {
    for (let attempt = 0; attempt < 16; attempt++) {
      const start = this.req(XS_TYPE.TRANSACTION_START, ['']);
      if (start.type === XS_TYPE.ERROR) return false;
      const id = Number.parseInt(dec.decode(start.payload), 10);
      const tx = this.transactions.get(id);
      if (!tx) return false;
      body(tx);
      const end = this.req(XS_TYPE.TRANSACTION_END, ['T'], tx);
      if (end.type !== XS_TYPE.ERROR) return true;
      if (dec.decode(end.payload) !== 'EAGAIN\0') return false;
    }
    return false;
  }
}
