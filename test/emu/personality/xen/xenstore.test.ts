// xenstored on the domU's ring, driven byte by byte through the hypercall harness: the tree the
// toolstack writes, every wire operation and its errors as Xen 4.17's C xenstored gives them,
// permissions, transactions (EAGAIN on conflict), watches, the ring-level failures that make
// xenstored drop the connection, and the events each leaves in the trace.
import { describe, expect, it } from 'vitest';
import type { EventOf } from '../../../../capture/model.ts';
import { xenHarness } from './harness.ts';
import { OFF, RING, T, XsClient } from './xs-client.ts';

const z = (...parts: string[]): string => parts.map((p) => p + '\0').join('');
const err = (name: string) => ({ type: T.ERROR, body: name + '\0' });
const ok = (type: number) => ({ type, body: 'OK\0' });

function client() {
  const h = xenHarness({ smp: 1 });
  return { h, xs: new XsClient(h) };
}

const xsEvents = (h: ReturnType<typeof xenHarness>) =>
  h.events.filter((e): e is EventOf<'xenstore'> & { seq?: number } => e.kind === 'xenstore');

describe('the tree the toolstack writes', () => {
  it('has the domain home libxl makes, readable by the domU, with the values build_post writes', () => {
    const { xs } = client();
    expect(xs.reply(T.READ, z('name'))).toMatchObject({ type: T.READ, body: 'bootscope' });
    expect(xs.reply(T.READ, z('domid')).body).toBe('1');
    expect(xs.reply(T.READ, z('vm')).body).toBe('/vm/00000000-0000-4000-8000-000000000001');
    expect(xs.reply(T.READ, z('memory/static-max')).body).toBe('4096');
    expect(xs.reply(T.READ, z('memory/target')).body).toBe('4096');
    expect(xs.reply(T.READ, z('cpu/0/availability')).body).toBe('online');
    expect(xs.reply(T.READ, z('store/port')).body).toBe('1');
    expect(xs.reply(T.READ, z('store/ring-ref')).body).toBe(String(0x39001));
    expect(xs.reply(T.READ, z('control/shutdown'))).toMatchObject({ type: T.READ, body: '' });
    expect(xs.reply(T.READ, z('control/platform-feature-xs_reset_watches')).body).toBe('1');
    expect(xs.reply(T.DIRECTORY, z('device')).body).toBe(z('suspend'));
    expect(xs.reply(T.READ, z('/vm/00000000-0000-4000-8000-000000000001/name')).body).toBe('bootscope');
  });

  it('gives each directory the permissions libxl gives it', () => {
    const { xs } = client();
    expect(xs.reply(T.GET_PERMS, z('/local/domain/1')).body).toBe(z('n0', 'r1'));
    expect(xs.reply(T.GET_PERMS, z('memory')).body).toBe(z('n0', 'r1'));
    expect(xs.reply(T.GET_PERMS, z('control/shutdown')).body).toBe(z('n1'));
    expect(xs.reply(T.GET_PERMS, z('data')).body).toBe(z('n1'));
    // read-only directories: the domU may read but not write
    expect(xs.reply(T.WRITE, z('memory/target') + '1')).toMatchObject(err('EACCES'));
    expect(xs.reply(T.WRITE, z('name') + 'evil')).toMatchObject(err('EACCES'));
    expect(xs.reply(T.WRITE, z('control/feature-poweroff') + '1')).toMatchObject(ok(T.WRITE));
  });

  it('lists PV devices with frontend and backend directories as libxl lays them out', () => {
    const disk = { file: '/images/root.img', sectors: 2048, readOnly: false, read() {}, write() {}, flush() {} };
    const h = xenHarness({ smp: 1, disks: [disk], nics: [{}] });
    const xs = new XsClient(h);
    expect(xs.reply(T.DIRECTORY, z('device')).body).toBe(z('suspend', 'vbd', 'vif'));
    expect(xs.reply(T.GET_PERMS, z('device/vbd/51712')).body).toBe(z('n1', 'r0'));
    expect(xs.reply(T.READ, z('device/vbd/51712/backend')).body).toBe('/local/domain/0/backend/vbd/1/51712');
    expect(xs.reply(T.READ, z('device/vbd/51712/state')).body).toBe('1');
    expect(xs.reply(T.READ, z('device/vbd/51712/virtual-device')).body).toBe('51712');
    const be = '/local/domain/0/backend/vbd/1/51712';
    expect(xs.reply(T.GET_PERMS, z(be)).body).toBe(z('n0', 'r1'));
    // blkback probed before the guest ran: InitWait with its probe keys
    expect(xs.reply(T.READ, z(`${be}/state`)).body).toBe('2');
    expect(xs.reply(T.READ, z(`${be}/feature-max-indirect-segments`)).body).toBe('256');
    expect(xs.reply(T.READ, z(`${be}/params`)).body).toBe('/images/root.img');
    expect(xs.reply(T.READ, z(`${be}/dev`)).body).toBe('xvda');
    expect(xs.reply(T.READ, z(`${be}/mode`)).body).toBe('w');
    expect(xs.reply(T.WRITE, z(`${be}/state`) + '4')).toMatchObject(err('EACCES'));
    expect(xs.reply(T.READ, z('device/vif/0/mac')).body).toBe('00:16:3e:12:34:56');
    expect(xs.reply(T.READ, z('/local/domain/0/backend/vif/1/0/feature-rx-copy')).body).toBe('1');
    expect(xs.reply(T.READ, z('/local/domain/0/backend/vif/1/0/state')).body).toBe('2');
  });
});

describe('wire operations', () => {
  it('READ, WRITE, MKDIR, DIRECTORY, RM with relative and absolute paths', () => {
    const { xs } = client();
    expect(xs.reply(T.WRITE, z('data/a/b') + 'v1')).toMatchObject(ok(T.WRITE));
    expect(xs.reply(T.READ, z('/local/domain/1/data/a/b')).body).toBe('v1');
    expect(xs.reply(T.READ, z('data/a')).body).toBe(''); // made on the way, empty
    expect(xs.reply(T.MKDIR, z('data/c'))).toMatchObject(ok(T.MKDIR));
    expect(xs.reply(T.MKDIR, z('data/c'))).toMatchObject(ok(T.MKDIR)); // exists: fine
    expect(xs.reply(T.DIRECTORY, z('data')).body).toBe(z('a', 'c'));
    expect(xs.reply(T.GET_PERMS, z('data/a/b')).body).toBe(z('n1')); // the domU owns what it creates
    expect(xs.reply(T.RM, z('data/a'))).toMatchObject(ok(T.RM));
    expect(xs.reply(T.READ, z('data/a/b'))).toMatchObject(err('ENOENT'));
    expect(xs.reply(T.RM, z('data/a'))).toMatchObject(ok(T.RM)); // gone, parent there: fine
    expect(xs.reply(T.RM, z('data/x/y'))).toMatchObject(err('ENOENT')); // parent missing
    expect(xs.reply(T.WRITE, z('data/bin') + 'a\0b')).toMatchObject(ok(T.WRITE)); // values are bytes
    expect(xs.reply(T.READ, z('data/bin')).body).toBe('a\0b');
  });

  it('DIRECTORY_PART: the generation, then names from an offset', () => {
    const { xs } = client();
    for (const n of ['x', 'yy', 'zzz']) xs.reply(T.MKDIR, z(`data/${n}`));
    const all = xs.reply(T.DIRECTORY_PART, z('data', '0')).body.split('\0');
    expect(Number(all[0])).toBeGreaterThan(0);
    expect(all.slice(1)).toEqual(['x', 'yy', 'zzz', '', '']);
    expect(xs.reply(T.DIRECTORY_PART, z('data', '2')).body.split('\0').slice(1)).toEqual(['yy', 'zzz', '', '']);
    expect(xs.reply(T.DIRECTORY_PART, z('data', '99')).body.split('\0').slice(1)).toEqual(['', '']);
    expect(xs.reply(T.DIRECTORY_PART, z('data'))).toMatchObject(err('EINVAL'));
  });

  it('SET_PERMS on own nodes; never another owner, never dom0 nodes', () => {
    const { xs } = client();
    xs.reply(T.WRITE, z('data/p') + '1');
    expect(xs.reply(T.SET_PERMS, z('data/p', 'n1', 'r0'))).toMatchObject(ok(T.SET_PERMS));
    expect(xs.reply(T.GET_PERMS, z('data/p')).body).toBe(z('n1', 'r0'));
    expect(xs.reply(T.SET_PERMS, z('data/p', 'b0'))).toMatchObject(err('EPERM'));
    expect(xs.reply(T.SET_PERMS, z('memory', 'b1'))).toMatchObject(err('EACCES'));
    expect(xs.reply(T.SET_PERMS, z('data/p', 'x1'))).toMatchObject(err('EINVAL'));
    expect(xs.reply(T.SET_PERMS, z('data/p'))).toMatchObject(err('EINVAL'));
    expect(xs.reply(T.SET_PERMS, z('data/p', 'n1', 'r2', 'r3', 'r4', 'r5', 'r6'))).toMatchObject(err('ENOSPC'));
    expect(xs.reply(T.SET_PERMS, z('@releaseDomain', 'r1'))).toMatchObject(err('EACCES'));
  });

  it('GET_DOMAIN_PATH, RESET_WATCHES; privileged and unknown types refused', () => {
    const { xs } = client();
    expect(xs.reply(T.GET_DOMAIN_PATH, z('7')).body).toBe(z('/local/domain/7'));
    expect(xs.reply(T.RESET_WATCHES, z(''))).toMatchObject(ok(T.RESET_WATCHES));
    expect(xs.reply(T.INTRODUCE, z('2', '1', '3'))).toMatchObject(err('EACCES'));
    expect(xs.reply(0, z('print', 'x'))).toMatchObject(err('EACCES')); // XS_CONTROL
    expect(xs.reply(T.WATCH_EVENT, z('a', 'b'))).toMatchObject(err('ENOSYS'));
    expect(xs.reply(20, z('x'))).toMatchObject(err('ENOSYS')); // XS_RESTRICT was removed
    expect(xs.reply(999, '')).toMatchObject(err('ENOSYS'));
  });

  it('malformed requests: EINVAL', () => {
    const { xs } = client();
    expect(xs.reply(T.READ, 'name')).toMatchObject(err('EINVAL')); // no NUL
    expect(xs.reply(T.READ, z('name', 'extra'))).toMatchObject(err('EINVAL')); // two strings
    expect(xs.reply(T.READ, '')).toMatchObject(err('EINVAL'));
    expect(xs.reply(T.READ, z('data/'))).toMatchObject(err('EINVAL'));
    expect(xs.reply(T.READ, z('/local//domain'))).toMatchObject(err('EINVAL'));
    expect(xs.reply(T.WRITE, z('data/a b') + 'v')).toMatchObject(err('EINVAL'));
    expect(xs.reply(T.WRITE, 'data/nonul')).toMatchObject(err('EINVAL'));
    expect(xs.reply(T.WATCH, z('data'))).toMatchObject(err('EINVAL')); // no token
    expect(xs.reply(T.TRANSACTION_END, z('maybe'), 0)).toMatchObject(err('EINVAL'));
  });

  it('permissions: EACCES outside what the toolstack granted, ENOENT only where the domU may look', () => {
    const { xs } = client();
    expect(xs.reply(T.READ, z('/local/domain/0'))).toMatchObject(err('EACCES'));
    expect(xs.reply(T.READ, z('/local/domain/0/nothing-here'))).toMatchObject(err('EACCES'));
    expect(xs.reply(T.READ, z('/local/domain/2/name'))).toMatchObject(err('EACCES'));
    expect(xs.reply(T.READ, z('/tool'))).toMatchObject(err('EACCES'));
    expect(xs.reply(T.WRITE, z('/local/domain/0/x') + 'y')).toMatchObject(err('EACCES'));
    expect(xs.reply(T.MKDIR, z('/evil'))).toMatchObject(err('EACCES'));
    expect(xs.reply(T.RM, z('/local/domain/1'))).toMatchObject(err('EACCES'));
    expect(xs.reply(T.READ, z('data/nothing-here'))).toMatchObject(err('ENOENT'));
    expect(xs.reply(T.DIRECTORY, z('backend'))).toMatchObject(err('ENOENT'));
  });

  it('quotas: a node record of 2048 bytes or more is ENOSPC', () => {
    const { xs } = client();
    expect(xs.reply(T.WRITE, z('data/big') + 'x'.repeat(1900))).toMatchObject(ok(T.WRITE));
    expect(xs.reply(T.WRITE, z('data/big') + 'x'.repeat(2030))).toMatchObject(err('ENOSPC'));
    expect(xs.reply(T.READ, z('data/big')).body.length).toBe(1900);
  });
});

describe('transactions', () => {
  it('commit makes writes visible; abort drops them; ids count from 1', () => {
    const { xs } = client();
    expect(xs.reply(T.TRANSACTION_START, z('')).body).toBe(z('1'));
    expect(xs.reply(T.WRITE, z('data/t') + 'in-tx', 1)).toMatchObject(ok(T.WRITE));
    expect(xs.reply(T.READ, z('data/t'))).toMatchObject(err('ENOENT')); // not yet outside
    expect(xs.reply(T.READ, z('data/t'), 1).body).toBe('in-tx');
    expect(xs.reply(T.TRANSACTION_END, z('T'), 1)).toMatchObject(ok(T.TRANSACTION_END));
    expect(xs.reply(T.READ, z('data/t')).body).toBe('in-tx');
    expect(xs.reply(T.TRANSACTION_START, z('')).body).toBe(z('2'));
    xs.reply(T.WRITE, z('data/t') + 'dropped', 2);
    expect(xs.reply(T.TRANSACTION_END, z('F'), 2)).toMatchObject(ok(T.TRANSACTION_END));
    expect(xs.reply(T.READ, z('data/t')).body).toBe('in-tx');
  });

  it('a conflicting write in between: EAGAIN, nothing applied', () => {
    const { xs, h } = client();
    xs.reply(T.WRITE, z('data/n') + '1');
    xs.reply(T.TRANSACTION_START, z(''));
    expect(xs.reply(T.READ, z('data/n'), 1).body).toBe('1');
    xs.reply(T.WRITE, z('data/other') + 'x', 1);
    expect(xs.reply(T.WRITE, z('data/n') + '2')).toMatchObject(ok(T.WRITE)); // outside the transaction
    expect(xs.reply(T.TRANSACTION_END, z('T'), 1)).toMatchObject(err('EAGAIN'));
    expect(xs.reply(T.READ, z('data/other'))).toMatchObject(err('ENOENT'));
    expect(xs.reply(T.READ, z('data/n')).body).toBe('2');
    const end = xsEvents(h).find((e) => e.xs_op === 'TRANSACTION_END');
    expect(end).toMatchObject({ domid: 1, tx: 1, result: 'EAGAIN' });
  });

  it('no nesting, unknown ids, ending without one', () => {
    const { xs } = client();
    xs.reply(T.TRANSACTION_START, z(''));
    expect(xs.reply(T.TRANSACTION_START, z(''), 1)).toMatchObject(err('EBUSY'));
    expect(xs.reply(T.READ, z('name'), 77)).toMatchObject(err('ENOENT'));
    expect(xs.reply(T.TRANSACTION_END, z('T'), 0)).toMatchObject(err('ENOENT'));
    expect(xs.reply(T.WATCH, z('data', 'tok'), 77)).toMatchObject(ok(T.WATCH)); // watches ignore tx ids
  });
});

describe('watches', () => {
  it('fire once at registration, then on changes at or below the path, relative when registered relative', () => {
    const { xs, h } = client();
    const reg = xs.call(T.WATCH, z('data', 'tok1'));
    expect(reg).toEqual([
      { type: T.WATCH, req: expect.any(Number), tx: 0, body: 'OK\0' },
      { type: T.WATCH_EVENT, req: 0, tx: 0, body: z('data', 'tok1') },
    ]);
    const write = xs.call(T.WRITE, z('data/x/y') + '1');
    expect(write.map((m) => m.body)).toEqual([z('data/x/y', 'tok1'), 'OK\0']); // event queued before the ack
    xs.call(T.WATCH, z('/local/domain/1/control/shutdown', 'abs'));
    expect(xs.call(T.WRITE, z('control/shutdown') + 'halt').map((m) => m.body)).toEqual([
      z('/local/domain/1/control/shutdown', 'abs'),
      'OK\0',
    ]);
    // a transaction's changes fire when it commits (before the acknowledgement, as xenstored does)
    xs.reply(T.TRANSACTION_START, z(''));
    expect(xs.call(T.WRITE, z('data/tx') + '1', 1).map((m) => m.type)).toEqual([T.WRITE]);
    expect(xs.call(T.TRANSACTION_END, z('T'), 1).map((m) => m.body)).toEqual([z('data/tx', 'tok1'), 'OK\0']);
    // removing a subtree fires on each node removed: below the removed node only exact watches
    xs.call(T.WATCH, z('data/x/y', 'leaf'));
    const rm = xs.call(T.RM, z('data/x'));
    expect(rm.map((m) => m.body)).toEqual([z('data/x/y', 'leaf'), z('data/x', 'tok1'), 'OK\0']);
    expect(xs.reply(T.UNWATCH, z('data', 'tok1'))).toMatchObject(ok(T.UNWATCH));
    expect(xs.call(T.WRITE, z('data/z') + '1').map((m) => m.type)).toEqual([T.WRITE]);
    expect(xs.reply(T.UNWATCH, z('data', 'tok1'))).toMatchObject(err('ENOENT'));
    expect(xs.reply(T.WATCH, z('data/x/y', 'leaf'))).toMatchObject(err('EEXIST'));
    const ev = xsEvents(h).filter((e) => e.xs_op === 'WATCH_EVENT');
    expect(ev[0]).toMatchObject({ domid: 1, path: 'data', token: 'tok1', result: 'OK' });
  });

  it('changes the domU may not read fire no event; RESET_WATCHES drops every watch', () => {
    const { xs, h } = client();
    xs.call(T.WATCH, z('/', 'root'));
    // dom0 writes its own node: the domU cannot read it or its parent
    const bus = h.p.xenbus!; // the xl toolstack (the default) has xenstore
    bus.fromDom0(() => bus.dom0.write('/local/domain/0/secret', 'x'));
    expect(xs.take()).toEqual([]);
    bus.fromDom0(() => bus.dom0.write('/local/domain/1/control/shutdown', 'poweroff'));
    expect(xs.take().map((m) => m.body)).toEqual([z('/local/domain/1/control/shutdown', 'root')]);
    xs.reply(T.RESET_WATCHES, z(''));
    xs.call(T.WRITE, z('data/q') + '1');
    expect(xs.take()).toEqual([]);
  });
});

describe('the ring', () => {
  it('a message split across notifications and wrapping around the ring is answered once complete', () => {
    const { xs } = client();
    for (let i = 0; i < 60; i++) expect(xs.reply(T.WRITE, z(`data/k${i}`) + 'v'.repeat(40))).toMatchObject(ok(T.WRITE));
    const msg = XsClient.encode(T.READ, 500, 0, z('data/k7'));
    xs.put(msg.subarray(0, 10));
    xs.kick();
    expect(xs.take()).toEqual([]);
    xs.put(msg.subarray(10));
    xs.kick();
    expect(xs.take()).toEqual([{ type: T.READ, req: 500, tx: 0, body: 'v'.repeat(40) }]);
  });

  it('a payload over 4096 bytes: XENSTORE_ERROR_PROTO, nothing more answered, recorded, no throw', () => {
    const { xs, h } = client();
    xs.put(XsClient.encode(T.WRITE, 9, 0, '', 5000));
    expect(xs.kick()).toBe(0n);
    expect(h.mem.u32(RING + OFF.ERROR)).toBe(3);
    expect(xs.take()).toEqual([]);
    xs.put(XsClient.encode(T.READ, 10, 0, z('name')));
    xs.kick();
    expect(xs.take()).toEqual([]);
    expect(xsEvents(h).at(-1)).toMatchObject({ domid: 1, xs_op: 'WRITE', req_id: 9, result: 'XENSTORE_ERROR_PROTO' });
  });

  it('request indices more than a ring apart: XENSTORE_ERROR_RINGIDX', () => {
    const { xs, h } = client();
    h.mem.w32(RING + OFF.REQ_PROD, 5000);
    xs.kick();
    expect(h.mem.u32(RING + OFF.ERROR)).toBe(2);
    expect(xsEvents(h).at(-1)).toMatchObject({ xs_op: 'ring', result: 'XENSTORE_ERROR_RINGIDX' });
  });

  it('response indices out of range: XENSTORE_ERROR_RINGIDX when xenstored next writes', () => {
    const { xs, h } = client();
    h.mem.w32(RING + OFF.RSP_CONS, 0x80000000);
    xs.put(XsClient.encode(T.READ, 1, 0, z('name')));
    xs.kick();
    expect(h.mem.u32(RING + OFF.ERROR)).toBe(2);
  });

  it('never throws, whatever the ring holds', () => {
    let seed = 99;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    for (let run = 0; run < 30; run++) {
      const { xs, h } = client();
      for (let i = 0; i < 40; i++) {
        const hdr = XsClient.encode(
          rnd() % 25,
          rnd(),
          rnd() % 3,
          String.fromCharCode(...Array.from({ length: rnd() % 60 }, () => rnd() % 128)),
          rnd() % 8 === 0 ? rnd() : undefined,
        );
        xs.put(hdr);
        if (rnd() % 4 === 0) h.mem.w32(RING + OFF.RSP_CONS, h.mem.u32(RING + OFF.RSP_PROD));
        expect(() => xs.kick()).not.toThrow();
      }
    }
  });
});
