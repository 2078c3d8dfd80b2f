// The full real-KVM corpus (scripts/kvm-oracle/make-corpus.sh, made once per machine under
// .cache/kvm-oracle/ and regenerated when missing): every case imports with no bad line and the
// guest's console byte for byte; the boot's hypercalls match the committed trimmed copy; and the
// analyzers work on an imported real KVM trace (console, phases, latency, check, explain uart).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFile } from '../../cli/commands/import.ts';
import { openTrace } from '../../capture/store/index.ts';
import type { TraceEvent } from '../../capture/model.ts';
import { FTRACE_UNMAPPED } from '../../capture/import/ftrace-kvm.ts';
import { bootscope, REPO_ROOT, runScript, tempDir } from '../helpers/real-guests.ts';

const CASES = ['nvhe-smp1', 'nvhe-smp2', 'vhe-smp1', 'vhe-smp2', 'nvhe-smp2-host612'];
const corpus = join(REPO_ROOT, '.cache/kvm-oracle');
const tmp = tempDir('bootscope-kvm-corpus-');
afterAll(() => tmp.cleanup());

beforeAll(async () => {
  // Makes only the cases that are missing (each takes both cores for one to two minutes).
  await runScript(join(REPO_ROOT, 'scripts/kvm-oracle/make-corpus.sh'), [corpus, ...CASES]);
});

/** Hypercall names up to and including the first PSCI_CPU_ON: the boot's discovery sequence. */
const bootCalls = (names: string[]) => names.slice(0, names.indexOf('PSCI_CPU_ON') + 1);

describe.each(CASES)('%s, imported', (name) => {
  const dir = join(corpus, name);
  const out = tmp.file(`${name}.trace`);
  let events: TraceEvent[] = [];
  let stats: Awaited<ReturnType<typeof importFile>>['stats'];
  beforeAll(async () => {
    const res = await importFile({ input: join(dir, 'trace.txt'), output: out, dtb: join(dir, 'guest.dtb') });
    stats = res.stats;
    const r = openTrace(out);
    try {
      events = [...r.events()];
    } finally {
      r.close();
    }
  });

  it('every line accounted for, none bad, only events unmapped on purpose', () => {
    const text = readFileSync(join(dir, 'trace.txt'), 'latin1');
    expect(stats.lines).toBe(text.split('\n').length - 1);
    expect(stats.bad).toBe(0);
    expect(Object.keys(stats.unmapped).filter((n) => !FTRACE_UNMAPPED.has(n))).toEqual([]);
  });

  it("the console is the guest's serial output, byte for byte", () => {
    const bytes = Buffer.concat(events.flatMap((e) => (e.kind === 'console' ? [e.bytes] : [])));
    expect(bytes.toString('latin1')).toBe(readFileSync(join(dir, 'console.txt'), 'latin1'));
  });

  it('one hypercall per kvm_hvc_arm64 line, one exception per kvm_exit line', () => {
    const text = readFileSync(join(dir, 'trace.txt'), 'latin1');
    expect(events.filter((e) => e.kind === 'hypercall').length).toBe(text.split(' kvm_hvc_arm64: ').length - 1);
    expect(events.filter((e) => e.kind === 'exception').length).toBe(text.split(' kvm_exit: ').length - 1);
  });
});

describe('the full boot against its committed trimmed copy', () => {
  it("nvhe-smp2's boot hypercalls (to the first CPU_ON) are those of test/fixtures/kvm/nvhe-smp2.head", () => {
    const names = (text: string) => [...text.matchAll(/ kvm_hvc_arm64: HVC at 0x[0-9a-f]+ \(r0: 0x([0-9a-f]+),/g)].map((m) => m[1]!);
    const fixture = gunzipSync(readFileSync(join(REPO_ROOT, 'test/fixtures/kvm/nvhe-smp2.head.txt.gz'))).toString('latin1');
    const full = readFileSync(join(corpus, 'nvhe-smp2/trace.txt'), 'latin1');
    const upToCpuOn = (ids: string[]) => bootCalls(ids.map((id) => (id.endsWith('c4000003') ? 'PSCI_CPU_ON' : id)));
    expect(upToCpuOn(names(full))).toEqual(upToCpuOn(names(fixture)));
  });
});

describe('the analyzers on an imported real KVM trace (vhe-smp2)', () => {
  const dir = join(corpus, 'vhe-smp2');
  const trace = tmp.file('cli.trace');
  beforeAll(async () => {
    const r = await bootscope(tmp.dir, 'import', join(dir, 'trace.txt'), '--dtb', join(dir, 'guest.dtb'), '-o', trace, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ format: 'ftrace', bad: 0 });
  });

  it('console prints what the guest wrote', async () => {
    const r = await bootscope(tmp.dir, 'console', trace);
    expect(r.code).toBe(0);
    expect(r.out).toBe(readFileSync(join(dir, 'console.txt'), 'latin1'));
  });

  it('phases finds the GIC set-up, the SMP bring-up and the console', async () => {
    const r = await bootscope(tmp.dir, 'phases', trace);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^GIC init +\d+/m);
    expect(r.out).toMatch(/^SMP bring-up +\d+/m);
    expect(r.out).toMatch(/SMP bring-up +#\d+ first PSCI CPU_ON/);
  });

  it('latency counts the timer and UART assertions (a KVM trace has no acknowledgements)', async () => {
    const r = await bootscope(tmp.dir, 'latency', trace);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^INTID 27 +vtimer +\d+/m);
    expect(r.out).toMatch(/^INTID 33 +uart +\d+/m);
  });

  it('check finds no error', async () => {
    const r = await bootscope(tmp.dir, 'check', trace);
    expect(r.out).toMatch(/ 0 errors,/);
  });

  it('explain uart: a working PL011 whose interrupt the guest handled', async () => {
    const r = await bootscope(tmp.dir, 'explain', 'uart', trace);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^verdict: working-pl011$/m);
    expect(r.out).toMatch(/INTID 33 was asserted \d+ times and the guest's interrupt handler answered/);
  });
});
