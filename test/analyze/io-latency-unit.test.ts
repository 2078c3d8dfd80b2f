// Block I/O latency on hand-made streams: virtio (notify write → completion → ack of the INTx or
// MSI INTID), Xen (event-channel send → response → ack of the upcall PPI, shared with xenstore),
// several completions announced by one interrupt, suppressed interrupts, requests never completed.
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../capture/model.ts';
import { ioLatencyOf } from '../../analyze/io-latency.ts';
import { liteContext, syntheticMeta } from '../../analyze/standalone.ts';
import { renderIoLatency } from '../../cli/commands/latency.ts';

const ctx = liteContext(syntheticMeta(), []);
type E = Omit<TraceEvent, 'seq'>;
const seqd = (items: E[]) => items.map((e, seq) => ({ ...e, seq }) as TraceEvent);
const VBLK = 'virtio-blk@00:01.0';
const notify = (time: number, device = VBLK): E =>
  ({
    kind: 'mmio_write',
    time,
    vcpu: 0,
    addr: 0x8000003000,
    size: 2,
    value: 0n,
    device,
    register: 'BAR4+0x3000 notify.q0',
    outcome: 'handled',
  }) as E;
const send = (time: number, peer = 'vbd-51712'): E => ({ kind: 'xen_evtchn', time, vcpu: 0, evtchn: 3, peer, dir: 'to_backend' }) as E;
const req = (time: number, request: number, device = VBLK, op = 'read'): E =>
  ({ kind: 'block_request', time, vcpu: 0, device, queue: 0, request: BigInt(request), op, sector: request * 8, length: 4096 }) as E;
const done = (time: number, request: number, intid: number, device = VBLK, status = 'ok'): E =>
  ({ kind: 'block_complete', time, vcpu: 0, device, queue: 0, request: BigInt(request), op: 'read', status, length: 4097, intid }) as E;
const ack = (time: number, intid: number): E => ({ kind: 'irq_ack', time, vcpu: 0, intid, source_cpu: 0, via: 'sysreg' }) as E;

describe('I/O latency', () => {
  it('virtio: submit is the notify write; one interrupt acknowledges every completion it announced', () => {
    const r = ioLatencyOf(
      seqd([
        notify(100),
        req(100, 1),
        req(100, 2),
        done(110, 1, 36),
        done(120, 2, 36),
        ack(150, 36),
        notify(200),
        req(200, 1, VBLK, 'write'),
        done(260, 1, 36, VBLK, 'ioerr'),
        ack(300, 36),
      ]),
      ctx,
    );
    expect(r.queues).toHaveLength(1);
    const q = r.queues[0]!;
    expect(q).toMatchObject({
      device: VBLK,
      queue: 0,
      requests: 3,
      completed: 3,
      errors: 1,
      silent: 0,
      maxDepth: 2,
      ops: { read: 2, write: 1 },
    });
    const st = Object.fromEntries(q.stages.map((s) => [s.stage, [s.count, s.p50, s.max]]));
    expect(st).toEqual({ submit_to_complete: [3, 20, 60], complete_to_ack: [3, 40, 40], submit_to_ack: [3, 50, 100] });
    expect(r.outstanding).toEqual([]);
  });

  it('xen: submit is the event-channel send; the upcall PPI is shared, the first ack after the response counts', () => {
    const r = ioLatencyOf(
      seqd([
        ack(5, 31), // xenstore traffic before: nothing waits
        send(10),
        req(10, 0, 'vbd-51712'),
        done(10, 0, 31, 'vbd-51712'),
        ack(25, 31),
        ack(40, 31),
      ]),
      ctx,
    );
    const st = Object.fromEntries(r.queues[0]!.stages.map((s) => [s.stage, [s.count, s.max]]));
    expect(st).toEqual({ submit_to_complete: [1, 0], complete_to_ack: [1, 15], submit_to_ack: [1, 15] });
  });

  it('counts completions without an interrupt, requests never completed and interrupts never acknowledged', () => {
    const r = ioLatencyOf(seqd([req(10, 1), done(20, 1, 0), req(30, 2), req(40, 3), done(50, 3, 36)]), ctx);
    const q = r.queues[0]!;
    expect(q.silent).toBe(1);
    expect(q.stages.map((s) => s.stage)).toEqual(['submit_to_complete']);
    expect(r.outstanding).toEqual([{ device: VBLK, queue: 0, count: 1 }]);
    expect(r.notes).toContain('1 completion(s) whose interrupt the guest had not acknowledged by the end of the trace');
    const text = renderIoLatency(r).join('\n');
    expect(text).toContain('never completed: virtio-blk@00:01.0 q0 ×1');
    expect(text).toContain(`${VBLK} q0: 0 error completion(s), 1 completion(s) without an interrupt`);
  });

  it('prints nothing for a trace without block I/O', () => {
    expect(renderIoLatency(ioLatencyOf([], ctx))).toEqual([]);
  });
});
