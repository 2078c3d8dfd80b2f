// PSCI (DEN0022) and SMCCC (DEN0028) rules, from hypercall and vcpu_state events.

import type { EventOf, TraceEvent } from '../../capture/model.ts';
import { PSCI_RETURN } from '../../arch/hypercalls/psci.ts';
import { XEN_HYPERCALL_IMM } from '../../arch/hypercalls/xen.ts';
import type { Analysis, ReplayContext } from '../analysis.ts';
import { PSCI_NOT_SUPPORTED } from '../state/psci.ts';
import type { FindingSink, RuleDef, RuleFamily } from './rule.ts';

const hex = (n: number | bigint) => '0x' + n.toString(16);

export const PSCI_RULES = {
  nonzeroImm: {
    id: 'smccc.nonzero-imm',
    severity: 'error',
    clause: 'SMCCC DEN0028 §2.1 (HVC/SMC #0: the immediate must be zero for SMCCC calls)',
    title: 'SMCCC call with a non-zero immediate',
    trigger: 'an HVC/SMC carrying an SMCCC function id (not a Xen hypercall) with an immediate other than 0',
  },
  reservedBits: {
    id: 'smccc.reserved-bits',
    severity: 'error',
    clause: 'SMCCC DEN0028 §2.5 Table 2-1 (function id bits 23:17 are reserved, must be zero for fast calls)',
    title: 'function id with reserved bits set',
    trigger: 'a fast SMCCC call whose function id has any of bits 23:17 set',
  },
  afterNotSupported: {
    id: 'psci.after-not-supported',
    severity: 'warning',
    clause: 'PSCI DEN0022 §5.1.14 PSCI_FEATURES (NOT_SUPPORTED means the function must not be called)',
    title: 'function used after PSCI_FEATURES said it is not supported',
    trigger: 'a call to a function id for which an earlier PSCI_FEATURES returned NOT_SUPPORTED',
  },
  cpuOnUnknown: {
    id: 'psci.cpu-on-unknown',
    severity: 'error',
    clause: 'PSCI DEN0022 §5.1.4 CPU_ON (target_cpu must be a valid MPIDR of an off CPU)',
    title: 'CPU_ON to an unknown MPIDR or an already-on CPU',
    trigger:
      'CPU_ON whose target MPIDR names no vCPU of the machine, or a vCPU that is already on (or returned INVALID_PARAMETERS/ALREADY_ON)',
  },
  badReturn: {
    id: 'psci.bad-return',
    severity: 'error',
    clause: 'PSCI DEN0022 §5.2.2 (return codes) / SMCCC DEN0028 §5.2',
    title: 'out-of-spec return value',
    trigger: 'a PSCI status-returning function that returned a value not in the PSCI return code table',
  },
} as const satisfies Record<string, RuleDef>;

/** PSCI functions whose x0 result is a status code (others return values or never return). */
const STATUS_FUNCTIONS = new Set([
  'PSCI_CPU_SUSPEND',
  'PSCI_CPU_OFF',
  'PSCI_CPU_ON',
  'PSCI_MIGRATE',
  'PSCI_SYSTEM_SUSPEND',
  'PSCI_CPU_FREEZE',
  'PSCI_CPU_DEFAULT_SUSPEND',
  'PSCI_SET_SUSPEND_MODE',
  'PSCI_SYSTEM_RESET2',
  'PSCI_MEM_PROTECT_CHECK_RANGE',
]);

export function isXenCall(e: EventOf<'hypercall'>, ctx: ReplayContext): boolean {
  return (
    e.imm === XEN_HYPERCALL_IMM ||
    (ctx.meta.source.name === 'xen' && e.name !== '' && !/^(PSCI|SMCCC|ARM|KVM|VENDOR|TRNG|STD|SIP|OEM)/.test(e.name) && e.imm !== 0)
  );
}

/** vCPU index an MPIDR names on our machines (Aff0 + 16*Aff1, as QEMU virt numbers CPUs). */
function mpidrToVcpu(mpidr: bigint): number {
  const aff0 = Number(mpidr & 0xffn);
  const aff1 = Number((mpidr >> 8n) & 0xffn);
  const rest = (mpidr >> 16n) & 0xff00ffn;
  return rest !== 0n ? -1 : aff1 * 16 + aff0;
}

export function vcpuCount(ctx: ReplayContext): number {
  const smp = ctx.meta.source.config['smp'];
  return typeof smp === 'number' ? smp : 0;
}

class PsciRules implements Analysis<void> {
  readonly name = 'rules.psci-smccc';
  readonly kinds = ['hypercall'] as const;
  private readonly sink: FindingSink;

  constructor(sink: FindingSink) {
    this.sink = sink;
  }

  onEvent(ev: TraceEvent, ctx: ReplayContext): void {
    const e = ev as EventOf<'hypercall'>;
    if (isXenCall(e, ctx)) return;
    const R = PSCI_RULES;
    const fid = e.func >>> 0;
    const fast = fid >= 0x80000000;
    const label = e.name || hex(fid);
    if (e.imm !== 0)
      this.sink.report(
        R.nonzeroImm,
        `${e.conduit}#${e.imm}`,
        `${e.conduit.toUpperCase()} #${hex(e.imm)} with SMCCC function ${label}; SMCCC calls use immediate 0 (hypervisors may treat other immediates as a different ABI or ignore the call).`,
        [e],
      );
    if (fast && (fid & 0x00fe0000) !== 0)
      this.sink.report(
        R.reservedBits,
        label,
        `function id ${hex(fid)} has reserved bits 23:17 set (${hex(fid & 0x00fe0000)}); clear them.`,
        [e],
      );
    const answer = ctx.state.psci.features.get(fid);
    if (answer === PSCI_NOT_SUPPORTED && e.name !== 'PSCI_FEATURES') {
      this.sink.report(
        R.afterNotSupported,
        label,
        `${label} was called although PSCI_FEATURES(${hex(fid)}) returned NOT_SUPPORTED; check PSCI_FEATURES before using optional functions.`,
        [e],
      );
    }
    const r0 = e.results.length ? Number(BigInt.asIntN(32, e.results[0]!)) : undefined;
    if (e.name === 'PSCI_CPU_ON' && e.args.length) this.cpuOn(e, ctx, r0);
    if (STATUS_FUNCTIONS.has(e.name) && r0 !== undefined && PSCI_RETURN[r0] === undefined) {
      this.sink.report(R.badReturn, label, `${label} returned ${r0}, which is not a PSCI return code (0, -1..-9).`, [e]);
    }
  }

  private cpuOn(e: EventOf<'hypercall'>, ctx: ReplayContext, r0: number | undefined): void {
    const mpidr = e.args[0]!;
    const v = mpidrToVcpu(mpidr);
    const n = vcpuCount(ctx);
    const unknown = v < 0 || (n > 0 && v >= n) || r0 === -2;
    if (unknown) {
      this.sink.report(
        PSCI_RULES.cpuOnUnknown,
        hex(mpidr),
        `CPU_ON(target MPIDR ${hex(mpidr)}) names no vCPU of this ${n || '?'}-vCPU machine${r0 !== undefined ? ` (returned ${PSCI_RETURN[r0] ?? r0})` : ''}; take MPIDRs from the DT /cpus reg values.`,
        [e],
      );
    } else if (ctx.state.psci.isOn(v) || r0 === -4) {
      this.sink.report(
        PSCI_RULES.cpuOnUnknown,
        hex(mpidr),
        `CPU_ON(target MPIDR ${hex(mpidr)}) for vCPU ${v}, which is already on${r0 !== undefined ? ` (returned ${PSCI_RETURN[r0] ?? r0})` : ''}; use AFFINITY_INFO to check before starting a CPU.`,
        [e],
      );
    }
  }

  finish(): void {}
}

export const psciFamily: RuleFamily = {
  family: 'psci-smccc',
  rules: Object.values(PSCI_RULES),
  create: (sink) => new PsciRules(sink),
};
