// The real `bootscope` program, run as a user runs it: exit codes, one-line errors, outputs.

import { describe, it, expect, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { bootscope as bootscopeAsync, bootscopeWith } from '../helpers/real-guests.ts';
import { fetchGuests, guestPin } from '../../cli/inputs.ts';

const ROOT = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'bootscope-cli-'));

/** Asynchronous: a run of synchronous children would block the worker and starve vitest's RPC. */
function bootscope(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', join(ROOT, 'cli/main.ts'), ...args],
      { encoding: 'utf8', cwd: dir, maxBuffer: 256 << 20 },
      (err, out, errText) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        if (err && code === null && !('signal' in err && err.signal)) return reject(err);
        resolve({ code, out, err: errText });
      },
    );
  });
}

const trace = join(dir, 'boot.trace');
const serial = readFileSync(join(ROOT, 'test/fixtures/qemu/linux-gicv3-smp2.prefix.serial'));

beforeAll(async () => {
  const log = join(dir, 'boot.log');
  writeFileSync(log, gunzipSync(readFileSync(join(ROOT, 'test/fixtures/qemu/linux-gicv3-smp2.prefix.log.gz'))));
  const r = await bootscope('import', log, '-o', trace, '--json');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
});

describe('bootscope CLI', () => {
  it('prints help and version', async () => {
    const h = await bootscope('--help');
    expect(h.code).toBe(0);
    for (const c of ['demo', 'info', 'events', 'console', 'sql', 'import']) expect(h.out).toContain(c);
    const v = await bootscope('--version');
    expect(v.out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect((await bootscope('events', '--help')).out).toContain('--from <t>');
  });

  it('info shows source, completeness, counts and digest; --json parses', async () => {
    const r = await bootscope('info', trace);
    expect(r.code).toBe(0);
    expect(r.out).toContain('status    complete');
    expect(r.out).toContain('import qemu-log');
    expect(r.out).toMatch(/digest {4}sha256:[0-9a-f]{64}/);
    const j = JSON.parse((await bootscope('info', trace, '--json')).out);
    expect(j.complete).toBe(true);
    expect(j.counts.kinds.mmio_read).toBeGreaterThan(1000);
  });

  it('console reproduces what QEMU printed on the serial port', async () => {
    const r = await new Promise<{ status: number; stdout: Buffer }>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--disable-warning=ExperimentalWarning', join(ROOT, 'cli/main.ts'), 'console', trace],
        { encoding: 'buffer', maxBuffer: 256 << 20 },
        (err, stdout) => (err ? reject(err) : resolve({ status: 0, stdout })),
      ),
    );
    expect(r.status).toBe(0);
    // The fixture is a prefix of the log: its console is a prefix of QEMU's serial output.
    expect(r.stdout.length).toBeGreaterThan(1000);
    expect(serial.subarray(0, r.stdout.length).equals(r.stdout)).toBe(true);
  });

  it('events filter by kind, device, register, sequence range and limit', async () => {
    const r = await bootscope('events', trace, '--device', 'pl011@9000000', '--register', 'DR', '--limit', '5');
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(l).toMatch(/mmio_write .*pl011@9000000\.DR/);
    const j = JSON.parse((await bootscope('events', trace, '--from', '#10', '--to', '#20', '--json')).out);
    expect(j.map((e: { seq: number }) => e.seq)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const acks = JSON.parse((await bootscope('events', trace, '--kind', 'irq_ack', '--json')).out);
    expect(acks.length).toBeGreaterThan(0);
    expect(acks.every((e: { kind: string }) => e.kind === 'irq_ack')).toBe(true);
  });

  it('sql runs queries over decoded events and the summary tables', async () => {
    const r = await bootscope('sql', trace, "SELECT count(*) AS n FROM events WHERE kind = 'console'", '--json');
    expect(r.code).toBe(0);
    const [{ n }] = JSON.parse(r.out);
    const viaInfo = JSON.parse((await bootscope('info', trace, '--json')).out).counts.kinds.console;
    expect(n).toBe(viaInfo);
    const t = await bootscope('sql', trace, 'SELECT kind, count FROM kind_counts ORDER BY kind');
    expect(t.out).toMatch(/mmio_read\s+\d+/);
  });

  it('bad input gives one line naming the file, no stack trace, non-zero exit', async () => {
    const notSqlite = join(dir, 'junk.trace');
    writeFileSync(notSqlite, 'this is not a trace\n'.repeat(20));
    const other = join(dir, 'other.sqlite');
    new Database(other).exec('CREATE TABLE t(x); INSERT INTO t VALUES (1);');
    for (const [file, msg] of [
      [join(dir, 'missing.trace'), 'no such file'],
      [notSqlite, 'not a SQLite database'],
      [other, 'not a bootscope trace'],
    ] as const) {
      const r = await bootscope('info', file);
      expect(r.code).not.toBe(0);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toContain(file);
      expect(r.err).toContain(msg);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    const bad = await bootscope('events', trace, '--kind', 'mmio');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain("unknown event kind 'mmio'");
    const sql = await bootscope('sql', trace, 'DELETE FROM meta');
    expect(sql.code).not.toBe(0);
    expect(sql.err).toContain(trace);
    expect((await bootscope('info', trace)).code).toBe(0); // nothing was changed
  });

  it('run: the ACPI table options need --bios, and --acpi-spcr is on or off (one line, before anything runs)', async () => {
    const kernel = join(dir, 'kernel.bin');
    const aml = join(dir, 'oemx.aml');
    writeFileSync(kernel, Buffer.alloc(4096));
    writeFileSync(aml, Buffer.alloc(40));
    const out = join(dir, 'acpi-opts.trace');
    for (const [args, msg] of [
      [['--acpi-table-unchecked', aml], '--acpi-table-unchecked shapes the ACPI tables the firmware gives the OS: it needs --bios'],
      [['--acpi-table', aml], '--acpi-table shapes the ACPI tables the firmware gives the OS: it needs --bios'],
      [['--bios', kernel, '--acpi-spcr', 'maybe'], "--acpi-spcr must be on or off, not 'maybe'"],
    ] as const) {
      const r = await bootscope('run', '--kernel', kernel, '-o', out, ...args);
      expect(r.code).not.toBe(0);
      expect(r.err).toBe(`bootscope: ${msg}\n`);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('--debug shows the stack', async () => {
    const r = await bootscope('--debug', 'info', join(dir, 'missing.trace'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/\n\s+at /);
  });

  // Asynchronous child processes: the demo boots Linux twice, and a long spawnSync would starve
  // the vitest worker's RPC ("Timeout calling onTaskUpdate").
  it("demo boots Debian's pinned kernel under kvm and xen, records the built-in guest and imports the bundled boot", async () => {
    const r = await bootscopeAsync(dir, 'demo', '-o', join(dir, 'demo'), '--json');
    expect(r.code).toBe(0);
    expect(r.err).toBe(''); // piped: no progress bars
    const j = JSON.parse(r.out);
    // The kernel the demo fetched itself, through scripts/fetch-guests.sh: the pinned one.
    expect(j.traces.linux.kernel).toBe((await fetchGuests(['kernel'])).kernel);
    expect(j.traces.linuxUnavailable).toBeUndefined();
    // Linux boots from the disk initramfs onto the test disk (scripts/make-test-disk.ts) to its init.
    expect(j.traces.linux.disk).toBe(join(dir, 'demo', 'test-disk.ext4'));
    expect(j.traces.diskUnavailable).toBeUndefined();
    for (const which of ['kvm', 'xen']) {
      const info = JSON.parse((await bootscopeAsync(dir, 'info', j.traces.linux[which], '--json')).out);
      expect(info.complete).toBe(true);
      expect(info.meta.source).toMatchObject({ type: 'emulator', name: which });
      expect(info.counts.kinds.block_request).toBeGreaterThan(10);
      expect(info.meta.hashes.disk0).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(j.kvm.complete).toBe(true);
    expect(j.kvm.meta.source).toMatchObject({ type: 'emulator', name: 'kvm' });
    expect(j.xen.meta.source).toMatchObject({ type: 'emulator', name: 'xen' });
    expect(j.qemu.complete).toBe(true);
    const text = await bootscopeAsync(dir, 'demo', '-o', join(dir, 'demo'));
    expect(text.code).toBe(0);
    expect(text.out).toContain('PASS uart');
    expect(text.out).toContain('Booting Linux on physical CPU');
    expect(text.out).toContain('$ bootscope check');
    expect(text.out).toMatch(/uart\s+A: pl011@9000000[\s\S]*B: sbsa-uart@22000000/); // diff lines the UARTs up by role
    expect(text.out).toContain(
      `Debian's kernel (${j.traces.linux.kernel}) booted from its initramfs onto ${j.traces.linux.disk} (virtio-blk on kvm, a Xen PV disk on xen) to the disk's /sbin/init, as a KVM guest and as a Xen domU`,
    );
    expect(text.out).not.toContain('could not be fetched');
    expect(j.diff).toBeDefined();
    expect(existsSync(j.report)).toBe(true);
  });

  it('demo on a machine that cannot fetch the kernel: says why in one line and shows the built-in guest', async () => {
    // Not root, an empty guest cache, and an apt that fails: scripts/fetch-guests.sh cannot fetch.
    const bin = join(dir, 'no-apt-bin');
    mkdirSync(bin, { recursive: true });
    for (const [name, body] of Object.entries({
      id: 'echo 1000',
      dpkg: 'echo arm64',
      'apt-get': 'echo "E: Temporary failure resolving the archive" >&2; exit 100',
      'apt-helper': 'exit 100',
    })) {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    }
    const cache = join(dir, 'empty-guests');
    const env = { PATH: `${bin}:${process.env.PATH}`, BOOTSCOPE_GUESTS: cache };
    const k = guestPin('kernel');
    const why = `cannot fetch ${k.package} ${k.version} (kernel): apt-get download ${k.package}:arm64=${k.version} failed (Temporary failure resolving the archive); as root, apt-get update may help; ${k.pool} is not on any configured apt source. If the archive dropped it, move the pin on purpose: docs/inputs.md`;
    const r = await bootscopeWith({ cwd: dir, env }, 'demo', '-o', join(dir, 'demo-offline'), '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.traces.linux).toBeUndefined();
    expect(j.traces.linuxUnavailable).toBe(why);
    expect(j.kvm.complete).toBe(true);
    const text = await bootscopeWith({ cwd: dir, env }, 'demo', '-o', join(dir, 'demo-offline'));
    expect(text.code).toBe(0);
    const lines = text.out.split('\n').filter((l) => l.includes('could not be fetched'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`(Debian's kernel could not be fetched, so only the built-in guest ran: ${j.traces.linuxUnavailable})`);
    expect(text.out).toContain('PASS uart');
    expect(readdirSync(cache).filter((f) => f !== '.lock')).toEqual([]); // nothing half fetched
  });
});
