// Xen blkif rules (public io/blkif.h, io/ring.h, grant_table.h) for the Xen virtual disks (vbd-*),
// read from the device-independent `block_request` / `block_complete` events, the backend's grant
// uses (`xen_grant`: the entry's flags as the backend found them, and Xen's GNTST result), the
// device's `xenbus_state` events (disconnect), and the backend's `device_error` reports of a
// request it refused for its form (a segment outside its page, a bad segment count, a ring
// overrun: emu/personality/xen/blkback.ts writes these details).

import type { EventOf, TraceEvent } from '../../capture/model.ts';
import { GNTST, GTF, gntstName, XENBUS_STATE, xenbusStateName } from '../../arch/hypercalls/xen-io.ts';
import type { Analysis, ReplayContext } from '../analysis.ts';
import type { FindingSink, RuleDef, RuleFamily } from './rule.ts';

const BLKIF = 'Xen public io/blkif.h';

export const BLKIF_RULES = {
  noResponse: {
    id: 'blkif.no-response',
    severity: 'error',
    clause: `${BLKIF} (struct blkif_response: one response per request, "id: copied from request") and io/ring.h (every request consumed is answered on the ring)`,
    title: 'block request never answered',
    trigger: 'a vbd request still without a response when either end of the device goes Closed, or when the trace ends',
  },
  responseId: {
    id: 'blkif.response-id',
    severity: 'error',
    clause: `${BLKIF} (struct blkif_response: id and operation "copied from request")`,
    title: 'response that matches no outstanding request',
    trigger: 'a vbd response whose id is not that of a request outstanding on the same ring, or whose operation differs from that request',
  },
  duplicateId: {
    id: 'blkif.duplicate-id',
    severity: 'warning',
    clause: `${BLKIF} (struct blkif_request: id, "private guest value, echoed in resp")`,
    title: 'request id reused while outstanding',
    trigger: 'a vbd request on a ring that already has an outstanding request with the same id (the responses cannot be told apart)',
  },
  grantEnded: {
    id: 'blkif.grant-after-end-access',
    severity: 'error',
    clause: `Xen public grant_table.h "Invalidating an unused GTF_permit_access entry" (the granter clears the flags only once no one uses it; an in-use entry "cannot be" invalidated) and ${BLKIF} (segment gref: "reference to I/O buffer frame")`,
    title: 'grant used after the frontend ended foreign access',
    trigger:
      'the vbd backend uses a grant reference whose entry no longer permits access (type bits GTF_invalid), though the same reference was usable earlier in the trace: the frontend ended foreign access while a request still named it',
  },
  grantRefused: {
    id: 'blkif.grant-refused',
    severity: 'error',
    clause: `Xen public grant_table.h (GNTST_* results; GTF_permit_access, GTF_readonly; the reference within the table) and ${BLKIF} (segment gref)`,
    title: 'grant reference the backend may not use',
    trigger:
      'a vbd grant use Xen refuses other than after an end of access: a reference beyond the table (GNTST_bad_gntref), an entry never granted, granted to another domain, or read-only where the backend must write the page',
  },
  segments: {
    id: 'blkif.segment-bounds',
    severity: 'error',
    clause: `${BLKIF} (struct blkif_request_segment: first_sect, last_sect inclusive sectors of one 4 KiB frame; BLKIF_MAX_SEGMENTS_PER_REQUEST 11)`,
    title: 'segment outside its page, or a bad segment count',
    trigger:
      'the vbd backend refused a request for its segments: first_sect > last_sect or last_sect > 7, or 0 or more than 11 segments (more than feature-max-indirect-segments for an indirect request)',
  },
  ringOverflow: {
    id: 'blkif.ring-overflow',
    severity: 'error',
    clause: 'Xen public io/ring.h (RING_REQUEST_PROD_OVERFLOW: req_prod at most a ring size ahead of the consumer)',
    title: 'more requests than the ring holds',
    trigger: 'the frontend published a req_prod more than a ring ahead of the backend; the backend stops serving that ring',
  },
} as const satisfies Record<string, RuleDef>;

/** Details blkback gives its device_error events (emu/personality/xen/blkback.ts). */
const SEGMENT_ERROR = /^ring \d+: request \d+: (segment|\d+ segments)/;
const OVERFLOW_ERROR = /^ring \d+: the frontend claims \d+ requests/;
const MAX_OUTSTANDING = 4096;
const MAX_GREFS = 65536;

interface Outstanding {
  op: string;
  event: EventOf<'block_request'>;
}

const isVbd = (device: string): boolean => device.startsWith('vbd-');

class BlkifRules implements Analysis<void> {
  readonly name = 'rules.blkif';
  readonly kinds = ['block_request', 'block_complete', 'xen_grant', 'xenbus_state', 'device_error'] as const;
  private readonly sink: FindingSink;
  /** Outstanding requests by `${device}:${queue}`, then id. */
  private readonly rings = new Map<string, Map<bigint, Outstanding>>();
  /** Grant references each backend used successfully (`${backend}:${gref}`). */
  private readonly usable = new Set<string>();

  constructor(sink: FindingSink) {
    this.sink = sink;
  }

  onEvent(e: TraceEvent, _ctx: ReplayContext): void {
    switch (e.kind) {
      case 'block_request':
        if (isVbd(e.device)) this.request(e);
        break;
      case 'block_complete':
        if (isVbd(e.device)) this.complete(e);
        break;
      case 'xen_grant':
        if (isVbd(e.backend)) this.grant(e);
        break;
      case 'xenbus_state':
        if (isVbd(e.device) && e.xb_state === XENBUS_STATE.Closed)
          this.unanswered(e.device, `when the ${e.end} went ${xenbusStateName(e.xb_state)}`, e);
        break;
      case 'device_error':
        if (isVbd(e.device)) this.deviceError(e);
        break;
      default:
        break;
    }
  }

  private request(e: EventOf<'block_request'>): void {
    const key = `${e.device}:${e.queue}`;
    let ring = this.rings.get(key);
    if (!ring) this.rings.set(key, (ring = new Map()));
    if (ring.has(e.request))
      this.sink.report(
        BLKIF_RULES.duplicateId,
        key,
        `${e.device} ring ${e.queue}: request id ${e.request} reused while a request with that id is outstanding; the frontend cannot tell their responses apart.`,
        [ring.get(e.request)!.event, e],
      );
    else if (ring.size < MAX_OUTSTANDING) ring.set(e.request, { op: e.op, event: e });
  }

  private complete(e: EventOf<'block_complete'>): void {
    const key = `${e.device}:${e.queue}`;
    const ring = this.rings.get(key);
    const req = ring?.get(e.request);
    if (!req) {
      this.sink.report(
        BLKIF_RULES.responseId,
        key,
        `${e.device} ring ${e.queue}: a response with id ${e.request}, but no request with that id is outstanding on this ring.`,
        [e],
      );
      return;
    }
    ring!.delete(e.request);
    if (req.op !== e.op)
      this.sink.report(
        BLKIF_RULES.responseId,
        `${key}:op`,
        `${e.device} ring ${e.queue}: the response to request ${e.request} says ${e.op}, the request was ${req.op}; blkif.h copies the operation from the request.`,
        [req.event, e],
      );
  }

  /** Requests of `device` still without a response: reported, then forgotten. */
  private unanswered(device: string, when: string, at?: TraceEvent): void {
    for (const [key, ring] of this.rings) {
      if (!key.startsWith(device + ':') || ring.size === 0) continue;
      for (const r of ring.values())
        this.sink.report(
          BLKIF_RULES.noResponse,
          key,
          `${device} ring ${r.event.queue}: request ${r.event.request} (${r.op} of sector ${r.event.sector}) had no response ${when}.`,
          [r.event, at],
        );
      ring.clear();
    }
  }

  private grant(e: EventOf<'xen_grant'>): void {
    const key = `${e.backend}:${e.gref}`;
    if (e.gntst === GNTST.okay) {
      if (this.usable.size < MAX_GREFS) this.usable.add(key);
      return;
    }
    const invalid = (e.flags & GTF.type_mask) === 0;
    if (invalid && this.usable.has(key)) {
      this.sink.report(
        BLKIF_RULES.grantEnded,
        e.backend,
        `${e.backend}: grant reference ${e.gref} (frame 0x${e.gfn.toString(16)}) no longer permits access (flags 0x${e.flags.toString(16)}) when the backend came to ${e.access} it; the frontend must keep a grant until the request's response.`,
        [e],
      );
      return;
    }
    const why =
      e.gntst === GNTST.bad_gntref
        ? 'lies beyond the grant table'
        : invalid
          ? 'was never granted (the entry permits no access)'
          : e.access === 'write' && e.flags & GTF.readonly
            ? 'is read-only, and the backend must write into the page (a read request)'
            : 'is not granted to the backend domain';
    this.sink.report(
      BLKIF_RULES.grantRefused,
      `${e.backend}:${e.gntst}:${why}`,
      `${e.backend}: grant reference ${e.gref} ${why}; Xen answered ${gntstName(e.gntst)} and the request fails.`,
      [e],
    );
  }

  private deviceError(e: EventOf<'device_error'>): void {
    if (SEGMENT_ERROR.test(e.detail)) this.sink.report(BLKIF_RULES.segments, e.device, `${e.device}: ${e.detail}.`, [e]);
    else if (OVERFLOW_ERROR.test(e.detail)) this.sink.report(BLKIF_RULES.ringOverflow, e.device, `${e.device}: ${e.detail}.`, [e]);
  }

  finish(): void {
    const devices = new Set([...this.rings.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))));
    for (const d of devices) this.unanswered(d, 'by the end of the trace');
  }
}

export const blkifFamily: RuleFamily = {
  family: 'blkif',
  rules: Object.values(BLKIF_RULES),
  create: (sink) => new BlkifRules(sink),
};
