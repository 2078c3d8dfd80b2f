// The xenbus, xenstore and blkif rule families (analyze/rules/xenbus.ts, xenstore.ts, blkif.ts) on
// real boots: Debian's 6.1 and 6.12 kernels as Xen domUs with a PV disk and NIC (as in
// test/real/xen-disk.test.ts) check with no finding at all; then the 6.1 trace, edited the way a
// broken frontend would have made it, fires each family's rules and nothing else. (The emulated
// dom0 never breaks these rules itself; test/analyze/rules-xen-guest.test.ts has a bare-metal domU
// of ours break the xenstore and blkif ones for real.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf, TraceEvent } from '../../capture/model.ts';
import { makeTestDisk } from '../../scripts/make-test-disk.ts';
import { bootscope, fetchGuests, runOnDiskCopy, tempDir } from '../helpers/real-guests.ts';
import { editTrace, traceFindings } from '../analyze/xen-pv-events.ts';

const tmp = tempDir('bootscope-real-xen-rules-');
afterAll(() => tmp.cleanup());
const MAC = '00:16:3e:aa:bb:cc';
const XEN_FAMILIES = /^(xenbus|xenstore|blkif)\./;

async function boot(name: string, kernel: string, initrd: string, disk: string, gic: '2' | '3'): Promise<string> {
  const g = { kernel, initrd, disk, maxInsns: '3e9' };
  const xen = ['--machine', 'xen', '--append', 'console=hvc0', '--mem', '256M', '--nic', `mac=${MAC}`, '--smp', '2', '--gic', gic];
  const { trace, summary } = await runOnDiskCopy(tmp, name, g, ...xen);
  if (summary.stopMessage !== 'Xen SCHEDOP_shutdown poweroff' || !summary.console.includes('BOOTSCOPE-DISK-INIT-OK'))
    throw new Error(`bootscope run ${name} did not reach the disk's init and power off: ${summary.stopMessage}`);
  return trace;
}

let linux61: string;
let linux612: string;

beforeAll(async () => {
  const g = fetchGuests();
  const t61 = makeTestDisk(g.kernel, g.busybox, tmp.dir);
  const t612 = makeTestDisk(g.kernel612, g.busybox, tmp.file('6.12'));
  // one boot at a time: the machine is shared
  linux61 = await boot('6.1', g.kernel, t61.initramfs, t61.disk, '3');
  linux612 = await boot('6.12', g.kernel612, t612.initramfs, t61.disk, '2');
});

/** The rule ids of the three Xen PV families a trace breaks. */
const xenIds = (file: string) => traceFindings(file).ids.filter((id) => XEN_FAMILIES.test(id));

function edited(name: string, edit: (events: TraceEvent[]) => TraceEvent[]): ReturnType<typeof traceFindings> {
  const out = tmp.file(`${name}.trace`);
  editTrace(linux61, out, edit);
  const r = traceFindings(out);
  return { ids: r.ids.filter((id) => XEN_FAMILIES.test(id)), fs: r.fs.filter((f) => XEN_FAMILIES.test(f.rule)) };
}

describe('xenbus, xenstore and blkif rules on Debian 6.1 and 6.12 Xen domUs with a PV disk and NIC', () => {
  it('correct boots: no finding of any rule (6.1 on GICv3, 6.12 on GICv2; 2 vCPUs, disk and NIC)', async () => {
    for (const trace of [linux61, linux612]) {
      const r = await bootscope(tmp.dir, 'check', trace, '--json');
      expect(r.code, r.err).toBe(0);
      const out = JSON.parse(r.out) as { findings: { rule: string }[]; counts: { error: number } };
      expect(out.counts.error).toBe(0);
      expect(out.findings.map((f) => f.rule).filter((id) => XEN_FAMILIES.test(id))).toEqual([]);
    }
    // nor of any other family on 6.1
    expect(traceFindings(linux61).fs).toEqual([]);
  });

  it('xenbus: blkfront without its ring keys, Connected while the backend is InitWait; the backend Closing after Closed', () => {
    const { ids, fs } = edited('xenbus', (ev) => {
      const out: TraceEvent[] = [];
      for (const e of ev) {
        if (
          e.kind === 'xenstore' &&
          e.domid === 1 &&
          e.xs_op === 'WRITE' &&
          /\/vbd\/51712\/queue-\d+\/(ring-ref|event-channel)$/.test(e.path)
        )
          continue;
        if (e.kind === 'xenbus_state' && e.device === 'vbd-51712' && e.end === 'frontend' && e.xb_state === 3)
          out.push({ ...e, xb_state: 4 });
        else out.push(e);
      }
      const closed = out.findLast((e) => e.kind === 'xenbus_state' && e.device === 'vbd-51712' && e.end === 'backend' && e.xb_state === 6)!;
      out.splice(out.indexOf(closed) + 1, 0, { ...closed, xb_state: 5 } as TraceEvent);
      return out;
    });
    expect(ids).toEqual(['xenbus.frontend-connected-early', 'xenbus.frontend-keys-missing', 'xenbus.illegal-transition']);
    expect(fs.find((f) => f.rule === 'xenbus.frontend-connected-early')!.message).toContain('while the backend was 2 (InitWait)');
    expect(fs.find((f) => f.rule === 'xenbus.illegal-transition')!.message).toContain(
      'vbd-51712 backend moved from 6 (Closed) to 5 (Closing)',
    );
  });

  it('xenstore: a backend key read refused (EACCES), a malformed read (EINVAL), 81 watch events for one path at once', () => {
    let stormed = false;
    const { ids, fs } = edited('xenstore', (ev) => {
      const out: TraceEvent[] = [];
      for (const e of ev) {
        const xs = e.kind === 'xenstore' && e.domid === 1 ? (e as EventOf<'xenstore'>) : undefined;
        if (xs?.xs_op === 'READ' && xs.path.endsWith('/51712/feature-barrier'))
          out.push({ ...xs, result: 'EACCES', data: new Uint8Array(0) });
        else if (xs?.xs_op === 'READ' && xs.path === '/local/domain/1/memory/static-max')
          out.push({ ...xs, result: 'EINVAL', data: new Uint8Array(0) });
        else out.push(e);
        if (!stormed && xs?.xs_op === 'WATCH_EVENT' && xs.path === 'device/vbd/51712/state') {
          for (let i = 0; i < 80; i++) out.push({ ...xs });
          stormed = true;
        }
      }
      return out;
    });
    expect(ids).toEqual(['xenstore.malformed-request', 'xenstore.permission-denied', 'xenstore.watch-storm']);
    expect(fs.find((f) => f.rule === 'xenstore.watch-storm')!.message).toMatch(
      /^domain 1 got 65 watch events for device\/vbd\/51712\/state /,
    );
  });

  it('blkif: the last request never answered, a response to an id nobody sent, a data grant used after the frontend ended access', () => {
    const { ids, fs } = edited('blkif', (ev) => {
      const last = ev.findLast((e): e is EventOf<'block_request'> => e.kind === 'block_request' && e.device === 'vbd-51712')!;
      const out: TraceEvent[] = [];
      let bogus = false;
      let ended = false;
      for (const e of ev) {
        if (
          e.kind === 'block_complete' &&
          e.device === 'vbd-51712' &&
          e.request === last.request &&
          e.queue === last.queue &&
          e.seq > last.seq
        )
          continue;
        out.push(e);
        if (!bogus && e.kind === 'block_complete' && e.device === 'vbd-51712') {
          out.push({ ...e, request: 0xdeadn });
          bogus = true;
        }
        // grant entries 0-20 hold the rings and reserved entries; above them, blkfront's data pages
        if (!ended && e.kind === 'xen_grant' && e.backend === 'vbd-51712' && e.gntst === 0 && e.access === 'write' && e.gref > 20) {
          out.push({ ...e, flags: 0, gntst: -1 });
          ended = true;
        }
      }
      return out;
    });
    expect(ids).toEqual(['blkif.grant-after-end-access', 'blkif.no-response', 'blkif.response-id']);
    expect(fs.find((f) => f.rule === 'blkif.no-response')!.message).toMatch(/had no response when the frontend went Closed\.$/);
    expect(fs.find((f) => f.rule === 'blkif.response-id')!.message).toMatch(
      /a response with id 57005, but no request with that id is outstanding/,
    );
  });
});
