// Golden `check` output for our guests under kvm and for the imported QEMU Linux boot.
// Regenerate (after reviewing the findings) with UPDATE_GOLDEN=1 npx vitest run test/analyze/check-golden.test.ts
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { check, formatCheck } from '../../analyze/check.ts';
import { importFile } from '../../capture/import/index.ts';
import { openTrace } from '../../capture/store/index.ts';
import { runGuest } from '../../emu/run.ts';
import { tmpTraces } from './engine-helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GOLDEN = path.join(import.meta.dirname, 'golden');
const tmp = tmpTraces();
afterAll(() => tmp.cleanup());

function compareGolden(name: string, text: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env['UPDATE_GOLDEN'] || !existsSync(file)) writeFileSync(file, text);
  expect(text).toBe(readFileSync(file, 'utf8'));
}

function checkText(trace: string): string {
  const r = openTrace(trace);
  try {
    return formatCheck(check(r));
  } finally {
    r.close();
  }
}

describe('check golden output', () => {
  for (const guest of ['uart', 'timer']) {
    it(`${guest} guest under kvm`, async () => {
      const out = tmp.file(`${guest}.trace`);
      await runGuest({ machine: 'kvm', kernel: path.join(ROOT, 'guests/bin', `${guest}.bin`), output: out });
      compareGolden(`check-kvm-${guest}.txt`, checkText(out));
    }, 120_000);
  }

  it('smp guest under kvm with 2 vCPUs (it calls CPU_ON on a running CPU on purpose)', async () => {
    const out = tmp.file('smp.trace');
    await runGuest({ machine: 'kvm', kernel: path.join(ROOT, 'guests/bin/smp.bin'), smp: 2, output: out });
    compareGolden('check-kvm-smp2.txt', checkText(out));
  }, 120_000);

  it('uart guest under xen with the SBSA vUART', async () => {
    const out = tmp.file('xen-uart.trace');
    await runGuest({ machine: 'xen', kernel: path.join(ROOT, 'guests/bin/uart.bin'), vuart: 'sbsa', output: out });
    compareGolden('check-xen-uart-sbsa.txt', checkText(out));
  }, 120_000);

  it('imported QEMU Linux boot (linux-gicv3-smp2 prefix)', async () => {
    const out = tmp.file('qemu.trace');
    await importFile({ input: path.join(ROOT, 'test/fixtures/qemu/linux-gicv3-smp2.prefix.log.gz'), output: out });
    compareGolden('check-qemu-linux-gicv3-smp2.txt', checkText(out));
  }, 120_000);

  it('imported QEMU U-Boot boot (uboot-gicv2-smp1 prefix; no DTB: absence is not judged)', async () => {
    const out = tmp.file('uboot.trace');
    await importFile({ input: path.join(ROOT, 'test/fixtures/qemu/uboot-gicv2-smp1.prefix.log.gz'), output: out });
    compareGolden('check-qemu-uboot-gicv2-smp1.txt', checkText(out));
  }, 120_000);

  it('the golden comparison fails when the output changes', () => {
    const text = readFileSync(path.join(GOLDEN, 'check-kvm-uart.txt'), 'utf8');
    expect(() => expect(text.replace('warnings', 'warnings!')).toBe(text)).toThrow();
  });
});

describe('bootscope check / explain CLI', () => {
  // Asynchronous: synchronous children would block the worker and starve vitest's RPC.
  const cli = (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      execFile(path.join(ROOT, 'bootscope'), args, { encoding: 'utf8' }, (err, stdout, stderr) => {
        const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        if (err && status === null && !('signal' in err && err.signal)) return reject(err);
        resolve({ status, stdout, stderr });
      });
    });

  it('exits 2 when errors are found, 0 otherwise, and prints JSON with --json', async () => {
    const out = tmp.file('xen-sbsa-pl011.trace');
    await runGuest({ machine: 'xen', kernel: path.join(ROOT, 'guests/bin/uart.bin'), vuart: 'sbsa', uartDt: 'pl011', output: out });
    const bad = await cli('check', out);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toContain('[uart.not-pl011-id] ID registers do not read as a PrimeCell PL011');
    const json = await cli('check', out, '--json');
    expect(json.status).toBe(2);
    const parsed = JSON.parse(json.stdout) as { counts: { error: number }; findings: { rule: string; evidence: { seq: number }[] }[] };
    expect(parsed.counts.error).toBe(1);
    expect(parsed.findings[0]!.evidence.length).toBeGreaterThan(0);
    const only = await cli('check', out, '--rules', 'gic.*,vm-spec');
    expect(only.status).toBe(0);
    expect(only.stdout).not.toContain('uart.not-pl011-id');
  }, 120_000);

  it('rejects unknown rules, topics and files with one-line errors', async () => {
    const r = await cli('check', 'nowhere.trace', '--rules', 'bogus.*');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "bootscope: --rules: 'bogus.*' matches no rule (families: uart, gic, psci-smccc, xen-abi, vm-spec, boot-protocol, acpi, virtio, pci, its, xenbus, xenstore, blkif; see docs/rules.md)\n",
    );
    const t = await cli('explain', 'gpu', 'nowhere.trace');
    expect(t.status).toBe(1);
    expect(t.stderr).toBe("bootscope: explain: unknown topic 'gpu' (expected one of: uart, disk)\n");
    const f = await cli('check', tmp.file('missing.trace'));
    expect(f.status).toBe(1);
    expect(f.stderr).toMatch(/^bootscope: .*missing\.trace.*\n$/);
  });
});
