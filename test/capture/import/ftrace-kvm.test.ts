// The ftrace importer on real arm64 KVM traces: trimmed copies of the KVM oracle's traces
// (test/fixtures/kvm/, made by scripts/kvm-oracle/make-corpus.sh --trim; docs/kvm-oracle.md) and the
// kvm event lists of the two host kernels (6.1 and 6.12).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FTRACE_UNMAPPED, KVM_HANDLERS } from '../../../capture/import/ftrace-kvm.ts';
import { ofKind, parse } from './helpers.ts';

const FX = join(import.meta.dirname, '../../fixtures/kvm');
const fixture = (name: string) => gunzipSync(readFileSync(join(FX, name)));
const formats = (kernel: string) =>
  [...readFileSync(join(FX, `kvm-formats-${kernel}.txt`), 'utf8').matchAll(/^== (\S+)$/gm)].map((m) => m[1]!);

describe('kvm events of the host kernels', () => {
  it.each(['6.1', '6.12'])('every kvm:* event of Linux %s has a handler or is unmapped on purpose', (kernel) => {
    const names = formats(kernel);
    expect(names.length).toBeGreaterThan(35);
    expect(names.filter((n) => !KVM_HANDLERS.has(n))).toEqual([]);
  });

  it('docs/importers.md gives the reason of every event left unmapped on purpose', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../../docs/importers.md'), 'utf8');
    for (const name of FTRACE_UNMAPPED.keys()) expect(doc).toContain(`\`${name}\``);
  });
});

describe('nvhe-smp2.head: a 2-vCPU guest booting under nVHE KVM (6.1), to its second vCPU', () => {
  const r = parse('ftrace', fixture('nvhe-smp2.head.txt.gz'));

  it('reads every line: no bad line, the host bookkeeping counted as unmapped', () => {
    expect(r.stats.bad).toBe(0);
    expect(r.stats.lines).toBe(12000);
    expect(r.stats.lines).toBe(
      r.stats.parsed + r.stats.header + r.stats.blank + Object.values(r.stats.unmapped).reduce((a, b) => a + b, 0),
    );
    expect(Object.keys(r.stats.unmapped).every((n) => FTRACE_UNMAPPED.has(n))).toBe(true);
  });

  it('the hypercalls of the boot, in order, as KVM 6.1 saw them', () => {
    const names = ofKind(r.events, 'hypercall').map((h) => h.name);
    expect(names.slice(0, 10)).toEqual([
      'PSCI_VERSION',
      'PSCI_MIGRATE_INFO_TYPE',
      'PSCI_FEATURES',
      'SMCCC_VERSION',
      'TRNG_VERSION',
      'PSCI_FEATURES',
      'PSCI_FEATURES',
      'PSCI_FEATURES',
      'VENDOR_HYP_CALL_UID',
      'KVM_FEATURES',
    ]);
    expect(names).toContain('PV_TIME_FEATURES');
    expect(names).toContain('TRNG_RND64');
    expect(names.filter((n) => n === 'PSCI_CPU_ON')).toHaveLength(1);
    // The second vCPU registers its stolen-time area as soon as it runs.
    const st = ofKind(r.events, 'hypercall').filter((h) => h.name === 'PV_TIME_ST');
    expect(st.map((h) => h.vcpu)).toEqual([0, 1]);
  });

  it('exits carry the full syndrome where KVM traced it (sysreg traps, stage-2 aborts)', () => {
    const exits = ofKind(r.events, 'exception');
    expect(exits.length).toBeGreaterThan(1000);
    const sys = exits.filter((x) => x.ec === 0x18);
    expect(sys.length).toBeGreaterThan(0);
    expect(sys.every((x) => x.esr >>> 26 === 0x18 && (x.esr & 0x1ffffff) !== 0 && !x.detail.includes('ISS not traced'))).toBe(true);
    const dabt = exits.filter((x) => x.ec === 0x24);
    expect(dabt.every((x) => x.detail.startsWith('kvm_exit TRAP (DABT_LOW) ipa 0x') && x.far !== 0n)).toBe(true);
    // One event per exit: a guest fault completes its exit instead of adding an exception.
    expect(exits.length).toBe(fixtureCount('nvhe-smp2.head.txt.gz', ' kvm_exit: '));
  });

  it("trapped system registers by KVM's name (SYS_ dropped), PMU registers by their encoding", () => {
    const regs = ofKind(r.events, 'sysreg');
    expect(regs[0]).toMatchObject({ name: 'SCTLR_EL1', write: true, outcome: 'trapped' });
    expect(regs.find((s) => s.name === 'MDSCR_EL1')).toMatchObject({ write: true, value: 0x1000n }); // from trap_reg
    expect(regs.find((s) => s.encoding === ((3 << 14) | (3 << 11) | (9 << 7) | (14 << 3)))?.name).toBe('PMUSERENR_EL0');
    expect(regs.filter((s) => s.name === 'ICC_SGI1R_EL1').length).toBeGreaterThan(0);
    expect(regs.every((s) => /^[A-Z][A-Z0-9_]+$/.test(s.name))).toBe(true);
  });

  it('vCPU sleeps: each WFI with the time KVM measured and what woke it', () => {
    const wfx = ofKind(r.events, 'wfx');
    expect(wfx.length).toBeGreaterThan(10);
    expect(wfx.every((w) => w.vcpu >= 0 && w.slept > 0)).toBe(true);
    expect(wfx.filter((w) => w.wake === 'timer').length).toBeGreaterThan(wfx.length / 2);
  });

  it('interrupt lines: timer PPIs per vCPU, SPIs without a vCPU, one event per level change', () => {
    const lines = ofKind(r.events, 'irq_line');
    const vt = lines.filter((l) => l.intid === 27);
    expect(vt.length).toBeGreaterThan(0);
    expect(vt.every((l) => l.source === 'timer_virt' && l.vcpu >= 0)).toBe(true);
    expect(lines.filter((l) => l.intid >= 32).every((l) => l.vcpu === -1)).toBe(true);
    // KVM prints kvm_timer_update_irq, then vgic_update_irq_pending for the same change.
    const text = fixture('nvhe-smp2.head.txt.gz').toString('latin1');
    expect(vt.length).toBe((text.match(/ kvm_timer_update_irq: VCPU: \d+, IRQ 27,/g) ?? []).length);
  });

  it("the guest's timer as KVM saved and restored it", () => {
    const t = ofKind(r.events, 'timer');
    expect(new Set(t.map((e) => e.op))).toEqual(new Set(['save_ctl', 'save_cval', 'restore_ctl', 'restore_cval']));
  });
});

function fixtureCount(name: string, needle: string): number {
  return fixture(name).toString('latin1').split(needle).length - 1;
}

describe('vhe-smp2.tail: UART input, the echo and SYSTEM_OFF under VHE KVM (6.1)', () => {
  const r = parse('ftrace', fixture('vhe-smp2.tail.txt.gz'));

  it('no bad line; the console is the guest serial output byte for byte', () => {
    expect(r.stats.bad).toBe(0);
    const bytes = Buffer.concat(ofKind(r.events, 'console').map((c) => c.bytes));
    expect(bytes.toString('latin1')).toBe(readFileSync(join(FX, 'vhe-smp2.console.txt'), 'latin1'));
  });

  it('the input arrives as DR reads, the guest ends with PSCI SYSTEM_OFF', () => {
    const dr = ofKind(r.events, 'mmio_read').filter((m) => m.device === 'pl011@9000000' && m.register === 'DR');
    expect(Buffer.from(dr.map((m) => Number(m.value & 0xffn))).toString('latin1')).toBe('hello kvm\n');
    expect(ofKind(r.events, 'hypercall').at(-1)?.name).toBe('PSCI_SYSTEM_OFF');
    expect(r.extra.userspaceExits).toMatchObject({ KVM_EXIT_MMIO: expect.any(Number), KVM_EXIT_SYSTEM_EVENT: 1 });
  });
});

describe('host612.head: the same guest under a 6.12 host', () => {
  const r = parse('ftrace', fixture('host612.head.txt.gz'));

  it('no bad line; 6.12 traps CTR_EL0 reads, which 6.1 does not', () => {
    expect(r.stats.bad).toBe(0);
    const ctr = ofKind(r.events, 'sysreg').filter((s) => s.name === 'CTR_EL0');
    expect(ctr.length).toBeGreaterThan(100);
    expect(ctr.every((s) => !s.write)).toBe(true);
    const head61 = parse('ftrace', fixture('nvhe-smp2.head.txt.gz'));
    expect(ofKind(head61.events, 'sysreg').filter((s) => s.name === 'CTR_EL0')).toEqual([]);
  });
});
