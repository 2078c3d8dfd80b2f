// Exits: which of a trace's events leave the guest for the hypervisor, counted like `perf kvm stat`
// — by reason (the exception class of the exit), by device and register (MMIO), by system register
// (trapped MRS/MSR) and by function (hypercalls).
//
// For an emulator trace (or any trace that records guest actions) the exits are predicted, per
// hypervisor, from the trap rules in analyze/exits/rules.ts. For an imported ftrace of real KVM
// they are the traced kvm_exit events, each matched with what the same vCPU did before its next
// exit (the access, the register, the call). docs/analyzers.md, "exits".

import type { DeviceRegion, TraceEvent } from '../../capture/model.ts';
import { resolveSysregName, sysregNameOf } from '../../arch/sysregs.ts';
import type { LiteAnalysis, LiteContext } from '../standalone.ts';
import { mmioRule, sysregRule, SYSREG_NO_EXIT, type ExitWhen, type Hypervisor } from './rules.ts';

/** Exit reasons as KVM's kvm_exit names them (ESR_ELx.EC, or IRQ for a host interrupt). */
export type ExitReason = 'DABT_LOW' | 'SYS64' | 'HVC64' | 'SMC64' | 'WFx' | 'IABT_LOW' | 'IRQ' | string;

export interface ReasonRow {
  reason: ExitReason;
  exits: number;
  /** Share of all exits, 0..1. */
  share: number;
  /** The guest's own action (an access, a call, a WFI), or caused from outside (an interrupt). */
  cause: 'guest' | 'interrupt' | 'memory';
}

export interface DeviceRow {
  device: string;
  register: string;
  reads: number;
  writes: number;
  /** Where the access is handled: in the kernel/hypervisor, by the VMM, or an abort (nothing there). */
  handler: string;
}

export interface SysregRow {
  register: string;
  reads: number;
  writes: number;
  /** When it exits ('always', or the condition), and which trap control makes it. */
  when: ExitWhen;
  why: string;
}

export interface FunctionRow {
  function: string;
  calls: number;
}

export interface ExitsReport {
  /** 'predicted' from the guest's actions and the hypervisor's trap rules, or 'traced' (real kvm_exit events). */
  source: 'predicted' | 'traced';
  hypervisor: Hypervisor;
  total: number;
  byReason: ReasonRow[];
  byDevice: DeviceRow[];
  bySysreg: SysregRow[];
  byFunction: FunctionRow[];
  /** Accesses that exit only under a condition (boot-time TVM, lazy debug, a shared host CPU). */
  conditional: SysregRow[];
  /** Interrupts the trace shows arriving; each is an IRQ exit when its vCPU is running (predicted only). */
  interrupts: { timer: number; ipi: number; device: number };
  /** Recorded accesses that stay in the guest, with why (the most frequent first). */
  notExiting: { register: string; accesses: number; why: string }[];
}

export interface ExitsResult {
  reports: ExitsReport[];
}

class Counter<K> extends Map<K, number> {
  add(k: K, n = 1): void {
    this.set(k, (this.get(k) ?? 0) + n);
  }
}

interface Rw {
  reads: number;
  writes: number;
}
function rw<T extends Rw>(m: Map<string, T>, key: string, write: boolean, init: () => T): void {
  let r = m.get(key);
  if (!r) m.set(key, (r = init()));
  if (write) r.writes++;
  else r.reads++;
}

/** Accumulates one hypervisor's exits, whatever produced them. */
class Tally {
  readonly reasons = new Counter<string>();
  readonly devices = new Map<string, DeviceRow>();
  readonly sysregs = new Map<string, SysregRow>();
  readonly conditional = new Map<string, SysregRow>();
  readonly functions = new Counter<string>();
  readonly notExiting = new Map<string, { register: string; accesses: number; why: string }>();
  readonly interrupts = { timer: 0, ipi: 0, device: 0 };

  mmio(device: string, register: string, write: boolean, handler: string, counted = false): void {
    if (!counted) this.reasons.add('DABT_LOW');
    const key = `${device}\0${register}`;
    rw(this.devices, key, write, () => ({ device: device || '(unassigned)', register, reads: 0, writes: 0, handler }));
  }

  sysreg(register: string, write: boolean, when: ExitWhen, why: string, counted = false): void {
    const into = when === 'always' ? this.sysregs : this.conditional;
    if (when === 'always' && !counted) this.reasons.add('SYS64');
    rw(into, register, write, () => ({ register, reads: 0, writes: 0, when, why }));
  }

  stays(register: string, why: string): void {
    const r = this.notExiting.get(register);
    if (r) r.accesses++;
    else this.notExiting.set(register, { register, accesses: 1, why });
  }

  report(source: ExitsReport['source'], hypervisor: Hypervisor): ExitsReport {
    const total = [...this.reasons.values()].reduce((a, b) => a + b, 0);
    const cause = (r: string): ReasonRow['cause'] => (r === 'IRQ' || r === 'SERROR' ? 'interrupt' : r === 'IABT_LOW' ? 'memory' : 'guest');
    const byCount = <T>(rows: T[], n: (r: T) => number) => rows.sort((a, b) => n(b) - n(a));
    return {
      source,
      hypervisor,
      total,
      byReason: byCount(
        [...this.reasons].map(([reason, exits]) => ({ reason, exits, share: total ? exits / total : 0, cause: cause(reason) })),
        (r) => r.exits,
      ),
      byDevice: byCount([...this.devices.values()], (r) => r.reads + r.writes),
      bySysreg: byCount([...this.sysregs.values()], (r) => r.reads + r.writes),
      byFunction: byCount(
        [...this.functions].map(([f, calls]) => ({ function: f, calls })),
        (r) => r.calls,
      ),
      conditional: byCount([...this.conditional.values()], (r) => r.reads + r.writes),
      interrupts: { ...this.interrupts },
      notExiting: byCount([...this.notExiting.values()], (r) => r.accesses).slice(0, 12),
    };
  }
}

const TIMER_SOURCE = /^timer/;

/** A system register's architectural name: the recorded one (a generic spelling resolved), else from its encoding. */
function registerName(e: Extract<TraceEvent, { kind: 'sysreg' }>): string {
  const n = e.name ? resolveSysregName(e.name) : '';
  return n && !/^S\d_\d_C\d+_C\d+_\d$/.test(n) ? n : sysregNameOf(e.encoding);
}

/** Predicts one hypervisor's exits from guest actions (emulator traces, QEMU logs). */
class Prediction {
  readonly tally = new Tally();
  readonly hv: Hypervisor;
  constructor(hv: Hypervisor) {
    this.hv = hv;
  }

  onEvent(e: TraceEvent, region: (name: string) => DeviceRegion | undefined): void {
    const t = this.tally;
    switch (e.kind) {
      case 'mmio_read':
      case 'mmio_write': {
        const r = e.device ? region(e.device) : undefined;
        const rule = mmioRule(this.hv, r?.role, r?.model);
        if (rule.exits) t.mmio(e.device, e.register, e.kind === 'mmio_write', rule.handler);
        else t.stays(`${e.device}`, rule.why);
        return;
      }
      case 'sysreg': {
        const name = registerName(e);
        const rule = sysregRule(this.hv, e.encoding, e.write);
        if (rule && rule.when !== 'never') t.sysreg(name, e.write, rule.when, rule.why);
        else t.stays(name, SYSREG_NO_EXIT[name] ?? SYSREG_NO_EXIT.default!);
        return;
      }
      case 'hypercall': {
        const reason = e.conduit === 'smc' ? 'SMC64' : 'HVC64';
        t.reasons.add(reason);
        t.functions.add(e.name || `0x${e.func.toString(16)}`);
        return;
      }
      case 'wfx':
        if (e.wfe && this.hv !== 'xen') t.sysreg('WFE', false, 'host', 'HCR_EL2.TWE: KVM traps WFE only while other tasks share the vCPU thread\'s host CPU');
        else t.reasons.add('WFx');
        return;
      case 'irq_line':
        if (!e.level) return;
        if (TIMER_SOURCE.test(e.source)) t.interrupts.timer++;
        else if (e.intid < 16) t.interrupts.ipi++;
        else t.interrupts.device++;
        return;
      default:
        return;
    }
  }
}

/** A traced exit of real KVM: its reason and whether the vCPU's action behind it was seen. */
interface OpenExit {
  reason: string;
  done: boolean;
}

/**
 * Real KVM exits from an imported ftrace: each exception event that is a kvm_exit, matched with the
 * same vCPU's access, call or WFx before its next exit. A data abort with no MMIO access behind it
 * was a stage-2 fault on guest memory (first touch of a page), not a device access.
 */
class Traced {
  readonly tally = new Tally();
  private readonly open = new Map<number, OpenExit>();

  onEvent(e: TraceEvent): void {
    const t = this.tally;
    if (e.kind === 'exception') {
      const m = /^kvm_exit (\w+) \((\w+)\)/.exec(e.detail);
      if (!m) return; // a kvm_guest_fault without its kvm_exit (a trace cut before it)
      this.close(e.vcpu);
      const reason = m[1] === 'TRAP' ? m[2]! : m[1]!;
      this.open.set(e.vcpu, { reason, done: false });
      t.reasons.add(reason);
      return;
    }
    const x = this.open.get(e.vcpu);
    if (!x || x.done) return;
    switch (e.kind) {
      case 'mmio_read':
      case 'mmio_write':
        if (x.reason !== 'DABT_LOW') return;
        x.done = true;
        t.mmio(e.device, e.register, e.kind === 'mmio_write', 'traced', true);
        return;
      case 'sysreg':
        if (x.reason !== 'SYS64') return;
        x.done = true;
        t.sysreg(registerName(e), e.write, 'always', 'traced (kvm_sys_access)', true);
        return;
      case 'hypercall':
        if (x.reason !== 'HVC64' && x.reason !== 'SMC64') return;
        x.done = true;
        t.functions.add(e.name || `0x${e.func.toString(16)}`);
        return;
      default:
        return;
    }
  }

  /** The vCPU's previous exit is over: a data or instruction abort with no access behind it was memory. */
  private close(vcpu: number): void {
    const x = this.open.get(vcpu);
    if (!x || x.done) return;
    if (x.reason === 'DABT_LOW' || x.reason === 'IABT_LOW') {
      const key = `(guest memory)\0${x.reason}`;
      const r = this.tally.devices.get(key);
      if (r) r.reads++;
      else this.tally.devices.set(key, { device: '(guest memory)', register: `stage-2 fault (${x.reason})`, reads: 1, writes: 0, handler: 'kernel' });
    }
  }

  finish(): void {
    for (const v of [...this.open.keys()]) this.close(v);
  }
}

export class ExitsAnalysis implements LiteAnalysis<ExitsResult> {
  readonly name = 'exits';
  private predictions: Prediction[] | undefined;
  private traced: Traced | undefined;

  private readonly hypervisors: readonly Hypervisor[];
  constructor(hypervisors: readonly Hypervisor[] = ['kvm', 'xen']) {
    this.hypervisors = hypervisors;
  }

  private start(ctx: LiteContext): void {
    const s = ctx.meta.source;
    if (s.type === 'import' && s.name === 'ftrace') this.traced = new Traced();
    else this.predictions = this.hypervisors.map((h) => new Prediction(h));
  }

  onEvent(e: TraceEvent, ctx: LiteContext): void {
    if (!this.predictions && !this.traced) this.start(ctx);
    if (this.traced) {
      this.traced.onEvent(e);
      return;
    }
    for (const p of this.predictions!) p.onEvent(e, (n) => ctx.region(n));
  }

  finish(ctx: LiteContext): ExitsResult {
    if (!this.predictions && !this.traced) this.start(ctx);
    if (this.traced) {
      this.traced.finish();
      return { reports: [this.traced.tally.report('traced', 'kvm')] };
    }
    return { reports: this.predictions!.map((p) => p.tally.report('predicted', p.hv)) };
  }
}
