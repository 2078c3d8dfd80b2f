// xenstore protocol rules (Xen docs/misc/xenstore.txt and public io/xs_wire.h), read from the
// `xenstore` events: every request with xenstored's answer (OK or the errno name of an XS_ERROR
// reply), every watch event, and the ring errors that made xenstored drop a connection.

import type { EventOf, TraceEvent } from '../../capture/model.ts';
import type { Analysis, ReplayContext } from '../analysis.ts';
import type { FindingSink, RuleDef, RuleFamily } from './rule.ts';

const DOC = 'Xen docs/misc/xenstore.txt';
const WIRE = 'Xen public io/xs_wire.h';

/** A watch storm: this many events for one path within WINDOW_NS. */
export const STORM_EVENTS = 64;
export const STORM_WINDOW_NS = 100e6;

export const XENSTORE_RULES = {
  permission: {
    id: 'xenstore.permission-denied',
    severity: 'warning',
    clause: `${DOC} "Database read, write and permissions operations" (SET_PERMS: n no access, r read, w write, b both) and "Domain management" (INTRODUCE, RELEASE, RESUME, SET_TARGET: dom0 only)`,
    title: 'xenstore request refused for lack of permission',
    trigger: 'a request of a guest domain (domid other than 0) answered EACCES or EPERM',
  },
  storm: {
    id: 'xenstore.watch-storm',
    severity: 'warning',
    clause: `${DOC} "Watches" (every modification under <wpath> is a WATCH_EVENT message) and its introduction (xenstore "is not a high-performance facility")`,
    title: 'watch storm',
    trigger: `more than ${STORM_EVENTS} WATCH_EVENT messages for one path to one domain within ${STORM_WINDOW_NS / 1e6} ms of trace time`,
  },
  malformed: {
    id: 'xenstore.malformed-request',
    severity: 'error',
    clause: `${DOC} introduction (paths: no doubled or trailing slashes, at most 3072 bytes, XENSTORE_ABS_PATH_MAX in ${WIRE}) and "Xenstore protocol details - introduction" (payload syntax: nul-terminated strings)`,
    title: 'malformed xenstore request',
    trigger:
      'a request answered EINVAL: wrong number of NUL-terminated arguments, an invalid path or token, a bad transaction end argument',
  },
  unknownType: {
    id: 'xenstore.unknown-type',
    severity: 'error',
    clause: `${WIRE} (enum xsd_sockmsg_type: the message types xenstored knows)`,
    title: 'unknown xenstore message type',
    trigger: 'a message whose type is not in xsd_sockmsg_type (recorded as "type N"; xenstored answers ENOSYS)',
  },
  ringError: {
    id: 'xenstore.ring-error',
    severity: 'error',
    clause: `${WIRE} struct xenstore_domain_interface (error: XENSTORE_ERROR_COMM, _RINGIDX, _PROTO) and ${DOC} introduction (a payload over XENSTORE_PAYLOAD_MAX 4096: "its xenstored connection will be immediately killed")`,
    title: 'xenstore ring broken by the guest',
    trigger:
      'xenstored dropped a connection for a ring error: indices more than a ring apart (RINGIDX), a message longer than XENSTORE_PAYLOAD_MAX (PROTO), or a communication error (COMM)',
  },
} as const satisfies Record<string, RuleDef>;

interface Storm {
  /** Times (ns) of the last STORM_EVENTS events, as a ring. */
  times: number[];
  next: number;
  /** Inside a storm already reported (until the rate drops). */
  inStorm: boolean;
}

const MAX_PATHS = 4096;

class XenstoreRules implements Analysis<void> {
  readonly name = 'rules.xenstore';
  readonly kinds = ['xenstore'] as const;
  private readonly sink: FindingSink;
  private readonly storms = new Map<string, Storm>();

  constructor(sink: FindingSink) {
    this.sink = sink;
  }

  onEvent(ev: TraceEvent, ctx: ReplayContext): void {
    const e = ev as EventOf<'xenstore'>;
    const R = XENSTORE_RULES;
    const who = `domain ${e.domid}`;
    const what = `${e.xs_op}${e.path ? ' ' + e.path : ''}`;
    if (e.xs_op === 'WATCH_EVENT') {
      this.watchEvent(e, ctx);
      return;
    }
    if (e.result.startsWith('XENSTORE_ERROR_')) {
      this.sink.report(
        R.ringError,
        `${e.domid}:${e.result}`,
        `${who}: xenstored dropped the connection with ${e.result} (at ${e.xs_op === 'ring' ? 'the ring indices' : e.xs_op}); nothing more is answered on that ring.`,
        [e],
      );
      return;
    }
    if (/^type \d+$/.test(e.xs_op)) {
      this.sink.report(
        R.unknownType,
        `${e.domid}:${e.xs_op}`,
        `${who} sent message ${e.xs_op}, which xs_wire.h does not define; xenstored answered ${e.result}.`,
        [e],
      );
      return;
    }
    if (e.result === 'EINVAL') {
      this.sink.report(
        R.malformed,
        `${e.domid}:${e.xs_op}`,
        `${who}: ${what} answered EINVAL; check the arguments (NUL-terminated, a valid path).`,
        [e],
      );
      return;
    }
    if ((e.result === 'EACCES' || e.result === 'EPERM') && e.domid !== 0)
      this.sink.report(
        R.permission,
        `${e.domid}:${e.xs_op}:${e.path}`,
        `${who}: ${what} answered ${e.result}; the node's permissions do not let this domain ${e.xs_op === 'READ' || e.xs_op === 'DIRECTORY' || e.xs_op === 'GET_PERMS' ? 'read' : 'change'} it (or the operation is dom0's).`,
        [e],
      );
  }

  private watchEvent(e: EventOf<'xenstore'>, ctx: ReplayContext): void {
    const key = `${e.domid}:${e.path}`;
    let s = this.storms.get(key);
    if (!s) {
      if (this.storms.size >= MAX_PATHS) return;
      this.storms.set(key, (s = { times: [], next: 0, inStorm: false }));
    }
    const now = ctx.toNs(e.time);
    // The oldest of the last STORM_EVENTS events (this one included) decides.
    const full = s.times.length === STORM_EVENTS;
    const oldest = full ? s.times[s.next]! : undefined;
    if (full) s.times[s.next] = now;
    else s.times.push(now);
    s.next = (s.next + 1) % STORM_EVENTS;
    const storm = oldest !== undefined && now - oldest < STORM_WINDOW_NS;
    if (storm && !s.inStorm)
      this.sink.report(
        XENSTORE_RULES.storm,
        key,
        `domain ${e.domid} got ${STORM_EVENTS + 1} watch events for ${e.path} (token ${e.token || '-'}) within ${((now - oldest!) / 1e6).toFixed(3)} ms; something rewrites the node in a loop, or the watch is on too wide a path.`,
        [e],
      );
    s.inStorm = storm;
  }

  finish(): void {}
}

export const xenstoreFamily: RuleFamily = {
  family: 'xenstore',
  rules: Object.values(XENSTORE_RULES),
  create: (sink) => new XenstoreRules(sink),
};
