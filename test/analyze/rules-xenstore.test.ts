// xenstore rules (analyze/rules/xenstore.ts) on hand-made streams; the bare-metal domU that breaks
// them for real is in test/analyze/rules-xen-guest.test.ts, Linux boots in test/real/xen-rules.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../capture/model.ts';
import { STORM_EVENTS } from '../../analyze/rules/xenstore.ts';
import { at } from './engine-helpers.ts';
import { linuxHandshake, tmpTraces, xenFindings, xs } from './xen-pv-events.ts';

const tmp = tmpTraces();
afterAll(() => tmp.cleanup());
const only = (ids: string[]) => ids.filter((i) => i.startsWith('xenstore.'));

/** `n` watch events for one path, `gap` instructions apart (1 ns each on the test clock); put last in a stream. */
function watchEvents(n: number, gap: number, path = 'device/vbd/51712/state'): NewEvent[] {
  const base = at();
  return Array.from({ length: n }, (_, i) => ({
    ...xs(1, 'WATCH_EVENT', path, '', { token: 'FFFF80000997FD90', req_id: 0 }),
    time: base + i * gap,
  }));
}

describe('xenstore rules', () => {
  it('a handshake with ENOENT answers (a probe of absent nodes) and a few watch events has no finding', () => {
    const ev = [
      xs(1, 'DIRECTORY', '/local/domain/1/backend', '', { result: 'ENOENT' }),
      xs(1, 'READ', '/local/domain/1/device/suspend/event-channel/state', '', { result: 'ENOENT' }),
      xs(0, 'READ', '/local/domain/1/device/vbd/51712/ring-page-order', '', { result: 'ENOENT' }),
      ...linuxHandshake(),
      ...watchEvents(10, 1),
    ];
    expect(only(xenFindings(tmp, 'ok', ev).ids)).toEqual([]);
  });

  it('fires: EACCES for the guest (not for dom0), EINVAL, an unknown type, a ring error', () => {
    const ev = [
      xs(1, 'READ', '/local/domain/0', '', { result: 'EACCES' }),
      xs(1, 'WRITE', '/local/domain/1/memory/target', '1', { result: 'EACCES' }),
      xs(0, 'WRITE', '/tool/x', '1', { result: 'EACCES' }),
      xs(1, 'READ', '/local/domain/1/data//x', '', { result: 'EINVAL' }),
      xs(1, 'type 99', '', '', { result: 'ENOSYS' }),
      xs(1, 'ring', '', '', { result: 'XENSTORE_ERROR_RINGIDX', req_id: 0 }),
    ];
    const { ids, fs } = xenFindings(tmp, 'bad', ev);
    expect(only(ids)).toEqual(['xenstore.malformed-request', 'xenstore.permission-denied', 'xenstore.ring-error', 'xenstore.unknown-type']);
    expect(fs.filter((f) => f.rule === 'xenstore.permission-denied').map((f) => f.message)).toEqual([
      "domain 1: READ /local/domain/0 answered EACCES; the node's permissions do not let this domain read it (or the operation is dom0's).",
      "domain 1: WRITE /local/domain/1/memory/target answered EACCES; the node's permissions do not let this domain change it (or the operation is dom0's).",
    ]);
    expect(fs.find((f) => f.rule === 'xenstore.ring-error')!.message).toBe(
      'domain 1: xenstored dropped the connection with XENSTORE_ERROR_RINGIDX (at the ring indices); nothing more is answered on that ring.',
    );
  });

  it(`fires: more than ${STORM_EVENTS} watch events for one path within 100 ms; the same number spread out does not`, () => {
    const storm = xenFindings(tmp, 'storm', watchEvents(STORM_EVENTS + 1, 1000));
    expect(only(storm.ids)).toEqual(['xenstore.watch-storm']);
    expect(storm.fs[0]!.message).toMatch(
      /^domain 1 got 65 watch events for device\/vbd\/51712\/state \(token FFFF80000997FD90\) within 0\.0\d+ ms;/,
    );
    // 2 ms apart: 65 events span 128 ms
    expect(only(xenFindings(tmp, 'calm', watchEvents(STORM_EVENTS + 1, 2_000_000)).ids)).toEqual([]);
    // exactly STORM_EVENTS close together is not yet a storm
    expect(only(xenFindings(tmp, 'edge', watchEvents(STORM_EVENTS, 1000)).ids)).toEqual([]);
  });
});
