// The KVM oracle (scripts/kvm-oracle/, docs/kvm-oracle.md): the small case runs on every test run —
// a 1-vCPU guest under real nested KVM (nVHE) — and its results are checked: KVM initialised in
// the host, the guest received its console input and echoed it, the host's trace holds the guest's
// run (entries, exits, PSCI calls, its UART writes) and its event formats.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { elfDeps } from '../../scripts/kvm-oracle/make-initramfs.ts';
import { REPO_ROOT, tempDir } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-kvm-oracle-');
afterAll(() => tmp.cleanup());

function runOracle(out: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(join(REPO_ROOT, 'scripts/kvm-oracle/run.sh'), [...args, out], { maxBuffer: 1 << 24 }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}

describe('scripts/kvm-oracle/run.sh, small case (nVHE host, 1-vCPU guest)', () => {
  const out = tmp.file('smp1');
  let r: { code: number; out: string; err: string };
  beforeAll(async () => {
    r = await runOracle(out, '--smp', '1', '--input', 'typed at the console');
  });

  it('boots the nested host with KVM in nVHE mode and reports the trace', () => {
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^kvm-oracle: \d+ trace lines, Hyp mode initialized successfully -> .*smp1\n$/);
    const host = readFileSync(join(out, 'host.txt'), 'utf8');
    expect(host).toMatch(/^uname 6\.1\.0-\d+-cloud-arm64$/m);
    expect(host).toContain('qemu-exit 0');
    expect(host).toContain('kvm [1]: Hyp mode initialized successfully');
    expect(readFileSync(join(out, 'stats.txt'), 'utf8')).toMatch(/^overrun: 0$/m);
  });

  it('the guest got its console input under KVM and echoed it', () => {
    const con = readFileSync(join(out, 'console.txt'), 'latin1');
    expect(con).toContain('KVMORACLE-GUEST-UP');
    expect(con).toContain('KVMORACLE-GUEST-READ:typed at the console');
  });

  it("the trace is the guest's run: one vCPU thread, entries and exits, PSCI, its UART writes", () => {
    const t = readFileSync(join(out, 'trace.txt'), 'utf8');
    expect(t.startsWith('# tracer: nop\n')).toBe(true);
    const lines = t.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines.length).toBeGreaterThan(1000);
    const comms = new Set(lines.map((l) => /^\s*(.*?)-\d+\s+\[/.exec(l)?.[1]));
    expect([...comms].filter((c) => c?.endsWith('/KVM'))).toEqual(['CPU 0/KVM']);
    const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
    expect(count(/ kvm_exit: /)).toBe(count(/ kvm_entry: /));
    expect(count(/ kvm_hvc_arm64: HVC at 0x[0-9a-f]+ \(r0: 0x0000000084000000, imm: 0x0\)/)).toBe(1); // PSCI_VERSION
    expect(count(/ kvm_hvc_arm64: .*r0: 0x0000000084000008,/)).toBe(1); // SYSTEM_OFF
    expect(count(/ kvm_mmio: mmio write len \d gpa 0x9000000 /)).toBeGreaterThan(40);
    const formats = readFileSync(join(out, 'kvm-formats.txt'), 'utf8');
    for (const e of ['kvm_entry', 'kvm_exit', 'kvm_mmio', 'kvm_hvc_arm64', 'kvm_sys_access', 'vgic_update_irq_pending'])
      expect(formats).toContain(`== ${e}\n`);
    expect(existsSync(join(out, 'guest.dtb'))).toBe(true);
    expect(readFileSync(join(out, 'case.env'), 'utf8')).toMatch(/^mode=nvhe\nhost_cpu=cortex-a57\nsmp=1\n/);
  });
});

describe('scripts/kvm-oracle/make-initramfs.ts', () => {
  it("reads an ELF file's loader and DT_NEEDED names", () => {
    const { interp, needed } = elfDeps(readFileSync('/bin/ls'), '/bin/ls');
    expect(interp).toMatch(/^\/lib.*\/ld-linux[-\w.]*\.so\.\d$/);
    expect(needed).toContain('libc.so.6');
  });

  it('refuses a file that is not an ELF64 file, naming it', () => {
    expect(() => elfDeps(Buffer.from('#!/bin/sh\n'.padEnd(80)), 'x.sh')).toThrow(/^x\.sh: not a 64-bit little-endian ELF file$/);
  });

  it('the oracle fails in one line on a bad option', async () => {
    const r = await runOracle(tmp.file('bad'), '--smp', '9');
    expect(r.code).toBe(1);
    expect(r.err).toBe('kvm-oracle: --smp 9: 1 to 8 vCPUs\n');
  });
});
