// Exits: which of a trace's events leave the guest for the hypervisor, counted like `perf kvm stat`
// — by cause (the guest's own instruction, an IPI it sends, idling, a host interrupt, a stage-2
// fault on RAM), by reason (the exit's exception class), by vCPU, by device and register (MMIO), by
// system register (trapped MRS/MSR) and by function (hypercalls).
//
// For an emulator trace (or any trace that records guest actions) the exits are predicted, per
// hypervisor, from the trap tables in analyze/exits/rules.ts. For an imported ftrace of real KVM
// they are the traced kvm_exit events, each matched with what the same vCPU did before its next
// exit (the access, the register, the call), with the time each exit kept the vCPU in the host.
// docs/analyzers.md, "exits".

import type { DeviceRegion, TraceEvent } from '../../capture/model.ts';
import { resolveSysregName, sysregNameOf } from '../../arch/sysregs.ts';
import { hostNsOf } from '../../capture/import/ftrace-kvm.ts';
import type { LiteAnalysis, LiteContext } from '../standalone.ts';
import {
  CAUSE_ORDER,
  EXIT_CAUSES,
  INSTRUCTION_EXITS,
  mmioRule,
  sysregRule,
  SYSREG_NO_EXIT,
  type ExitCause,
  type ExitWhen,
  type Hypervisor,
} from './rules.ts';

/** Time the exits of one group kept the vCPU in the host (imported KVM traces only), in ns. */
export interface HostTime {
  /** Exits whose kvm_entry was traced (the time is known). */
  timed: number;
  totalNs: number;
  meanNs: number;
  minNs: number;
  maxNs: number;
}

export interface ReasonRow {
  /** KVM's name for the exception class (DABT_LOW, SYS64, HVC64, WFx…), or IRQ for a host interrupt. */
  reason: string;
  exits: number;
  /** Share of all exits, 0..1. */
  share: number;
  host?: HostTime;
}

export interface CauseRow {
  cause: ExitCause;
  exits: number;
  share: number;
  what: string;
  host?: HostTime;
}

export interface VcpuRow {
  vcpu: number;
  exits: number;
  byCause: Record<ExitCause, number>;
}

export interface DeviceRow {
  device: string;
  register: string;
  reads: number;
  writes: number;
  /** Where the access is handled: 'kernel' (the in-kernel vGIC/ITS, Xen), 'vmm', 'abort'. */
  handler: string;
  host?: HostTime;
}

export interface SysregRow {
  register: string;
  reads: number;
  writes: number;
  cause: ExitCause;
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
  byCause: CauseRow[];
  byReason: ReasonRow[];
  byVcpu: VcpuRow[];
  byDevice: DeviceRow[];
  bySysreg: SysregRow[];
  byFunction: FunctionRow[];
  /** Accesses that exit only under a condition (boot-time TVM, lazy debug, a shared host CPU): not in the total. */
  conditional: SysregRow[];
  /** Interrupts the trace shows raised; each is an IRQ exit when its vCPU is running (predicted only). */
  interrupts: { timer: number; ipi: number; device: number };
  /** Recorded accesses that stay in the guest, with why (the most frequent first). */
  notExiting: { register: string; accesses: number; why: string }[];
  /** Every system register the trace records an access to (sorted): what a prediction can speak for. */
  recordedSysregs: string[];
}

export interface ExitsResult {
  reports: ExitsReport[];
  /** Guest actions (MMIO, system registers, hypercalls, WFx) and kvm_exit events the trace holds. */
  seen: { actions: number; kvmExits: number };
}

class Counter<K> extends Map<K, number> {
  add(k: K, n = 1): void {
    this.set(k, (this.get(k) ?? 0) + n);
  }
}

class Timer {
  timed = 0;
  total = 0;
  min = Infinity;
  max = 0;
  add(ns: number): void {
    this.timed++;
    this.total += ns;
    if (ns < this.min) this.min = ns;
    if (ns > this.max) this.max = ns;
  }
  get(): HostTime | undefined {
    if (!this.timed) return undefined;
    return { timed: this.timed, totalNs: this.total, meanNs: Math.round(this.total / this.timed), minNs: this.min, maxNs: this.max };
  }
}

interface Rw {
  reads: number;
  writes: number;
}
function rw<T extends Rw>(m: Map<string, T>, key: string, write: boolean, init: () => T): T {
  let r = m.get(key);
  if (!r) m.set(key, (r = init()));
  if (write) r.writes++;
  else r.reads++;
  return r;
}

const zeroCauses = (): Record<ExitCause, number> => ({ guest: 0, ipi: 0, idle: 0, interrupt: 0, memory: 0 });

/** Accumulates one hypervisor's exits, whatever produced them. */
class Tally {
  readonly reasons = new Counter<string>();
  readonly causes = new Counter<ExitCause>();
  readonly reasonTime = new Map<string, Timer>();
  readonly causeTime = new Map<ExitCause, Timer>();
  readonly deviceTime = new Map<string, Timer>();
  readonly vcpus = new Map<number, Record<ExitCause, number>>();
  readonly devices = new Map<string, DeviceRow>();
  readonly sysregs = new Map<string, SysregRow>();
  readonly conditional = new Map<string, SysregRow>();
  readonly functions = new Counter<string>();
  readonly notExiting = new Map<string, { register: string; accesses: number; why: string }>();
  readonly interrupts = { timer: 0, ipi: 0, device: 0 };
  readonly recorded = new Set<string>();

  /** One exit of `vcpu`: its reason and cause, and its time in the host when known. */
  exit(vcpu: number, reason: string, cause: ExitCause, hostNs?: number): void {
    this.reason(reason, hostNs);
    this.cause(vcpu, cause, hostNs);
  }

  reason(reason: string, hostNs?: number): void {
    this.reasons.add(reason);
    if (hostNs !== undefined) timer(this.reasonTime, reason).add(hostNs);
  }

  cause(vcpu: number, cause: ExitCause, hostNs?: number): void {
    this.causes.add(cause);
    let v = this.vcpus.get(vcpu);
    if (!v) this.vcpus.set(vcpu, (v = zeroCauses()));
    v[cause]++;
    if (hostNs !== undefined) timer(this.causeTime, cause).add(hostNs);
  }

  mmio(device: string, register: string, write: boolean, handler: string, hostNs?: number): void {
    const key = `${device}\0${register}`;
    rw(this.devices, key, write, () => ({ device: device || '(unassigned)', register, reads: 0, writes: 0, handler }));
    if (hostNs !== undefined) timer(this.deviceTime, key).add(hostNs);
  }

  sysreg(register: string, write: boolean, cause: ExitCause, when: ExitWhen, why: string): void {
    rw(when === 'always' ? this.sysregs : this.conditional, register, write, () => ({ register, reads: 0, writes: 0, cause, when, why }));
  }

  stays(register: string, why: string): void {
    const r = this.notExiting.get(register);
    if (r) r.accesses++;
    else this.notExiting.set(register, { register, accesses: 1, why });
  }

  report(source: ExitsReport['source'], hypervisor: Hypervisor): ExitsReport {
    const total = [...this.reasons.values()].reduce((a, b) => a + b, 0);
    const share = (n: number) => (total ? n / total : 0);
    const byCount = <T>(rows: T[], n: (r: T) => number) => rows.sort((a, b) => n(b) - n(a));
    const withHost = <T extends object>(row: T, t: Timer | undefined): T & { host?: HostTime } => {
      const h = t?.get();
      return h ? { ...row, host: h } : row;
    };
    return {
      source,
      hypervisor,
      total,
      byCause: CAUSE_ORDER.filter((c) => (this.causes.get(c) ?? 0) > 0).map((cause) =>
        withHost(
          { cause, exits: this.causes.get(cause)!, share: share(this.causes.get(cause)!), what: EXIT_CAUSES[cause] },
          this.causeTime.get(cause),
        ),
      ),
      byReason: byCount(
        [...this.reasons].map(([reason, exits]) => withHost({ reason, exits, share: share(exits) }, this.reasonTime.get(reason))),
        (r) => r.exits,
      ),
      byVcpu: [...this.vcpus]
        .sort((a, b) => a[0] - b[0])
        .map(([vcpu, byCause]) => ({ vcpu, exits: Object.values(byCause).reduce((a, b) => a + b, 0), byCause: { ...byCause } })),
      byDevice: byCount(
        [...this.devices].map(([key, r]) => withHost(r, this.deviceTime.get(key))),
        (r) => r.reads + r.writes,
      ),
      bySysreg: byCount([...this.sysregs.values()], (r) => r.reads + r.writes),
      byFunction: byCount(
        [...this.functions].map(([f, calls]) => ({ function: f, calls })),
        (r) => r.calls,
      ),
      conditional: byCount([...this.conditional.values()], (r) => r.reads + r.writes),
      interrupts: { ...this.interrupts },
      notExiting: byCount([...this.notExiting.values()], (r) => r.accesses).slice(0, 12),
      recordedSysregs: [...this.recorded].sort(),
    };
  }
}

function timer<K>(m: Map<K, Timer>, k: K): Timer {
  let t = m.get(k);
  if (!t) m.set(k, (t = new Timer()));
  return t;
}

const TIMER_SOURCE = /^timer/;

/** A system register's architectural name: the recorded one (a generic spelling resolved), else from its encoding. */
function registerName(e: Extract<TraceEvent, { kind: 'sysreg' }>): string {
  const n = e.name ? resolveSysregName(e.name) : '';
  return n && !/^S\d_\d_C\d+_C\d+_\d$/.test(n) ? n : sysregNameOf(e.encoding);
}

const hypercallName = (e: Extract<TraceEvent, { kind: 'hypercall' }>) => e.name || `0x${e.func.toString(16)}`;

type Region = (name: string) => DeviceRegion | undefined;

/** Predicts one hypervisor's exits from guest actions (emulator traces, QEMU logs). */
class Prediction {
  readonly tally = new Tally();
  readonly hv: Hypervisor;
  constructor(hv: Hypervisor) {
    this.hv = hv;
  }

  onEvent(e: TraceEvent, region: Region): void {
    const t = this.tally;
    switch (e.kind) {
      case 'mmio_read':
      case 'mmio_write': {
        const r = e.device ? region(e.device) : undefined;
        const rule = mmioRule(this.hv, r?.role, r?.model);
        if (!rule.exits) return t.stays(e.device, rule.why);
        t.exit(e.vcpu, 'DABT_LOW', 'guest');
        t.mmio(e.device, e.register, e.kind === 'mmio_write', rule.handler);
        return;
      }
      case 'sysreg': {
        const name = registerName(e);
        t.recorded.add(name);
        const rule = sysregRule(this.hv, e.encoding, e.write);
        if (!rule) return t.stays(name, SYSREG_NO_EXIT[name] ?? SYSREG_NO_EXIT.default!);
        if (rule.when === 'always') t.exit(e.vcpu, 'SYS64', rule.cause);
        t.sysreg(name, e.write, rule.cause, rule.when, rule.why);
        return;
      }
      case 'hypercall': {
        const x = INSTRUCTION_EXITS[e.conduit === 'smc' ? 'smc' : 'hvc'];
        t.exit(e.vcpu, x.reason, x.cause);
        t.functions.add(hypercallName(e));
        return;
      }
      case 'wfx':
        if (e.wfe && this.hv !== 'xen') t.sysreg('WFE', false, 'idle', 'host', INSTRUCTION_EXITS.wfe.why);
        else t.exit(e.vcpu, INSTRUCTION_EXITS.wfi.reason, INSTRUCTION_EXITS.wfi.cause);
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

/** A traced exit of real KVM: its reason, its cause so far, and whether the vCPU's action behind it was seen. */
interface OpenExit {
  vcpu: number;
  reason: string;
  cause: ExitCause;
  hostNs: number | undefined;
  done: boolean;
}

const KVM_EXIT = /^kvm_exit (\w+) \((\w+)\)/;

/** The cause of a traced exit before the access behind it is seen. */
function tracedCause(reason: string): ExitCause {
  if (reason === 'IRQ' || reason === 'SERROR') return 'interrupt';
  if (reason === 'WFx') return 'idle';
  // An abort is a stage-2 fault on memory until an MMIO access shows it was a device.
  if (reason === 'DABT_LOW' || reason === 'IABT_LOW') return 'memory';
  return 'guest';
}

/**
 * Real KVM exits from an imported ftrace: each exception event that is a kvm_exit, matched with the
 * same vCPU's access, call or WFx before its next exit. A data abort with no MMIO access behind it
 * was a stage-2 fault on guest memory (first touch of a page), not a device access.
 */
class Traced {
  readonly tally = new Tally();
  private readonly open = new Map<number, OpenExit>();

  onEvent(e: TraceEvent, region: Region): void {
    const t = this.tally;
    if (e.kind === 'exception') {
      const m = KVM_EXIT.exec(e.detail);
      if (!m) return; // a kvm_guest_fault without its kvm_exit (a trace cut before it)
      this.close(e.vcpu);
      const reason = m[1] === 'TRAP' ? m[2]! : m[1]!;
      const x: OpenExit = { vcpu: e.vcpu, reason, cause: tracedCause(reason), hostNs: hostNsOf(e.detail), done: false };
      this.open.set(e.vcpu, x);
      // The cause is counted when the exit is resolved: an abort is memory until an MMIO access shows a device.
      t.reason(reason, x.hostNs);
      return;
    }
    const x = this.open.get(e.vcpu);
    if (!x || x.done) return;
    switch (e.kind) {
      case 'mmio_read':
      case 'mmio_write': {
        if (x.reason !== 'DABT_LOW') return;
        this.resolve(x, 'guest');
        const r = e.device ? region(e.device) : undefined;
        t.mmio(e.device, e.register, e.kind === 'mmio_write', mmioRule('kvm', r?.role, r?.model).handler, x.hostNs);
        return;
      }
      case 'sysreg': {
        if (x.reason !== 'SYS64') return;
        const name = registerName(e);
        this.tally.recorded.add(name);
        // 6.12's table is 6.1's and TID2: a trapped cache ID register was trapped by TID2.
        const rule = sysregRule('kvm-6.12', e.encoding, e.write);
        const cause = rule?.cause ?? 'guest';
        this.resolve(x, cause);
        t.sysreg(name, e.write, cause, 'always', rule ? rule.why : 'trapped (kvm_sys_access)');
        return;
      }
      case 'hypercall':
        if (x.reason !== 'HVC64' && x.reason !== 'SMC64') return;
        this.resolve(x, 'guest');
        t.functions.add(hypercallName(e));
        return;
      default:
        return;
    }
  }

  private resolve(x: OpenExit, cause: ExitCause): void {
    x.done = true;
    this.tally.cause(x.vcpu, cause, x.hostNs);
  }

  /** The vCPU's previous exit is over: a data or instruction abort with no access behind it was memory. */
  private close(vcpu: number): void {
    const x = this.open.get(vcpu);
    if (!x || x.done) return;
    this.resolve(x, x.cause);
    if (x.cause === 'memory') this.tally.mmio('(guest memory)', `stage-2 fault (${x.reason})`, false, 'kernel', x.hostNs);
  }

  finish(): void {
    for (const v of [...this.open.keys()]) this.close(v);
  }
}

const ACTIONS = new Set<TraceEvent['kind']>(['mmio_read', 'mmio_write', 'sysreg', 'hypercall', 'wfx']);

export class ExitsAnalysis implements LiteAnalysis<ExitsResult> {
  readonly name = 'exits';
  private predictions: Prediction[] | undefined;
  private traced: Traced | undefined;
  private actions = 0;
  private kvmExits = 0;

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
    if (ACTIONS.has(e.kind)) this.actions++;
    else if (e.kind === 'exception' && e.detail.startsWith('kvm_exit ')) this.kvmExits++;
    const region = (n: string) => ctx.region(n);
    if (this.traced) this.traced.onEvent(e, region);
    else for (const p of this.predictions!) p.onEvent(e, region);
  }

  finish(ctx: LiteContext): ExitsResult {
    if (!this.predictions && !this.traced) this.start(ctx);
    const seen = { actions: this.actions, kvmExits: this.kvmExits };
    if (this.traced) {
      this.traced.finish();
      return { reports: [this.traced.tally.report('traced', 'kvm')], seen };
    }
    return { reports: this.predictions!.map((p) => p.tally.report('predicted', p.hv)), seen };
  }
}

/** Event kinds the analysis reads (a reader's filter). */
export const EXITS_KINDS = ['mmio_read', 'mmio_write', 'sysreg', 'hypercall', 'wfx', 'irq_line', 'exception'] as const;
