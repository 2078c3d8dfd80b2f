// The emulated backends through the hypercall harness: several disks become xvda, xvdb…;
// netback's handshake and transmit path (single-slot, multi-slot with an extra-info slot, a bad
// grant), each packet a net_frame event and its slots answered as netback does; a frontend that
// cannot copy on receive is refused as netback refuses it.
import { describe, expect, it } from 'vitest';
import type { EventOf, NewEvent } from '../../../../capture/model.ts';
import { DOMID_SELF } from '../../../../arch/hypercalls/xen.ts';
import { parseMac } from '../../../../emu/net/nic.ts';
import { RAM, xenHarness } from './harness.ts';
import { T, XsClient } from './xs-client.ts';

const ARG = RAM + 0x1000;
const TX = RAM + 0x20000,
  RX = RAM + 0x21000,
  DATA = RAM + 0x22000;
const GNT = 0x38000000;
const z = (...parts: string[]): string => parts.map((p) => p + '\0').join('');
const fakeDisk = (file: string) => ({ file, sectors: 2048, readOnly: false, read() {}, write() {}, flush() {} });

type H = ReturnType<typeof xenHarness>;

function grant(h: H, ref: number, pa: number, readonly = false): void {
  h.mem.w32(GNT + ref * 8 + 4, pa / 4096);
  h.mem.w16(GNT + ref * 8 + 2, 0);
  h.mem.w16(GNT + ref * 8, 1 | (readonly ? 4 : 0));
}

/** netfront's side of the handshake, by hand; returns the event-channel port. */
function connectVif(h: H, xs: XsClient, rxCopy = '1'): number {
  h.mem.w16(ARG, DOMID_SELF);
  h.mem.w16(ARG + 2, 1); // size
  h.mem.w32(ARG + 4, 1); // XENMAPSPACE_grant_table
  h.mem.w64(ARG + 8, 0n);
  h.mem.w64(ARG + 16, BigInt(GNT / 4096));
  expect(h.hypercall(12, [7n, BigInt(ARG)])).toBe(0n);
  grant(h, 8, TX);
  grant(h, 9, RX);
  grant(h, 10, DATA, true);
  for (const ring of [TX, RX]) {
    h.mem.w32(ring + 4, 1); // req_event
    h.mem.w32(ring + 12, 1); // rsp_event
  }
  h.mem.w16(ARG, DOMID_SELF);
  h.mem.w16(ARG + 2, 0);
  expect(h.hypercall(32, [6n, BigInt(ARG)])).toBe(0n);
  const port = h.mem.u32(ARG + 4);
  for (const [k, v] of [
    ['tx-ring-ref', '8'],
    ['rx-ring-ref', '9'],
    ['event-channel', String(port)],
    ['request-rx-copy', rxCopy],
    ['state', '4'],
  ]) {
    xs.reply(T.WRITE, z(`device/vif/0/${k}`) + v);
  }
  return port;
}

/** A tx request in slot i: gref, offset, flags, id, size. */
function txSlot(h: H, i: number, gref: number, offset: number, flags: number, id: number, size: number): void {
  const at = TX + 64 + i * 12;
  h.mem.w32(at, gref);
  h.mem.w16(at + 4, offset);
  h.mem.w16(at + 6, flags);
  h.mem.w16(at + 8, id);
  h.mem.w16(at + 10, size);
}

function send(h: H, port: number, prod: number): void {
  h.mem.w32(TX, prod);
  h.mem.w32(ARG, port);
  expect(h.hypercall(32, [4n, BigInt(ARG)])).toBe(0n);
}

const rsp = (h: H, i: number) => [h.mem.u16(TX + 64 + i * 12), h.mem.i16(TX + 64 + i * 12 + 2)];
const frames = (events: NewEvent[]) => events.filter((e): e is EventOf<'net_frame'> => e.kind === 'net_frame');

describe('backends', () => {
  it("disks become xvda, xvdb … with Linux's virtual-device numbers", () => {
    const h = xenHarness({ smp: 1, disks: [fakeDisk('/a.img'), fakeDisk('/b.img')] });
    const xs = new XsClient(h);
    expect(xs.reply(T.DIRECTORY, z('device/vbd')).body).toBe(z('51712', '51728'));
    expect(xs.reply(T.READ, z('/local/domain/0/backend/vbd/1/51728/dev')).body).toBe('xvdb');
    expect(xs.reply(T.READ, z('/local/domain/0/backend/vbd/1/51728/params')).body).toBe('/b.img');
    expect(xs.reply(T.READ, z('device/vbd/51728/state')).body).toBe('1');
  });

  it('netback: connects, records each packet the frontend sends and answers each slot', () => {
    const h = xenHarness({ smp: 1, nics: [{ mac: parseMac('00:16:3e:01:02:03') }] });
    const xs = new XsClient(h);
    expect(xs.reply(T.READ, z('device/vif/0/mac')).body).toBe('00:16:3e:01:02:03');
    const port = connectVif(h, xs);
    expect(xs.reply(T.READ, z('/local/domain/0/backend/vif/1/0/state')).body).toBe('4');
    // one slot: a 60-byte ARP frame
    for (let i = 0; i < 60; i++) h.mem.w8(DATA + i, i);
    h.mem.w8(DATA + 12, 0x08);
    h.mem.w8(DATA + 13, 0x06);
    txSlot(h, 0, 10, 0, 0, 7, 60);
    send(h, port, 1);
    expect(rsp(h, 0)).toEqual([7, 0]);
    expect(h.mem.u32(TX + 8)).toBe(1); // rsp_prod
    // a 100-byte packet: first slot (flags more_data | extra_info, size = whole packet), the extra
    // info slot, then a 40-byte fragment at offset 2048
    for (let i = 0; i < 40; i++) h.mem.w8(DATA + 2048 + i, 0xa0 + i);
    txSlot(h, 1, 10, 0, 4 | 8, 8, 100);
    const extra = TX + 64 + 2 * 12;
    h.mem.w8(extra, 1); // XEN_NETIF_EXTRA_TYPE_GSO
    h.mem.w8(extra + 1, 0);
    txSlot(h, 3, 10, 2048, 0, 9, 40);
    send(h, port, 4);
    expect([rsp(h, 1), rsp(h, 2)[1], rsp(h, 3)]).toEqual([[8, 0], 1, [9, 0]]); // the extra slot: NETIF_RSP_NULL
    // a bad grant: the packet's slot is NETIF_RSP_ERROR
    txSlot(h, 4, 999, 0, 0, 10, 60);
    send(h, port, 5);
    expect(rsp(h, 4)).toEqual([10, -1]);
    expect(h.events.filter((e) => e.kind === 'device_error')).toMatchObject([
      { device: 'vif-0', detail: expect.stringContaining('slot ids 10') },
    ]);
    const f = frames(h.events);
    expect(f.map((e) => [e.device, e.direction, e.length, e.ethertype])).toEqual([
      ['vif-0', 'tx', 60, 0x0806],
      ['vif-0', 'tx', 100, 0x0806],
    ]);
    expect([...f[1]!.frame.subarray(58, 62)]).toEqual([58, 59, 0xa0, 0xa1]);
    const refused = h.events.find((e) => e.kind === 'xen_grant' && e.gref === 999);
    expect(refused).toMatchObject({ backend: 'vif-0', gntst: -3 });
    // nothing is ever received: the rx ring's responses stay where they are
    expect(h.mem.u32(RX + 8)).toBe(0);
  });

  it('netback refuses a frontend without request-rx-copy, as Linux netback does', () => {
    const h = xenHarness({ smp: 1, nics: [{}] });
    const xs = new XsClient(h);
    connectVif(h, xs, '0');
    expect(xs.reply(T.READ, z('/local/domain/0/backend/vif/1/0/state')).body).toBe('5'); // Closing
    const e = h.p.xenbus!.db.peek('/local/domain/0/error/backend/vif/1/0/error');
    expect(new TextDecoder().decode(e!.data)).toBe('95 /local/domain/1/device/vif/0/request-rx-copy not supported');
    expect(h.events.find((x) => x.kind === 'device_error')).toMatchObject({
      device: 'vif-0',
      detail: '/local/domain/1/device/vif/0/request-rx-copy not supported (error 95): the backend gives up and moves to Closing',
    });
  });
});
