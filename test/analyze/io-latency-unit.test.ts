// Block I/O latency on hand-made streams: virtio (notify write → completion → ack of the INTx or
// MSI INTID), Xen (event-channel send → response → ack of the upcall PPI, shared with xenstore),
// several completions announced by one interrupt, suppressed interrupts, requests never completed;
// network frames (virtio-net: notify → the function's MSI or INTx; netfront: event-channel send →
// the backend's notification, the upcall PPI).
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
    expect(r.outstanding).toEqual([{ kind: 'block', device: VBLK, queue: 0, count: 1 }]);
    expect(r.notes).toContain('1 completion(s) whose interrupt the guest had not acknowledged by the end of the trace');
    const text = renderIoLatency(r).join('\n');
    expect(text).toContain('never completed: virtio-blk@00:01.0 q0 ×1');
    expect(text).toContain(`${VBLK} q0: 0 error completion(s), 1 completion(s) without an interrupt`);
  });

  it('net, virtio: a frame from its TX notify to the MSI (or INTx rising) that announces it, then the ack; a suppressed one is silent', () => {
    const VNET = 'virtio-net@00:02.0';
    const frame = (time: number, device = VNET, queue = 1): E =>
      ({
        kind: 'net_frame',
        time,
        vcpu: 0,
        device,
        queue,
        direction: 'tx',
        length: 42,
        ethertype: 0x0806,
        frame: new Uint8Array(42),
      }) as E;
    const msi = (time: number, intid: number, device = VNET): E =>
      ({ kind: 'msi', time, vcpu: 0, device, addr: 0x8090040, msi_data: 4, intid }) as E;
    const line = (time: number, intid: number, source: string): E =>
      ({ kind: 'irq_line', time, vcpu: -1, intid, level: 1, trigger: 'level', source }) as E;
    const r = ioLatencyOf(
      seqd([
        msi(5, 8192, VBLK), // another function's message announces nothing of the NIC's
        notify(100, VNET),
        frame(100),
        frame(100),
        msi(104, 8196),
        ack(130, 8196),
        notify(200, VNET),
        frame(200), // event index: no interrupt before the next doorbell
        notify(300, VNET),
        frame(300),
        line(310, 37, VNET),
        ack(350, 37),
        notify(400, VNET),
        frame(400), // never announced
      ]),
      ctx,
    );
    expect(r.queues).toHaveLength(1);
    expect(r.queues[0]).toMatchObject({
      kind: 'net',
      device: VNET,
      queue: 1,
      requests: 5,
      completed: 4,
      silent: 1,
      maxDepth: 2,
      ops: { tx: 5 },
    });
    const st = Object.fromEntries(r.queues[0]!.stages.map((s) => [s.stage, [s.count, s.max]]));
    expect(st).toEqual({ submit_to_complete: [4, 10], complete_to_ack: [3, 40], submit_to_ack: [3, 50] });
    expect(r.outstanding).toEqual([{ kind: 'net', device: VNET, queue: 1, count: 1 }]);
    const text = renderIoLatency(r).join('\n');
    expect(text).toContain('network frames sent, per device and queue');
    expect(text).toMatch(/\nvirtio-net@00:02\.0 q1 +5 +2 +tx 5 +submit to complete/);
    expect(text).toContain(`${VNET} q1: 0 error completion(s), 1 frame(s) without an interrupt`);
    expect(text).not.toContain('block I/O');
  });

  it("net, Xen: a frame from the event-channel send to the vif's notification (upcall PPI 31), shown after the block queues", () => {
    const back = (time: number, peer: string): E => ({ kind: 'xen_evtchn', time, vcpu: 0, evtchn: 4, peer, dir: 'to_guest' }) as E;
    const r = ioLatencyOf(
      seqd([
        send(10, 'vif-0'),
        {
          kind: 'net_frame',
          time: 10,
          vcpu: 0,
          device: 'vif-0',
          queue: 0,
          direction: 'tx',
          length: 90,
          ethertype: 0x86dd,
          frame: new Uint8Array(90),
        } as E,
        back(12, 'vbd-51712'), // the disk's notification is not the vif's
        back(15, 'vif-0'),
        ack(40, 31),
        send(50),
        req(50, 0, 'vbd-51712'),
        done(50, 0, 31, 'vbd-51712'),
        ack(60, 31),
      ]),
      ctx,
    );
    expect(r.queues.map((q) => `${q.kind} ${q.device} q${q.queue}`)).toEqual(['block vbd-51712 q0', 'net vif-0 q0']);
    const st = Object.fromEntries(r.queues[1]!.stages.map((s) => [s.stage, [s.count, s.max]]));
    expect(st).toEqual({ submit_to_complete: [1, 5], complete_to_ack: [1, 25], submit_to_ack: [1, 30] });
  });

  it('prints nothing for a trace without block I/O', () => {
    expect(renderIoLatency(ioLatencyOf([], ctx))).toEqual([]);
  });
});
