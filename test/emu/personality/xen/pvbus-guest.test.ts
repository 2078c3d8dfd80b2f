// The PV bus driven by a bare-metal domU of our own (guests/xenstore.c): every xenstore
// operation and the errors xenstored gives, a transaction conflict, a watch, EACCES outside its
// permissions, malformed requests, a blkif connection made by hand with good and bad requests (a
// bad grant reference among them), then a broken ring: an oversized message, or (second run)
// request indices more than a ring apart. Each is answered as Xen does, recorded, and the run ends
// with the guest's orderly power-off; the user's disk image is unchanged and replay is identical.
// A third run waits for `--shutdown-after`: the toolstack's control/shutdown request, acknowledged
// and obeyed as Linux does (xl shutdown).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf, TraceEvent } from '../../../../capture/model.ts';
import { openTrace } from '../../../../capture/store/index.ts';
import { replayTrace } from '../../../../emu/machine/replay.ts';
import { runGuest, type RunConfig, type RunResult } from '../../../../emu/run.ts';
import { renderInfo } from '../../../../cli/commands/info.ts';
import { tempDir } from '../../helpers.ts';
import { REPO_ROOT } from '../../../helpers/qemu-runs.ts';

const tmp = tempDir('bootscope-xen-pvbus-');
afterAll(() => tmp.cleanup());

const GUEST = path.join(REPO_ROOT, 'guests/bin/xenstore.bin');
const EXPECTED = readFileSync(path.join(import.meta.dirname, 'expected/xenstore.txt'), 'latin1');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

let disk: string;
let diskHash: string;

/** 64 sectors, each starting with "bootscope disk sector <n>". */
function makeDisk(): string {
  const file = tmp.file('disk.img');
  const buf = Buffer.alloc(64 * 512);
  for (let s = 0; s < 64; s++) buf.write(`bootscope disk sector ${s}`, s * 512, 'latin1');
  writeFileSync(file, buf);
  return file;
}

async function run(
  name: string,
  append: string,
  extra: Partial<RunConfig> = {},
): Promise<{ res: RunResult; events: TraceEvent[]; trace: string }> {
  const trace = tmp.file(`${name}.trace`);
  const res = await runGuest({
    machine: 'xen',
    kernel: GUEST,
    memBytes: 128 << 20,
    maxInsns: 5e7,
    disks: [{ file: disk, mode: 'cow' }],
    append,
    output: trace,
    ...extra,
  });
  const r = openTrace(trace);
  const events = [...r.events()];
  r.close();
  return { res, events, trace };
}

const of = <K extends TraceEvent['kind']>(events: TraceEvent[], kind: K) =>
  events.filter((e): e is EventOf<K> & TraceEvent => e.kind === kind);

let main: Awaited<ReturnType<typeof run>>;
let ringidx: Awaited<ReturnType<typeof run>>;
let shutdown: Awaited<ReturnType<typeof run>>;

beforeAll(async () => {
  disk = makeDisk();
  diskHash = sha256(disk);
  main = await run('main', '');
  ringidx = await run('ringidx', 'ringidx');
  shutdown = await run('shutdown', 'shutdown', { disks: [], shutdownAfter: 1e6 });
});

describe('a bare-metal domU on the PV bus', () => {
  it('prints what xenstored and blkback answered, then powers off', () => {
    expect(Buffer.from(main.res.console).toString('latin1')).toBe(EXPECTED);
    expect(main.res.stop).toEqual({ kind: 'system_off', message: 'PSCI SYSTEM_OFF' });
  });

  it('with request indices out of range: XENSTORE_ERROR_RINGIDX, then no answer', () => {
    const want = EXPECTED.replace('5000-byte message: ring error 3\n', 'req_prod 2000 ahead: ring error 2\n');
    expect(Buffer.from(ringidx.res.console).toString('latin1')).toBe(want);
    const last = of(ringidx.events, 'xenstore').at(-1);
    expect(last).toMatchObject({ domid: 1, xs_op: 'ring', result: 'XENSTORE_ERROR_RINGIDX' });
  });

  it('records every xenstore operation with its result', () => {
    const xs = of(main.events, 'xenstore').filter((e) => e.domid === 1);
    const ops = new Set(xs.map((e) => e.xs_op));
    for (const op of [
      'READ',
      'WRITE',
      'MKDIR',
      'RM',
      'DIRECTORY',
      'DIRECTORY_PART',
      'GET_PERMS',
      'SET_PERMS',
      'WATCH',
      'UNWATCH',
      'WATCH_EVENT',
      'TRANSACTION_START',
      'TRANSACTION_END',
      'RESET_WATCHES',
      'GET_DOMAIN_PATH',
    ]) {
      expect(ops, op).toContain(op);
    }
    expect(xs.find((e) => e.xs_op === 'TRANSACTION_END' && e.result === 'EAGAIN')).toMatchObject({ tx: 2 });
    expect(xs.find((e) => e.xs_op === 'READ' && e.path === '/local/domain/0')).toMatchObject({ result: 'EACCES' });
    expect(xs.find((e) => e.xs_op === 'WATCH_EVENT' && e.path === 'data/watched/x')).toMatchObject({ token: 'tk' });
    expect(xs.find((e) => e.xs_op === 'type 99')).toMatchObject({ result: 'ENOSYS' });
    expect(
      xs.find((e) => e.xs_op === 'WRITE' && e.path === '/local/domain/1/data/test' && Buffer.from(e.data).toString() === 'hello'),
    ).toBeDefined();
    expect(xs.at(-1)).toMatchObject({ xs_op: 'WRITE', result: 'XENSTORE_ERROR_PROTO' });
  });

  it('records the handshake: backend and frontend states, the backend binding the channel, its transaction', () => {
    const states = of(main.events, 'xenbus_state').map((e) => `${e.device} ${e.end} ${e.xb_state}`);
    expect(states).toEqual(['vbd-51712 frontend 3', 'vbd-51712 backend 4', 'vbd-51712 frontend 4']);
    const dom0 = of(main.events, 'xenstore').filter((e) => e.domid === 0);
    expect(dom0.map((e) => e.xs_op)).toContain('TRANSACTION_END');
    expect(dom0.find((e) => e.path.endsWith('/51712/sectors'))).toMatchObject({ xs_op: 'WRITE', result: 'OK' });
    const peers = new Set(of(main.events, 'xen_evtchn').map((e) => `${e.peer} ${e.dir}`));
    // 'console': the guest prints through the PV console ring (an xl domU may not use console_io)
    expect([...peers].sort()).toEqual([
      'console to_backend',
      'console to_guest',
      'vbd-51712 to_backend',
      'vbd-51712 to_guest',
      'xenstored to_backend',
      'xenstored to_guest',
    ]);
  });

  it('records the grants blkback used and refused, and each block request', () => {
    const grants = of(main.events, 'xen_grant');
    expect(grants[0]).toMatchObject({ backend: 'vbd-51712', gref: 8, access: 'write', gntst: 0 }); // the ring
    expect(grants.find((g) => g.gref === 1000000)).toMatchObject({ gntst: -3 }); // GNTST_bad_gntref
    expect(grants.find((g) => g.gref === 10)).toMatchObject({ flags: 5, access: 'write', gntst: -1 }); // read-only
    expect(grants.find((g) => g.gref === 20)).toMatchObject({ flags: 0, gntst: -1 });
    const done = of(main.events, 'block_complete').map((e) => `${e.request} ${e.op} ${e.status}`);
    expect(done).toEqual([
      '101 read ok',
      '102 write ok',
      '103 read ok',
      '104 flush ok',
      '105 read ok',
      '106 read ioerr',
      '107 read ioerr',
      '108 read ioerr',
      '109 read ioerr',
      '110 read ioerr',
      '111 read ioerr',
      '112 other unsupported',
      '113 read ioerr',
    ]);
    expect(of(main.events, 'block_request').find((e) => e.request === 105n)).toMatchObject({
      device: 'vbd-51712',
      op: 'read',
      sector: 8,
      length: 4096,
    });
    // the requests refused for their segments, then the ring overrun: blkback stops serving the ring and says so
    expect(of(main.events, 'device_error')).toMatchObject([
      { device: 'vbd-51712', detail: 'ring 0: request 110: 12 segments (a request carries 1 to 11); answered BLKIF_RSP_ERROR' },
      {
        device: 'vbd-51712',
        detail:
          'ring 0: request 111: segment 0 has first_sect 7, last_sect 2 (0 <= first <= last <= 7 in its page); answered BLKIF_RSP_ERROR',
      },
      { device: 'vbd-51712', detail: 'ring 0: the frontend claims 100 requests in a ring of 32; blkback stops serving this ring' },
    ]);
  });

  it('info lists the PV device with the states each end went through', () => {
    const r = openTrace(main.trace);
    const text = renderInfo(r.info());
    expect(r.meta.extra['pvBus']).toMatchObject({
      xenstoreRequests: expect.any(Number),
      notifications: { toBackend: expect.any(Number), toGuest: expect.any(Number) },
    });
    r.close();
    expect(text).toContain('Xen PV devices (the xenbus states each end went through: 4 is Connected)');
    expect(text).toMatch(/vbd-51712 +xvda, 64 sectors +1 3 4 \(Connected\) +1 2 4 \(Connected\) +13 requests, 8 refused/);
  });

  it("leaves the user's image as it was; the guest's write went to the overlay", () => {
    expect(sha256(disk)).toBe(diskHash);
  });

  it('--shutdown-after: the toolstack writes control/shutdown at that time, the guest acknowledges and powers off', async () => {
    expect(Buffer.from(shutdown.res.console).toString('latin1')).toBe(
      [
        'bootscope guest xenstore',
        'xenstore ring at 0x39001000, event channel 1',
        'WATCH control/shutdown sd: OK|',
        'type 15: control/shutdown|sd|',
        'waiting for the toolstack',
        'type 15: control/shutdown|sd|',
        'TRANSACTION_START: 1|',
        'READ control/shutdown (in tx): poweroff',
        'WRITE control/shutdown "" (in tx): OK|',
        'TRANSACTION_END T: [event control/shutdown|sd|] OK|',
        'SCHEDOP_shutdown poweroff',
        '',
      ].join('\n'),
    );
    expect(shutdown.res.stop).toEqual({ kind: 'system_off', message: 'Xen SCHEDOP_shutdown poweroff' });
    const req = of(shutdown.events, 'xenstore').find((e) => e.domid === 0);
    expect(req).toMatchObject({ xs_op: 'WRITE', path: '/local/domain/1/control/shutdown', result: 'OK' });
    expect(Buffer.from(req!.data).toString()).toBe('poweroff');
    expect(req!.time).toBe(1e6);
    const call = of(shutdown.events, 'hypercall').at(-1);
    expect(call).toMatchObject({ name: 'sched_op', subop: 'shutdown' });
    const r = await replayTrace(shutdown.trace);
    expect(r.identical).toBe(true);
  });

  it('replays identically', async () => {
    const r = await replayTrace(main.trace);
    expect(r.identical).toBe(true);
    expect(r.compared).toBe(main.res.events);
  });
});
