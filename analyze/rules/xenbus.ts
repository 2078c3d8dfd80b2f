// Xen PV device handshake rules: the XenbusState machine of each end of a device (Xen public
// io/xenbus.h) and the connection protocol of io/blkif.h ("STATE DIAGRAMS", Startup) that blkif
// and netif frontends follow: the frontend publishes its transport parameters (ring-ref*,
// event-channel*) before it says Initialised or Connected, and each end connects only once the
// other has published what it needs.
//
// Read from `xenbus_state` events (every state write of either end) and the `xenstore` traffic
// around them: the frontend's key writes (committed when their transaction ends with "T" and OK)
// and any read of an end's `state` node (how the other end learns it; the emulator's toolstack
// writes the initial states before the guest runs, unrecorded, so a read may be the first the
// trace shows of them).

import type { EventOf, TraceEvent } from '../../capture/model.ts';
import { XENBUS_STATE, xenbusStateName } from '../../arch/hypercalls/xen-io.ts';
import type { Analysis, ReplayContext } from '../analysis.ts';
import type { FindingSink, RuleDef, RuleFamily } from './rule.ts';

const HDR = 'Xen public io/xenbus.h';
const DIAGRAM = 'Xen public io/blkif.h "STATE DIAGRAMS", Startup';

export const XENBUS_RULES = {
  badState: {
    id: 'xenbus.bad-state',
    severity: 'error',
    clause: `${HDR} (enum xenbus_state: 0 Unknown to 8 Reconfigured)`,
    title: 'xenbus state outside the enumeration',
    trigger: 'an end writes a state number above 8 (XenbusStateReconfigured) to its state node',
  },
  backward: {
    id: 'xenbus.illegal-transition',
    severity: 'error',
    clause: `${HDR} (Initialising → InitWait → Initialised → Connected → Closing → Closed) and ${DIAGRAM}`,
    title: 'xenbus state moved backwards',
    trigger:
      'an end moves to an earlier state: back among Initialising..Connected, out of Closing or Closed other than to Closed or (restarting) to Initialising/InitWait, or into Reconfiguring/Reconfigured other than from Connected/Reconfiguring',
  },
  keysMissing: {
    id: 'xenbus.frontend-keys-missing',
    severity: 'error',
    clause: `${DIAGRAM} ("Publish transport parameters", then XenbusStateInitialised) and io/blkif.h, io/netif.h frontend nodes (ring-ref, event-channel)`,
    title: 'frontend Initialised or Connected before writing its ring and event-channel keys',
    trigger:
      'a vbd or vif frontend switches to Initialised or Connected while no committed write of a ring-ref* key or no committed write of an event-channel* key under its directory precedes it',
  },
  frontendEarly: {
    id: 'xenbus.frontend-connected-early',
    severity: 'error',
    clause: `${DIAGRAM} (the frontend queries the backend's device properties, published when the backend is Connected, then goes Connected) and ${HDR} (InitWait: waiting for information from the peer)`,
    title: 'frontend Connected before the backend was ready',
    trigger:
      'a frontend switches to Connected while the backend, as the trace last showed it, is not yet InitWait (any device) or, for a vbd, not yet Connected',
  },
  backendEarly: {
    id: 'xenbus.backend-connected-early',
    severity: 'error',
    clause: `${DIAGRAM} (the backend queries the frontend's transport parameters after XenbusStateInitialised, then goes Connected)`,
    title: 'backend Connected before the frontend published its transport parameters',
    trigger: 'a backend switches to Connected while the frontend, as the trace last showed it, is neither Initialised nor Connected',
  },
} as const satisfies Record<string, RuleDef>;

const S = XENBUS_STATE;
/** Bound on devices and open transactions remembered (memory stays flat whatever the guest writes). */
const MAX_DEVICES = 1024;
const MAX_STATE = S.Reconfigured;
/** Device types whose frontend keys io/blkif.h and io/netif.h define. */
const RING_DEVICES = /^(vbd|vif)-/;
const RING_REF = /(^|\/)((tx|rx)-)?ring-ref\d*$/;
const EVTCHN = /(^|\/)event-channel(-tx|-rx)?$/;
/** A frontend node: /local/domain/<domid>/device/<type>/<id>/<key>. */
const FRONT_PATH = /^\/local\/domain\/(\d+)\/device\/([^/]+)\/([^/]+)(?:\/(.+))?$/;
/** A backend node: /local/domain/<domid>/backend/<type>/<frontend domid>/<id>/<key>. */
const BACK_PATH = /^\/local\/domain\/\d+\/backend\/([^/]+)\/\d+\/([^/]+)(?:\/(.+))?$/;

/** Which device end and key a xenstore path names, with the names xenbus_state events use (vbd-51712). */
export function pvNode(path: string): { device: string; end: 'frontend' | 'backend'; key: string; domid?: number } | undefined {
  const f = FRONT_PATH.exec(path);
  if (f) return { device: `${f[2]}-${f[3]}`, end: 'frontend', key: f[4] ?? '', domid: Number(f[1]) };
  const b = BACK_PATH.exec(path);
  if (b) return { device: `${b[1]}-${b[2]}`, end: 'backend', key: b[3] ?? '' };
  return undefined;
}

interface Dev {
  /** Last state the trace showed for each end (undefined: none yet). */
  fe: number | undefined;
  be: number | undefined;
  /** Frontend keys committed since the frontend last (re)started. */
  ringRef: boolean;
  evtchn: boolean;
}

/** Is `from → to` a move xenbus.h and the blkif.h diagrams allow? */
export function legalTransition(from: number, to: number): boolean {
  if (from === to || to === S.Unknown || from === S.Unknown) return true;
  if (to === S.Closing) return from !== S.Closed;
  if (to === S.Closed) return true;
  if (to === S.Reconfiguring) return from === S.Connected;
  if (to === S.Reconfigured) return from === S.Reconfiguring;
  if (from === S.Reconfiguring || from === S.Reconfigured) return to === S.Connected;
  // A closed end may start again (Linux: frontend Initialising, backend InitWait).
  if (from === S.Closed) return to === S.Initialising || to === S.InitWait;
  if (from === S.Closing) return false;
  // Initialising..Connected: forwards only (skipping states is allowed, blkif.h "Note").
  return to > from;
}

const stateText = (s: number | undefined): string =>
  s === undefined ? 'not yet seen in the trace' : `${s} (${xenbusStateName(s) || '?'})`;

class XenbusRules implements Analysis<void> {
  readonly name = 'rules.xenbus';
  readonly kinds = ['xenbus_state', 'xenstore'] as const;
  private readonly sink: FindingSink;
  private readonly devs = new Map<string, Dev>();
  /** Frontend key writes inside a transaction, by `${domid}:${tx}`, until it ends. */
  private readonly pending = new Map<string, { device: string; key: string }[]>();

  constructor(sink: FindingSink) {
    this.sink = sink;
  }

  private dev(name: string): Dev {
    let d = this.devs.get(name);
    if (!d) {
      d = { fe: undefined, be: undefined, ringRef: false, evtchn: false };
      // Device names come from guest-written paths: past MAX_DEVICES, new ones are judged but not kept.
      if (this.devs.size < MAX_DEVICES) this.devs.set(name, d);
    }
    return d;
  }

  onEvent(e: TraceEvent, _ctx: ReplayContext): void {
    if (e.kind === 'xenstore') this.xenstore(e);
    else if (e.kind === 'xenbus_state') this.state(e);
  }

  private xenstore(e: EventOf<'xenstore'>): void {
    if (e.xs_op === 'TRANSACTION_END' && e.tx !== 0) {
      const k = `${e.domid}:${e.tx}`;
      const list = this.pending.get(k);
      this.pending.delete(k);
      // Committed only when asked to commit ("T") and xenstored said OK.
      if (list && e.result === 'OK' && e.data[0] === 0x54) for (const w of list) this.noteKey(w.device, w.key);
      return;
    }
    if (e.result !== 'OK' || (e.xs_op !== 'WRITE' && e.xs_op !== 'READ')) return;
    const n = pvNode(e.path);
    if (!n) return;
    if (n.key === 'state') {
      // A read tells what the reader saw; writes are the xenbus_state events.
      if (e.xs_op === 'READ') {
        const v = Number.parseInt(new TextDecoder('latin1').decode(e.data), 10);
        if (Number.isFinite(v)) this.dev(n.device)[n.end === 'frontend' ? 'fe' : 'be'] = v;
      }
      return;
    }
    // The frontend's own transport keys (written by the frontend's domain).
    if (e.xs_op !== 'WRITE' || n.end !== 'frontend' || e.domid !== n.domid) return;
    if (e.tx === 0) this.noteKey(n.device, n.key);
    else {
      const k = `${e.domid}:${e.tx}`;
      const list = this.pending.get(k) ?? [];
      if (list.length < 256) list.push({ device: n.device, key: n.key });
      if (this.pending.has(k) || this.pending.size < MAX_DEVICES) this.pending.set(k, list);
    }
  }

  private noteKey(device: string, key: string): void {
    const d = this.dev(device);
    if (RING_REF.test(key)) d.ringRef = true;
    if (EVTCHN.test(key)) d.evtchn = true;
  }

  /** A key written in a transaction still open (the state may be written in the same one). */
  private pendingKey(device: string, re: RegExp): boolean {
    for (const list of this.pending.values()) if (list.some((w) => w.device === device && re.test(w.key))) return true;
    return false;
  }

  private state(e: EventOf<'xenbus_state'>): void {
    const R = XENBUS_RULES;
    const d = this.dev(e.device);
    const to = e.xb_state;
    const end = e.end;
    const label = `${e.device} ${end}`;
    if (to > MAX_STATE) {
      this.sink.report(R.badState, label, `${label} wrote state ${to}; xenbus.h defines 0 (Unknown) to 8 (Reconfigured).`, [e]);
      return;
    }
    // Before anything is seen, an end is where the toolstack created it: Initialising (blkif.h).
    const from = (end === 'frontend' ? d.fe : d.be) ?? S.Initialising;
    if (!legalTransition(from, to))
      this.sink.report(
        R.backward,
        `${label} ${from}->${to}`,
        `${label} moved from ${stateText(from)} to ${stateText(to)}; an end only moves forwards through Initialising, InitWait, Initialised, Connected, Closing, Closed (and starts again from Closed).`,
        [e],
      );
    if (end === 'frontend') this.frontend(e, d, from, to);
    else this.backend(e, d, to);
    if (end === 'frontend') d.fe = to;
    else d.be = to;
  }

  private frontend(e: EventOf<'xenbus_state'>, d: Dev, from: number, to: number): void {
    const R = XENBUS_RULES;
    // Starting again: the keys of the last connection no longer count.
    if (to === S.Initialising || to === S.Closed) Object.assign(d, { ringRef: false, evtchn: false });
    const entering = (to === S.Initialised || to === S.Connected) && from !== S.Initialised && from !== S.Connected;
    const ring = d.ringRef || this.pendingKey(e.device, RING_REF);
    const evtchn = d.evtchn || this.pendingKey(e.device, EVTCHN);
    if (entering && RING_DEVICES.test(e.device) && (!ring || !evtchn)) {
      const missing = [!ring ? 'ring-ref' : '', !evtchn ? 'event-channel' : ''].filter(Boolean).join(' and ');
      this.sink.report(
        R.keysMissing,
        e.device,
        `${e.device}: the frontend switched to ${xenbusStateName(to)} before writing its ${missing} key(s); the backend reads them when it sees this state and cannot map the ring.`,
        [e],
      );
    }
    if (to !== S.Connected || from === S.Connected) return;
    const vbd = e.device.startsWith('vbd-');
    const ok = vbd ? d.be === S.Connected : d.be === S.InitWait || d.be === S.Initialised || d.be === S.Connected;
    if (!ok)
      this.sink.report(
        R.frontendEarly,
        e.device,
        `${e.device}: the frontend switched to Connected while the backend was ${stateText(d.be)}; ${vbd ? 'blkfront must wait for the backend to be Connected (it publishes sectors, info and sector-size then)' : 'the backend must at least be InitWait (its features published)'}.`,
        [e],
      );
  }

  private backend(e: EventOf<'xenbus_state'>, d: Dev, to: number): void {
    if (to !== S.Connected || d.be === S.Connected) return;
    if (d.fe === S.Initialised || d.fe === S.Connected) return;
    this.sink.report(
      XENBUS_RULES.backendEarly,
      e.device,
      `${e.device}: the backend switched to Connected while the frontend was ${stateText(d.fe)}; it cannot have read the frontend's ring-ref and event-channel yet.`,
      [e],
    );
  }

  finish(): void {}
}

export const xenbusFamily: RuleFamily = {
  family: 'xenbus',
  rules: Object.values(XENBUS_RULES),
  create: (sink) => new XenbusRules(sink),
};
