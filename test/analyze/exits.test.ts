// The exit model (analyze/exits) and `bootscope exits`: the trap tables decide what KVM and Xen
// trap; a synthetic guest's actions become predicted exits; a committed real KVM ftrace (the head of
// the oracle's nvhe-smp2 run) becomes its traced exits, every kvm_exit line counted with its time in
// the host; --against compares; bad input gets one line. The kvm machine's predicted exits are
// compared with real KVM's traced ones for the same guest in test/real/kvm-machine.test.ts.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { sysregEncoding } from '../../arch/sysregs.ts';
import type { DeviceRegion, NewEvent, TraceEvent } from '../../capture/model.ts';
import { importFile } from '../../capture/import/index.ts';
import { hostNsOf } from '../../capture/import/ftrace-kvm.ts';
import { ExitsAnalysis, type ExitsResult } from '../../analyze/exits/index.ts';
import { compareExits } from '../../analyze/exits/compare.ts';
import { mmioRule, sysregRule } from '../../analyze/exits/rules.ts';
import { runLite, syntheticMeta } from '../../analyze/standalone.ts';
import { bootscope, REPO_ROOT, tempDir } from '../helpers/real-guests.ts';
import { writeEvents } from '../capture/store/helpers.ts';

const { dir, file } = tempDir('bootscope-exits-');

const enc = {
  ICC_SGI1R_EL1: sysregEncoding(3, 0, 12, 11, 5),
  ICC_IAR1_EL1: sysregEncoding(3, 0, 12, 12, 0),
  MIDR_EL1: sysregEncoding(3, 0, 0, 0, 0),
  MPIDR_EL1: sysregEncoding(3, 0, 0, 0, 5),
  ID_AA64PFR0_EL1: sysregEncoding(3, 0, 0, 4, 0),
  ID_PFR0_EL1: sysregEncoding(3, 0, 0, 1, 0),
  CNTV_CTL_EL0: sysregEncoding(3, 3, 14, 3, 1),
  CNTP_CTL_EL0: sysregEncoding(3, 3, 14, 2, 1),
  CTR_EL0: sysregEncoding(3, 3, 0, 0, 1),
  SCTLR_EL1: sysregEncoding(3, 0, 1, 0, 0),
  MDSCR_EL1: sysregEncoding(2, 0, 0, 2, 2),
  PMCR_EL0: sysregEncoding(3, 3, 9, 12, 0),
};

describe('the trap tables', () => {
  it('KVM 6.1: SGI writes and ID registers exit; ICC_IAR1_EL1, MIDR_EL1, MPIDR_EL1 and the virtual timer do not', () => {
    expect(sysregRule('kvm', enc.ICC_SGI1R_EL1, true)).toMatchObject({ when: 'always', cause: 'ipi' });
    expect(sysregRule('kvm', enc.ICC_SGI1R_EL1, false)).toBeUndefined();
    expect(sysregRule('kvm', enc.ID_AA64PFR0_EL1, false)).toMatchObject({ when: 'always', cause: 'guest', why: /TID3/ });
    expect(sysregRule('kvm', enc.ID_PFR0_EL1, false)).toMatchObject({ why: /TID3/ });
    for (const r of [enc.ICC_IAR1_EL1, enc.MIDR_EL1, enc.MPIDR_EL1, enc.CNTV_CTL_EL0]) expect(sysregRule('kvm', r, false)).toBeUndefined();
    expect(sysregRule('kvm', enc.CNTP_CTL_EL0, true)).toMatchObject({ why: /EL1PCEN/ });
    expect(sysregRule('kvm', enc.PMCR_EL0, false)).toMatchObject({ why: /TPM/ });
    expect(sysregRule('kvm', enc.SCTLR_EL1, true)).toMatchObject({ when: 'early', why: /TVM/ });
    expect(sysregRule('kvm', enc.SCTLR_EL1, false)).toBeUndefined();
    expect(sysregRule('kvm', enc.MDSCR_EL1, true)).toMatchObject({ when: 'until-used' });
    expect(sysregRule('xen', enc.MDSCR_EL1, true)).toMatchObject({ when: 'always' });
  });

  it('KVM 6.12 also traps the cache ID registers (TID2); 6.1 does not', () => {
    expect(sysregRule('kvm', enc.CTR_EL0, false)).toBeUndefined();
    expect(sysregRule('kvm-6.12', enc.CTR_EL0, false)).toMatchObject({ why: /TID2/ });
  });

  it('MMIO: the vGIC in the kernel, other devices in the VMM, the GICv2 CPU interface mapped; Xen aborts what it does not emulate', () => {
    expect(mmioRule('kvm', 'gic_redist', 'gicv3-redist')).toMatchObject({ exits: true, handler: 'kernel' });
    expect(mmioRule('kvm', 'uart', 'pl011')).toMatchObject({ exits: true, handler: 'vmm' });
    expect(mmioRule('kvm', undefined, undefined)).toMatchObject({ exits: true, handler: 'vmm' });
    expect(mmioRule('kvm', 'gic_cpu', 'gicv2-cpu')).toMatchObject({ exits: false });
    expect(mmioRule('xen', 'uart', 'sbsa-uart')).toMatchObject({ exits: true, handler: 'kernel' });
    expect(mmioRule('xen', 'uart', 'pl011')).toMatchObject({ exits: true, handler: 'abort' });
    expect(mmioRule('xen', 'xen_grant_table', 'xen-grant-table')).toMatchObject({ exits: false });
  });
});

const REGIONS: DeviceRegion[] = [
  { name: 'pl011@9000000', model: 'pl011', role: 'uart', base: 0x9000000, size: 0x1000 },
  { name: 'gicv3-dist@8000000', model: 'gicv3-dist', role: 'gic_dist', base: 0x8000000, size: 0x10000 },
];

function predict(events: TraceEvent[], hvs: ('kvm' | 'xen')[] = ['kvm', 'xen']): ExitsResult {
  return runLite(events, [new ExitsAnalysis(hvs)], syntheticMeta(), REGIONS).exits as ExitsResult;
}

let seq = 0;
const base = (vcpu = 0) => ({ seq: seq++, time: seq * 10, vcpu, pc: 0x1000n });
const mmio = (device: string, register: string, write = false): TraceEvent => ({
  ...base(),
  kind: write ? 'mmio_write' : 'mmio_read',
  addr: 0,
  size: 4,
  value: 0n,
  device,
  register,
  outcome: 'handled',
});
const sys = (name: keyof typeof enc, write = false, vcpu = 0): TraceEvent => ({
  ...base(vcpu),
  kind: 'sysreg',
  name,
  encoding: enc[name],
  write,
  value: 0n,
  outcome: 'handled',
});

describe('predicted exits', () => {
  const events: TraceEvent[] = [
    mmio('pl011@9000000', 'DR', true),
    mmio('pl011@9000000', 'FR'),
    mmio('gicv3-dist@8000000', 'GICD_CTLR'),
    sys('ID_AA64PFR0_EL1'),
    sys('ICC_SGI1R_EL1', true, 1),
    sys('ICC_IAR1_EL1'),
    sys('MIDR_EL1'),
    sys('SCTLR_EL1', true),
    { ...base(1), kind: 'hypercall', conduit: 'hvc', imm: 0, func: 0x84000000, name: 'PSCI_VERSION', subop: '', args: [], results: [] },
    { ...base(), kind: 'wfx', wfe: false, wake: 'irq', slept: 5 },
    { ...base(), kind: 'wfx', wfe: true, wake: 'event', slept: 5 },
    { ...base(), kind: 'irq_line', intid: 27, level: 1, trigger: 'level', source: 'timer_virt' },
  ];

  it('counts KVM exits by cause, reason, vCPU, device, register and function', () => {
    const kvm = predict(events).reports[0]!;
    expect(kvm).toMatchObject({ source: 'predicted', hypervisor: 'kvm', total: 7 });
    expect(Object.fromEntries(kvm.byReason.map((r) => [r.reason, r.exits]))).toEqual({ DABT_LOW: 3, SYS64: 2, HVC64: 1, WFx: 1 });
    expect(Object.fromEntries(kvm.byCause.map((r) => [r.cause, r.exits]))).toEqual({ guest: 5, ipi: 1, idle: 1 });
    expect(kvm.byVcpu).toEqual([
      { vcpu: 0, exits: 5, byCause: { guest: 4, ipi: 0, idle: 1, interrupt: 0, memory: 0 } },
      { vcpu: 1, exits: 2, byCause: { guest: 1, ipi: 1, idle: 0, interrupt: 0, memory: 0 } },
    ]);
    expect(kvm.byDevice.map((d) => [d.device, d.register, d.handler])).toEqual(
      expect.arrayContaining([
        ['pl011@9000000', 'DR', 'vmm'],
        ['gicv3-dist@8000000', 'GICD_CTLR', 'kernel'],
      ]),
    );
    expect(kvm.bySysreg.map((s) => s.register).sort()).toEqual(['ICC_SGI1R_EL1', 'ID_AA64PFR0_EL1']);
    expect(kvm.conditional.map((s) => [s.register, s.when])).toEqual(
      expect.arrayContaining([
        ['SCTLR_EL1', 'early'],
        ['WFE', 'host'],
      ]),
    );
    expect(kvm.byFunction).toEqual([{ function: 'PSCI_VERSION', calls: 1 }]);
    expect(kvm.interrupts).toEqual({ timer: 1, ipi: 0, device: 0 });
    expect(kvm.notExiting.map((n) => n.register).sort()).toEqual(['ICC_IAR1_EL1', 'MIDR_EL1']);
  });

  it('Xen traps WFE always and aborts PL011 accesses (it emulates only the SBSA UART)', () => {
    const xen = predict(events).reports[1]!;
    expect(xen.hypervisor).toBe('xen');
    expect(xen.byReason.find((r) => r.reason === 'WFx')?.exits).toBe(2);
    expect(xen.byDevice.find((d) => d.device === 'pl011@9000000')?.handler).toBe('abort');
  });
});

describe('traced exits: the head of a real nVHE KVM trace (test/fixtures/kvm/nvhe-smp2.head.txt.gz)', () => {
  const text = gunzipSync(readFileSync(join(REPO_ROOT, 'test/fixtures/kvm/nvhe-smp2.head.txt.gz'))).toString('latin1');
  const trace = file('head.trace');
  let result: ExitsResult;
  beforeAll(async () => {
    const input = file('head.txt');
    writeFileSync(input, text);
    await importFile({ input, output: trace });
    const r = await bootscope(dir, 'exits', trace, '--json');
    expect(r.err).toBe('');
    result = JSON.parse(r.out) as ExitsResult;
  });

  it("an exit's time in the host is read back from its detail, and only a safe integer counts", () => {
    expect(hostNsOf('kvm_exit IRQ (UNKNOWN); ISS not traced; 1234 ns in the host')).toBe(1234);
    expect(hostNsOf('kvm_exit IRQ (UNKNOWN); ISS not traced; 99999999999999999999 ns in the host')).toBeUndefined();
    expect(hostNsOf('kvm_exit IRQ (UNKNOWN); ISS not traced')).toBeUndefined();
  });

  it('one exit per kvm_exit line, by reason as the lines say, each with its time in the host', () => {
    const x = result.reports[0]!;
    expect(x.source).toBe('traced');
    const lines = [...text.matchAll(/ kvm_exit: (\w+): HSR_EC: 0x[0-9a-f]+ \((\w+)\)/g)].map((m) => (m[1] === 'TRAP' ? m[2]! : m[1]!));
    expect(x.total).toBe(lines.length);
    const want: Record<string, number> = {};
    for (const r of lines) want[r] = (want[r] ?? 0) + 1;
    expect(Object.fromEntries(x.byReason.map((r) => [r.reason, r.exits]))).toEqual(want);
    // Every exit but the few cut off at the end of the excerpt has its kvm_entry.
    const timed = x.byReason.reduce((a, r) => a + (r.host?.timed ?? 0), 0);
    expect(timed).toBeGreaterThan(x.total - 3);
    expect(x.byCause.reduce((a, c) => a + c.exits, 0)).toBe(x.total);
    expect(x.byVcpu.reduce((a, v) => a + v.exits, 0)).toBe(x.total);
  });

  it('MMIO, trapped registers and hypercalls behind the exits, as the trace has them', () => {
    const x = result.reports[0]!;
    const hvc = [...text.matchAll(/ kvm_hvc_arm64: /g)].length;
    expect(x.byFunction.reduce((a, f) => a + f.calls, 0)).toBe(hvc);
    const sgi = [...text.matchAll(/ kvm_sys_access: PC: \w+ SYS_ICC_SGI1R_EL1 /g)].length;
    expect(x.bySysreg.find((s) => s.register === 'ICC_SGI1R_EL1')).toMatchObject({ writes: sgi, cause: 'ipi' });
    expect(x.byCause.find((c) => c.cause === 'ipi')?.exits).toBe(sgi);
    const dabt = x.byReason.find((r) => r.reason === 'DABT_LOW')!.exits;
    const devices = x.byDevice.reduce((a, d) => a + d.reads + d.writes, 0) - (x.byReason.find((r) => r.reason === 'IABT_LOW')?.exits ?? 0);
    expect(devices).toBe(dabt);
    // The excerpt ends before the console's first byte: only the in-kernel vGIC and ITS, and RAM.
    expect(new Set(x.byDevice.filter((d) => d.device.startsWith('gicv3-')).map((d) => d.handler))).toEqual(new Set(['kernel']));
  });

  it('text output names the causes and the time in the host', async () => {
    const r = await bootscope(dir, 'exits', trace);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^exits traced under real KVM: [\d,]+ \(kvm_exit events\)$/m);
    expect(r.out).toMatch(/^guest +\d+ +[\d.]+% +[\d.]+ \S*s +[\d.]+ \S*s /m);
    expect(r.out).toMatch(/^ICC_SGI1R_EL1 +0 +\d+ +ipi /m);
  });

  it('--against: a prediction compared with a real trace; the wrong way round is one line', async () => {
    const emu = file('emu.trace');
    writeEvents(emu, [
      {
        kind: 'mmio_read',
        time: 1,
        vcpu: 0,
        addr: 0x9000018,
        size: 4,
        value: 0n,
        device: 'pl011@9000000',
        register: 'FR',
        outcome: 'handled',
      } as NewEvent,
    ]);
    const r = await bootscope(dir, 'exits', emu, '--against', trace);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^mmio +pl011@9000000 +1 +\d+ +differs/m);
    expect(r.err).toMatch(/^bootscope: .*emu\.trace: \d+ guest-caused exit counts differ from .*head\.trace\n$/);
    const back = await bootscope(dir, 'exits', trace, '--against', emu);
    expect(back.err).toMatch(
      /^bootscope: .*head\.trace: an imported KVM ftrace; --against wants the emulator's trace first, the real one second\n$/,
    );
    const notReal = await bootscope(dir, 'exits', emu, '--against', emu);
    expect(notReal.err).toMatch(/^bootscope: .*emu\.trace: not an imported KVM ftrace .*\n$/);
  });

  it('compareExits agrees with itself and names expected differences', () => {
    const x = result.reports[0]!;
    const same = compareExits({ ...x, source: 'predicted' }, x);
    expect(same.differing).toBe(0);
    expect(same.rows.filter((r) => r.verdict === 'timing').map((r) => r.group)).toEqual(['ipi', 'idle', 'interrupt', 'memory']);
    expect(same.rows.filter((r) => r.group === 'sysreg').map((r) => [r.item, r.verdict])).toContainEqual(['SCTLR_EL1', 'agrees']);
    // A register the predicted trace never recorded is shown as such, not judged.
    const unrec = compareExits({ ...x, source: 'predicted', recordedSysregs: x.recordedSysregs.filter((n) => n !== 'SCTLR_EL1') }, x);
    expect(unrec.rows.find((r) => r.item === 'SCTLR_EL1')).toMatchObject({ verdict: 'unrecorded', predicted: 0 });
    expect(unrec.differing).toBe(0);
    // One PSCI_VERSION call fewer in the prediction is a difference.
    const fewer = compareExits(
      {
        ...x,
        source: 'predicted',
        byFunction: x.byFunction.map((f) => (f.function === 'PSCI_VERSION' ? { ...f, calls: f.calls - 1 } : f)),
      },
      x,
    );
    expect(fewer.rows.find((r) => r.item === 'PSCI_VERSION')).toMatchObject({ verdict: 'differs' });
    expect(fewer.differing).toBe(1);
  });
});

describe('bootscope exits: bad input gets one line', () => {
  const oneLine = (r: { code: number | null; err: string }, re: RegExp) => {
    expect(r.code).toBe(1);
    expect(r.err).toMatch(re);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  };

  it('missing, empty, random, text, a directory, truncated', async () => {
    oneLine(await bootscope(dir, 'exits', file('nope.trace')), /^bootscope: .*nope\.trace: no such file\n$/);
    writeFileSync(file('empty.trace'), '');
    oneLine(await bootscope(dir, 'exits', file('empty.trace')), /^bootscope: .*empty\.trace: /);
    writeFileSync(file('random.trace'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 255)));
    oneLine(await bootscope(dir, 'exits', file('random.trace')), /^bootscope: .*random\.trace: /);
    writeFileSync(file('words.trace'), 'not a trace at all\n'.repeat(50));
    oneLine(await bootscope(dir, 'exits', file('words.trace')), /^bootscope: .*words\.trace: /);
    mkdirSync(file('a-dir.trace'), { recursive: true });
    oneLine(await bootscope(dir, 'exits', file('a-dir.trace')), /^bootscope: .*a-dir\.trace: /);
    const whole = readFileSync(file('head.trace'));
    for (const n of [100, whole.length >> 1]) {
      writeFileSync(file(`cut${n}.trace`), whole.subarray(0, n));
      const r = await bootscope(dir, 'exits', file(`cut${n}.trace`));
      expect(r.code).toBe(1);
      expect(r.err).not.toMatch(/\n\s+at |internal error/);
    }
  });

  it('no read permission is the file and the reason, not an internal error', async () => {
    const f = file('secret.trace');
    writeFileSync(f, readFileSync(file('head.trace')));
    chmodSync(f, 0);
    const r = await bootscope(dir, 'exits', f);
    chmodSync(f, 0o644);
    // As root the file is readable anyway; either way no stack trace.
    expect(r.err).not.toMatch(/\n\s+at |internal error/);
  });

  it('an imported ftrace without kvm_exit events', async () => {
    const input = file('no-exits.txt');
    writeFileSync(
      input,
      [
        '# tracer: nop',
        ' CPU 0/KVM-4123 [002] ..... 1234.500001: kvm_entry: PC: 0xffff800080a1b2c0',
        ' CPU 0/KVM-4123 [002] ..... 1234.500004: kvm_hvc_arm64: HVC at 0xffff800080a1b2c4 (r0: 0x0000000084000000, imm: 0x0)',
        '',
      ].join('\n'),
    );
    await importFile({ input, output: file('no-exits.trace') });
    oneLine(
      await bootscope(dir, 'exits', file('no-exits.trace')),
      /^bootscope: .*no-exits\.trace: an imported ftrace without kvm_exit events \(trace with events\/kvm enabled\): no exits to count\n$/,
    );
  });

  it('a trace that records no guest action', async () => {
    writeEvents(file('console-only.trace'), [
      { kind: 'console', time: 1, vcpu: 0, port: 'pl011@9000000', bytes: Uint8Array.of(65) } as NewEvent,
    ]);
    oneLine(
      await bootscope(dir, 'exits', file('console-only.trace')),
      /: records no guest action \(MMIO, system register, hypercall, WFI\/WFE\): no exits to predict\n$/,
    );
  });

  it('a bad --hypervisor, or xen with --against', async () => {
    oneLine(
      await bootscope(dir, 'exits', file('head.trace'), '--hypervisor', 'hyperv'),
      /^bootscope: --hypervisor: 'hyperv' is not one of kvm, kvm-6\.12, xen\n$/,
    );
    oneLine(
      await bootscope(dir, 'exits', file('head.trace'), '--hypervisor', 'xen', '--against', file('head.trace')),
      /--hypervisor must be kvm or kvm-6\.12\n$/,
    );
  });

  it('--json is valid JSON, and a closed pipe ends quietly', async () => {
    const r = await bootscope(dir, 'exits', file('head.trace'), '--json');
    expect(JSON.parse(r.out).reports).toHaveLength(1);
    const cli = `"${process.execPath}" --disable-warning=ExperimentalWarning ${join(REPO_ROOT, 'cli/main.ts')}`;
    const p = await new Promise<{ status: string; err: string }>((resolve) => {
      const child = spawn('bash', ['-c', `${cli} exits '${file('head.trace')}' | head -c 10 >/dev/null; echo "\${PIPESTATUS[*]}" >&2`], {
        cwd: dir,
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', () => resolve({ status: err.trim().split('\n').pop()!, err }));
    });
    expect(p.status).toBe('0 0');
    expect(p.err.trim()).toBe('0 0');
  });
});
