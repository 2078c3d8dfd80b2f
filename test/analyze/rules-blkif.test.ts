// blkif rules (analyze/rules/blkif.ts) on hand-made streams; the bare-metal domU that sends bad
// requests for real is in test/analyze/rules-xen-guest.test.ts, Linux boots in test/real/xen-rules.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../capture/model.ts';
import { complete, grant, linuxClose, linuxHandshake, request, tmpTraces, VBD, writeState, xenFindings } from './xen-pv-events.ts';
import { at } from './engine-helpers.ts';

const tmp = tmpTraces();
afterAll(() => tmp.cleanup());
const only = (ids: string[]) => ids.filter((i) => i.startsWith('blkif.'));
const deviceError = (detail: string, device = VBD): NewEvent => ({ kind: 'device_error', time: at(), vcpu: 0, device, detail });

describe('blkif rules', () => {
  it('requests on two rings answered in any order, grants used, re-granted and used again, then an orderly close: no finding', () => {
    const ev = [
      ...linuxHandshake(),
      grant(8, 1, 0),
      request(1),
      request(2, 'write', 1),
      request(3),
      grant(100, 1, 0),
      grant(101, 5, 0, 'read'),
      complete(3),
      complete(2, 'write', 1),
      complete(1),
      request(1, 'flush'),
      grant(100, 1, 0),
      complete(1, 'flush'),
      ...linuxClose(),
    ];
    expect(only(xenFindings(tmp, 'ok', ev).ids)).toEqual([]);
  });

  it('fires: a request unanswered at Closed, one at the end, a response to nothing, an operation changed, an id reused', () => {
    const ev = [
      ...linuxHandshake(),
      request(1),
      request(2),
      request(2),
      complete(7),
      complete(1, 'write'),
      ...linuxClose(),
      request(5, 'read', 1),
    ];
    const { ids, fs } = xenFindings(tmp, 'bad', ev);
    expect(only(ids)).toEqual(['blkif.duplicate-id', 'blkif.no-response', 'blkif.response-id']);
    expect(fs.filter((f) => f.rule === 'blkif.no-response').map((f) => f.message)).toEqual([
      'vbd-51712 ring 0: request 2 (read of sector 16) had no response when the frontend went Closed.',
      'vbd-51712 ring 1: request 5 (read of sector 40) had no response by the end of the trace.',
    ]);
    expect(fs.filter((f) => f.rule === 'blkif.response-id').map((f) => f.message)).toEqual([
      // ordered by their first evidence: the request whose response changed the operation came first
      'vbd-51712 ring 0: the response to request 1 says write, the request was read; blkif.h copies the operation from the request.',
      'vbd-51712 ring 0: a response with id 7, but no request with that id is outstanding on this ring.',
    ]);
  });

  it('fires: a grant used after the frontend ended foreign access; refused grants (beyond the table, never granted, read-only for a read)', () => {
    const ev = [grant(100, 1, 0), grant(100, 0, -1), grant(1000000, 0, -3, 'write', 0), grant(20, 0, -1, 'write', 0), grant(10, 5, -1)];
    const { ids, fs } = xenFindings(tmp, 'grants', ev);
    expect(only(ids)).toEqual(['blkif.grant-after-end-access', 'blkif.grant-refused']);
    expect(fs.find((f) => f.rule === 'blkif.grant-after-end-access')!.message).toBe(
      "vbd-51712: grant reference 100 (frame 0x4a064) no longer permits access (flags 0x0) when the backend came to write it; the frontend must keep a grant until the request's response.",
    );
    expect(fs.filter((f) => f.rule === 'blkif.grant-refused').map((f) => f.message)).toEqual([
      'vbd-51712: grant reference 1000000 lies beyond the grant table; Xen answered GNTST_bad_gntref and the request fails.',
      'vbd-51712: grant reference 20 was never granted (the entry permits no access); Xen answered GNTST_general_error and the request fails.',
      'vbd-51712: grant reference 10 is read-only, and the backend must write into the page (a read request); Xen answered GNTST_general_error and the request fails.',
    ]);
  });

  it("fires: blkback's reports of a segment outside its page, a bad segment count, a ring overrun; not another device's errors", () => {
    const ev = [
      deviceError(
        'ring 0: request 111: segment 0 has first_sect 7, last_sect 2 (0 <= first <= last <= 7 in its page); answered BLKIF_RSP_ERROR',
      ),
      deviceError('ring 0: request 110: 12 segments (a request carries 1 to 11); answered BLKIF_RSP_ERROR'),
      deviceError('ring 0: the frontend claims 100 requests in a ring of 32; blkback stops serving this ring'),
      deviceError('ring 0: request 1: segment 0 …', 'virtio-blk@00:02.0'),
    ];
    const { ids, fs } = xenFindings(tmp, 'segs', ev);
    expect(only(ids)).toEqual(['blkif.ring-overflow', 'blkif.segment-bounds']);
    expect(fs.find((f) => f.rule === 'blkif.segment-bounds')!.count).toBe(2);
  });

  it('virtio-blk requests are not judged by the blkif rules', () => {
    const ev = [request(1, 'read', 0, 'virtio-blk@00:02.0'), complete(9, 'read', 0, 'virtio-blk@00:02.0'), ...writeState('frontend', 4)];
    expect(only(xenFindings(tmp, 'virtio', ev).ids)).toEqual([]);
  });
});
