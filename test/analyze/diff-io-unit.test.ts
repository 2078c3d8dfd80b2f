// The device-layer diff on hand-made streams: a virtio-blk and a blkif request with the same op,
// sector and length align; each side's set-up is its own; the first divergence in I/O order is named.
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../capture/model.ts';
import { diffIo, IoCollector, renderIoDiff } from '../../analyze/diff-io.ts';

type E = Omit<TraceEvent, 'seq'>;
const req = (seq: number, device: string, op: string, sector: number, length: number): TraceEvent =>
  ({ kind: 'block_request', seq, time: seq * 10, vcpu: 0, device, queue: 0, request: 0n, op, sector, length }) as TraceEvent;
const other = (seq: number, e: Partial<E> & { kind: TraceEvent['kind'] }): TraceEvent =>
  ({ seq, time: seq * 10, vcpu: 0, ...e }) as TraceEvent;

function collect(events: TraceEvent[]): IoCollector {
  const c = new IoCollector();
  for (const e of events) c.onEvent(e);
  return c;
}

describe('device-layer diff', () => {
  it('aligns virtio-blk and blkif requests by role, op, sector and length; names the first divergence; shows the set-up of each side', () => {
    const V = 'virtio-blk@00:01.0',
      X = 'vbd-51712';
    const a = collect([
      other(1, { kind: 'pci_config' }),
      other(2, { kind: 'pci_config' }),
      req(3, V, 'read', 0, 4096),
      req(4, V, 'read', 2, 1024),
      req(5, V, 'write', 2, 1024),
      req(6, V, 'flush', 0, 0),
    ]);
    const b = collect([
      other(1, { kind: 'xenstore' }),
      other(2, { kind: 'xenbus_state' }),
      other(3, { kind: 'xen_grant' }),
      req(10, X, 'read', 0, 4096),
      req(11, X, 'read', 2, 1024),
      req(12, X, 'read', 8, 4096),
      req(13, X, 'write', 2, 1024),
      req(14, X, 'flush', 0, 0),
    ]);
    const d = diffIo(a, b);
    expect(d.roles).toEqual([{ role: 'disk0', a: V, b: X }]);
    expect(d.setup.a).toEqual([{ what: 'PCI configuration accesses', count: 2 }]);
    expect(d.setup.b.map((s) => s.what)).toEqual(['xenstore messages', 'xenbus state changes', 'grant uses']);
    const s = d.streams[0]!;
    expect([s.stream, s.countA, s.countB, s.matched]).toEqual(['block', 4, 5, 4]);
    expect(s.firstDivergence).toEqual({ row: 2, a: null, b: { token: 'disk0 read 8+4096', seq: 12, time: 120, device: X } });
    expect(s.rows.map((r) => [r.a?.seq ?? null, r.b?.seq ?? null])).toEqual([
      [3, 10],
      [4, 11],
      [null, 12],
      [5, 13],
      [6, 14],
    ]);
    const text = renderIoDiff(d, ['kvm', 'xen']).join('\n');
    expect(text).toContain('block I/O: 4 in A, 5 in B, 4 aligned');
    expect(text).toContain('first divergence at row 3: A (nothing), B #12 disk0 read 8+4096');
    expect(text).toMatch(/\n {2}\+ +#12 disk0 read 8\+4096\n/);
    expect(text).toContain('set-up A (kvm): PCI configuration accesses 2');
  });

  it('a replaced request shows on one row; no block or network I/O gives no section', () => {
    const a = collect([req(1, 'd', 'read', 0, 512), req(2, 'd', 'read', 8, 512)]);
    const b = collect([req(1, 'e', 'read', 0, 512), req(2, 'e', 'write', 8, 512)]);
    const s = diffIo(a, b).streams[0]!;
    expect(s.rows.map((r) => [r.a?.token ?? null, r.b?.token ?? null])).toEqual([
      ['disk0 read 0+512', 'disk0 read 0+512'],
      ['disk0 read 8+512', 'disk0 write 8+512'],
    ]);
    expect(s.firstDivergence?.row).toBe(1);
    expect(renderIoDiff(diffIo(new IoCollector(), collect([other(1, { kind: 'pci_config' })])), ['a', 'b'])).toEqual([]);
  });
});
