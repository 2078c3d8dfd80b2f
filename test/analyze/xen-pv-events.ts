// Event builders for the Xen PV rule tests (xenbus, xenstore, blkif): hand-made streams in the
// shapes the xen machine records them (emu/personality/xen/), written through the real store.
import type { NewEvent, TraceEvent } from '../../capture/model.ts';
import { createTrace, openTrace } from '../../capture/store/index.ts';
import { check } from '../../analyze/check.ts';
import { at, GICD3, GICR3, tmpTraces, writeTrace, type TmpTraces } from './engine-helpers.ts';

export const FE = '/local/domain/1/device/vbd/51712';
export const BE = '/local/domain/0/backend/vbd/1/51712';
export const VBD = 'vbd-51712';

export function xs(
  domid: number,
  xs_op: string,
  path: string,
  data = '',
  o: { tx?: number; result?: string; token?: string; req_id?: number } = {},
): NewEvent {
  return {
    kind: 'xenstore',
    time: at(),
    vcpu: 0,
    domid,
    xs_op,
    req_id: o.req_id ?? 1,
    tx: o.tx ?? 0,
    path,
    data: new TextEncoder().encode(data),
    token: o.token ?? '',
    result: o.result ?? 'OK',
  };
}

export const state = (end: 'frontend' | 'backend', xb_state: number, device = VBD): NewEvent => ({
  kind: 'xenbus_state',
  time: at(),
  vcpu: 0,
  device,
  end,
  xb_state,
});

/** A state write as the machine records it: the xenstore WRITE, then the xenbus_state event. */
export function writeState(end: 'frontend' | 'backend', s: number, tx = 0): NewEvent[] {
  return [xs(end === 'frontend' ? 1 : 0, 'WRITE', `${end === 'frontend' ? FE : BE}/state`, String(s), { tx }), state(end, s)];
}

export const request = (id: number, op: 'read' | 'write' | 'flush' = 'read', queue = 0, device = VBD): NewEvent => ({
  kind: 'block_request',
  time: at(),
  vcpu: 0,
  device,
  queue,
  request: BigInt(id),
  op,
  sector: 8 * id,
  length: op === 'flush' ? 0 : 4096,
});

export const complete = (id: number, op: 'read' | 'write' | 'flush' = 'read', queue = 0, device = VBD): NewEvent => ({
  kind: 'block_complete',
  time: at(),
  vcpu: 0,
  device,
  queue,
  request: BigInt(id),
  op,
  status: 'ok',
  length: op === 'read' ? 4096 : 0,
  intid: 31,
});

export const grant = (gref: number, flags: number, gntst: number, access: 'read' | 'write' = 'write', gfn = 0x4a000 + gref): NewEvent => ({
  kind: 'xen_grant',
  time: at(),
  vcpu: 0,
  backend: VBD,
  gref,
  granter: 1,
  flags,
  gfn,
  access,
  gntst,
});

/**
 * blkfront's handshake as Linux 6.1 makes it on the xen machine (test/real/xen-disk.test.ts):
 * the backend's InitWait read, keys in one transaction, Initialised, backend Connected, Connected.
 */
export function linuxHandshake(): NewEvent[] {
  return [
    xs(1, 'READ', `${FE}/state`, '1'),
    xs(1, 'READ', `${BE}/state`, '2'),
    xs(1, 'TRANSACTION_START', '', '3\0'),
    xs(1, 'WRITE', `${FE}/multi-queue-num-queues`, '2', { tx: 3 }),
    xs(1, 'WRITE', `${FE}/queue-0/ring-ref`, '8', { tx: 3 }),
    xs(1, 'WRITE', `${FE}/queue-0/event-channel`, '3', { tx: 3 }),
    xs(1, 'WRITE', `${FE}/queue-1/ring-ref`, '9', { tx: 3 }),
    xs(1, 'WRITE', `${FE}/queue-1/event-channel`, '4', { tx: 3 }),
    xs(1, 'WRITE', `${FE}/protocol`, 'arm-abi', { tx: 3 }),
    xs(1, 'TRANSACTION_END', '', 'T\0', { tx: 3 }),
    ...writeState('frontend', 3, 4),
    xs(0, 'READ', `${FE}/queue-0/ring-ref`, '8'),
    ...writeState('backend', 4),
    xs(1, 'READ', `${BE}/state`, '4'),
    ...writeState('frontend', 4, 5),
  ];
}

export function linuxClose(): NewEvent[] {
  return [...writeState('frontend', 5), ...writeState('backend', 5), ...writeState('frontend', 6), ...writeState('backend', 6)];
}

/** Findings of a hand-made xen trace, with the rule ids found (sorted, unique). */
export function xenFindings(tmp: TmpTraces, name: string, events: NewEvent[]) {
  const r = writeTrace(tmp.file(`${name}.trace`), [GICD3, GICR3], events, { source: { type: 'synthetic', name: 'xen' } });
  try {
    const fs = check(r).findings;
    return { fs, ids: [...new Set(fs.map((f) => f.rule))].sort() };
  } finally {
    r.close();
  }
}

export { tmpTraces };

/**
 * A copy of a real trace with its events edited (`edit` gets them all, in order, and returns the
 * new stream; the writer numbers them again), the metadata and region table kept: how a real boot
 * is made to break a rule the emulated machine never breaks.
 */
export function editTrace(src: string, out: string, edit: (events: TraceEvent[]) => TraceEvent[]): void {
  const r = openTrace(src);
  try {
    const events = [...r.events()];
    const m = r.meta;
    const w = createTrace(out, { source: m.source, clock: m.clock, devices: r.regions, hashes: m.hashes, extra: m.extra, overwrite: true });
    for (const e of edit(events)) {
      const { seq: _seq, ...rest } = e;
      w.append(rest as NewEvent);
    }
    w.close();
  } finally {
    r.close();
  }
}

/** Findings of a trace file, with the rule ids found (sorted, unique). */
export function traceFindings(file: string) {
  const r = openTrace(file);
  try {
    const fs = check(r).findings;
    return { fs, ids: [...new Set(fs.map((f) => f.rule))].sort() };
  } finally {
    r.close();
  }
}
