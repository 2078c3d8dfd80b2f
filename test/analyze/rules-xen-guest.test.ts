// The xenstore and blkif rules on a real run of the emulator: the bare-metal domU guests/xenstore.c
// (see test/emu/personality/xen/pvbus-guest.test.ts) drives xenstored and blkback by hand and makes
// the mistakes on purpose: requests outside its permissions, malformed ones, an unknown message
// type, a broken ring; grants the backend may not use, a grant it ended access to, segments outside their page, 12 segments, a
// ring overrun. Its own xenbus handshake is correct (keys, then Initialised; Connected after the
// backend), so the xenbus rules stay quiet.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGuest } from '../../emu/run.ts';
import { tmpTraces, traceFindings } from './xen-pv-events.ts';

const tmp = tmpTraces();
afterAll(() => tmp.cleanup());
let found: ReturnType<typeof traceFindings>;

beforeAll(async () => {
  const disk = tmp.file('disk.img');
  writeFileSync(disk, Buffer.alloc(64 * 512));
  const trace = tmp.file('guest.trace');
  await runGuest({
    machine: 'xen',
    kernel: path.join(import.meta.dirname, '../../guests/bin/xenstore.bin'),
    memBytes: 128 << 20,
    maxInsns: 5e7,
    disks: [{ file: disk, mode: 'cow' }],
    append: '',
    output: trace,
  });
  found = traceFindings(trace);
});

const messages = (rule: string) => found.fs.filter((f) => f.rule === rule).map((f) => f.message);

describe('xenstore, blkif and xenbus rules on a domU that breaks the PV protocols on purpose', () => {
  it('finds each family it breaks, and no xenbus finding', () => {
    expect(found.ids.filter((id) => /^(xenbus|xenstore|blkif)\./.test(id))).toEqual([
      'blkif.grant-after-end-access',
      'blkif.grant-refused',
      'blkif.ring-overflow',
      'blkif.segment-bounds',
      'xenstore.malformed-request',
      'xenstore.permission-denied',
      'xenstore.ring-error',
      'xenstore.unknown-type',
    ]);
  });

  it('xenstore: the four refused requests, the two malformed reads, type 99, the oversized message', () => {
    expect(messages('xenstore.permission-denied').map((m) => m.slice(0, m.indexOf(' answered')))).toEqual([
      'domain 1: READ /local/domain/0',
      'domain 1: WRITE /local/domain/0/evil',
      'domain 1: WRITE /local/domain/1/memory/target',
      'domain 1: SET_PERMS /local/domain/1/memory',
    ]);
    expect(found.fs.find((f) => f.rule === 'xenstore.malformed-request')!.count).toBe(2);
    expect(messages('xenstore.unknown-type')).toEqual([
      'domain 1 sent message type 99, which xs_wire.h does not define; xenstored answered ENOSYS.',
    ]);
    expect(messages('xenstore.ring-error')).toEqual([
      'domain 1: xenstored dropped the connection with XENSTORE_ERROR_PROTO (at WRITE); nothing more is answered on that ring.',
    ]);
  });

  it('blkif: the bad grant reference, the read-only grant, the unused entry; 12 segments and last_sect < first_sect; the page whose access it ended; the overrun', () => {
    expect(messages('blkif.grant-refused')).toEqual([
      'vbd-51712: grant reference 1000000 lies beyond the grant table; Xen answered GNTST_bad_gntref and the request fails.',
      'vbd-51712: grant reference 10 is read-only, and the backend must write into the page (a read request); Xen answered GNTST_general_error and the request fails.',
      'vbd-51712: grant reference 20 was never granted (the entry permits no access); Xen answered GNTST_general_error and the request fails.',
    ]);
    const seg = found.fs.find((f) => f.rule === 'blkif.segment-bounds')!;
    expect(seg.count).toBe(2);
    expect(seg.evidence.map((e) => e.text.slice(e.text.indexOf('ring 0')))).toEqual([
      'ring 0: request 110: 12 segments (a request carries 1 to 11); answered BLKIF_RSP_ERROR',
      'ring 0: request 111: segment 0 has first_sect 7, last_sect 2 (0 <= first <= last <= 7 in its page); answered BLKIF_RSP_ERROR',
    ]);
    expect(messages('blkif.grant-after-end-access')).toEqual([
      "vbd-51712: grant reference 9 (frame 0x40098) no longer permits access (flags 0x0) when the backend came to write it; the frontend must keep a grant until the request's response.",
    ]);
    expect(messages('blkif.ring-overflow')).toEqual([
      'vbd-51712: ring 0: the frontend claims 100 requests in a ring of 32; blkback stops serving this ring.',
    ]);
    // every request the backend took was answered, with its own id
    expect(found.ids).not.toContain('blkif.no-response');
    expect(found.ids).not.toContain('blkif.response-id');
  });
});
