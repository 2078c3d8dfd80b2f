// The pci and its rule families on a real boot: Debian's 6.1 kernel on --machine kvm, 2 vCPUs,
// GICv3 with QEMU virt's ITS, virtio-blk and virtio-net over PCIe (MSI-X through the ITS), to the
// disk's /sbin/init and power-off. The correct boot has no error and the two families find nothing;
// copies of the same trace with one ITS command taken out (the MAPD of virtio-net, a MAPTI of
// virtio-blk, the MAPC of CPU 1's collection), with one translation seeing a configuration table
// byte the redistributor never re-read, or with a GITS_CWRITER write moved past the queue, make
// each ITS rule fire on the real events that follow. (The pci rules fire on a real run of
// guests/pcibad: test/analyze/rules-pci.test.ts.)
import { copyFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../../analyze/check.ts';
import type { NewEvent, TraceEvent } from '../../capture/model.ts';
import { createTrace, openTrace } from '../../capture/store/index.ts';
import { makeTestDisk } from '../../scripts/make-test-disk.ts';
import { bootscope, fetchGuests, tempDir } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-real-rules-pci-its-');
let trace: Promise<string>;

beforeAll(() => {
  const guests = fetchGuests();
  const { disk, initramfs } = makeTestDisk(guests.kernel, guests.busybox, tmp.dir);
  const copy = tmp.file('disk.ext4');
  copyFileSync(disk, copy);
  const out = tmp.file('kvm.trace');
  trace = (async () => {
    const r = await bootscope(
      tmp.dir,
      'run',
      '--kernel',
      guests.kernel,
      '--initrd',
      initramfs,
      '--append',
      'console=ttyAMA0',
      '--smp',
      '2',
      '--gic',
      '3',
      '--mem',
      '512M',
      '--disk',
      copy,
      '--nic',
      'mac=52:54:00:00:be:ef',
      '--max-insns',
      '4e9',
      '-o',
      out,
      '--json',
    );
    if (r.code !== 0 || r.err !== '') throw new Error(`bootscope run exited ${r.code}: ${r.err}`);
    if (JSON.parse(r.out).stop !== 'system_off') throw new Error('the disk boot did not power off');
    return out;
  })();
  trace.catch(() => {});
});
afterAll(() => tmp.cleanup());

const FAMILIES = ['pci', 'its'];
const familyIds = (fs: { rule: string }[]) => [...new Set(fs.map((f) => f.rule).filter((r) => FAMILIES.includes(r.split('.')[0]!)))].sort();

/** A copy of the trace with `edit` applied to each event (undefined drops it). */
function edited(src: string, name: string, edit: (e: TraceEvent) => TraceEvent | undefined): string {
  const r = openTrace(src);
  const out = tmp.file(name);
  const w = createTrace(out, {
    source: r.meta.source,
    clock: r.meta.clock,
    devices: r.regions,
    hashes: r.meta.hashes,
    extra: r.meta.extra,
    overwrite: true,
  });
  try {
    r.forEachEvent({}, (e) => {
      const x = edit(e);
      if (!x) return;
      const { seq: _seq, ...rest } = x;
      w.append(rest as NewEvent);
    });
  } finally {
    w.close();
    r.close();
  }
  return out;
}

/** Calls `cb` for each event of `kinds` in the trace. */
function scan(file: string, kinds: TraceEvent['kind'][], cb: (e: TraceEvent) => void): void {
  const r = openTrace(file);
  try {
    r.forEachEvent({ kinds }, cb);
  } finally {
    r.close();
  }
}

function findings(file: string) {
  const r = openTrace(file);
  try {
    return check(r).findings;
  } finally {
    r.close();
  }
}

describe('pci and its rules on the kvm disk boot (2 vCPUs, ITS, virtio-blk + virtio-net)', () => {
  it('the correct boot: check has no error, and the pci and its families nothing at all; the trace has the ITS commands and translations', async () => {
    const t = await trace;
    const r = await bootscope(tmp.dir, 'check', t, '--json');
    const res = JSON.parse(r.out) as { findings: { rule: string; severity: string }[]; rulesChecked: number };
    expect(res.findings.filter((f) => f.severity === 'error').map((f) => f.rule)).toEqual([]);
    expect(familyIds(res.findings)).toEqual([]);
    const counts = await bootscope(
      tmp.dir,
      'sql',
      t,
      "SELECT cmd, count(*) AS n FROM events WHERE kind = 'its_command' GROUP BY cmd ORDER BY cmd",
      '--json',
    );
    const byCmd = Object.fromEntries((JSON.parse(counts.out) as { cmd: string; n: number }[]).map((x) => [x.cmd, x.n]));
    // One collection per CPU; one device table entry per function; one translation per MSI-X vector.
    expect(byCmd).toMatchObject({ MAPC: 2, MAPD: 2, INVALL: 2 });
    expect(byCmd['MAPTI']).toBeGreaterThanOrEqual(5);
    const msgs = await bootscope(
      tmp.dir,
      'sql',
      t,
      "SELECT count(*) AS n FROM events WHERE kind = 'its_translate' AND intid = 0",
      '--json',
    );
    expect(JSON.parse(msgs.out)).toEqual([{ n: 0 }]);
  });

  it("without virtio-net's MAPD: its.unmapped-device, on its MAPTIs and on its real messages", async () => {
    const t = await trace;
    const netDev = (e: TraceEvent) => e.kind === 'its_translate' && e.source.startsWith('virtio-net');
    let devid = -1;
    scan(t, ['its_translate'], (e) => {
      if (netDev(e) && e.kind === 'its_translate') devid = e.devid;
    });
    expect(devid).toBeGreaterThan(0);
    const fs = findings(
      edited(t, 'no-mapd.trace', (e) => (e.kind === 'its_command' && e.cmd === 'MAPD' && e.devid === devid ? undefined : e)),
    );
    expect(familyIds(fs)).toEqual(['its.unmapped-device']);
    const f = fs.find((x) => x.rule === 'its.unmapped-device')!;
    expect(f.message).toBe(`MAPTI names DeviceID ${devid}, which no MAPD mapped; the ITS refuses the command (map the device first).`);
    expect(f.count).toBeGreaterThan(3);
  });

  it("without one of virtio-blk's MAPTIs: its.unmapped-event on the messages of that vector", async () => {
    const t = await trace;
    let target: { devid: number; eventid: number } | undefined;
    scan(t, ['its_translate'], (e) => {
      if (!target && e.kind === 'its_translate' && e.source.startsWith('virtio-blk')) target = { devid: e.devid, eventid: e.eventid };
    });
    const { devid, eventid } = target!;
    const fs = findings(
      edited(t, 'no-mapti.trace', (e) =>
        e.kind === 'its_command' && e.cmd === 'MAPTI' && e.devid === devid && e.eventid === eventid ? undefined : e,
      ),
    );
    expect(familyIds(fs)).toEqual(['its.unmapped-event']);
    expect(fs.find((x) => x.rule === 'its.unmapped-event')!.message).toBe(
      `message from virtio-blk@00:02.0 (DeviceID ${devid}, EventID ${eventid}): no MAPTI/MAPI translates the EventID; the interrupt is lost.`,
    );
  });

  it("without CPU 1's MAPC: its.unmapped-collection on its INVALL and on the messages translated to collection 1", async () => {
    const t = await trace;
    const fs = findings(edited(t, 'no-mapc.trace', (e) => (e.kind === 'its_command' && e.cmd === 'MAPC' && e.icid === 1 ? undefined : e)));
    expect(familyIds(fs)).toEqual(['its.unmapped-collection']);
    const f = fs.find((x) => x.rule === 'its.unmapped-collection')!;
    expect(f.message).toBe('INVALL names collection 1, which no MAPC mapped to a redistributor; the ITS refuses the command.');
    expect(f.count).toBeGreaterThan(2);
  });

  it('a GITS_CWRITER write moved past the end of the 64 KiB queue Linux allocates: its.cwriter-outside-queue, once', async () => {
    const t = await trace;
    let first = -1;
    scan(t, ['mmio_write'], (e) => {
      if (first < 0 && e.kind === 'mmio_write' && e.register === 'GITS_CWRITER') first = e.seq;
    });
    const fs = findings(edited(t, 'cwriter.trace', (e) => (e.seq === first && e.kind === 'mmio_write' ? { ...e, value: 0x10000n } : e)));
    expect(familyIds(fs)).toEqual(['its.cwriter-outside-queue']);
    const f = fs.find((x) => x.rule === 'its.cwriter-outside-queue')!;
    expect(f.message).toBe(
      'gicv3-its@8080000: GITS_CWRITER = 0x10000 points 0x10000 into a command queue of 0x10000 bytes (GITS_CBASER.Size 15); the ITS never reads the commands.',
    );
    expect(f.evidence[0]!.seq).toBe(first);
  });

  it('a translation that finds the table byte changed and never re-read: its.lpi-config-not-invalidated (nothing invalidates it later)', async () => {
    const t = await trace;
    let last = -1;
    scan(t, ['its_translate'], (e) => {
      last = e.seq;
    });
    const fs = findings(
      edited(t, 'stale.trace', (e) => (e.seq === last && e.kind === 'its_translate' ? { ...e, table_config: e.lpi_config ^ 1 } : e)),
    );
    expect(familyIds(fs)).toEqual(['its.lpi-config-not-invalidated']);
    expect(fs.find((x) => x.rule === 'its.lpi-config-not-invalidated')!.evidence[0]!.seq).toBe(last);
  });
});
