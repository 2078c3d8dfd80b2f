// Xen on Arm hypercall ABI rules (xen/include/public/arch-arm.h: HVC #0xEA1, number in x16).

import type { EventOf, TraceEvent } from '../../capture/model.ts';
import { XEN_ENOSYS, XEN_HYPERCALL_IMM, XEN_HYPERCALLS } from '../../arch/hypercalls/xen.ts';
import type { Analysis, ReplayContext } from '../analysis.ts';
import { isXenCall } from './psci-smccc.ts';
import type { FindingSink, RuleDef, RuleFamily } from './rule.ts';

export const XEN_RULES = {
  wrongImm: {
    id: 'xen.hvc-imm',
    severity: 'error',
    clause: 'Xen public/arch-arm.h "Hypercall ABI" (HVC #0xEA1; other immediates are not Xen hypercalls)',
    title: 'Xen hypercall with the wrong HVC immediate',
    trigger:
      'on a Xen guest, a hypercall decoded as a Xen hypercall that used an immediate other than 0xEA1, or an HVC #0xEA1 issued through SMC',
  },
  notOnArm: {
    id: 'xen.not-on-arm',
    severity: 'error',
    clause: 'Xen xen/include/hypercall-defs.c, Arm column (hypercalls available to Arm guests)',
    title: 'hypercall not available to Arm guests',
    trigger: 'a Xen hypercall number outside the Arm table (x86 PV calls such as set_trap_table, mmu_update, set_timer_op…)',
  },
  malformedArgs: {
    id: 'xen.malformed-args',
    severity: 'warning',
    clause: 'Xen public headers (memory.h, event_channel.h, sched.h, hvm/hvm_op.h: sub-operation numbers)',
    title: 'malformed hypercall arguments',
    trigger:
      'a multiplexed hypercall (memory_op, event_channel_op, sched_op, hvm_op, grant_table_op…) with a sub-operation number the ABI does not define',
  },
} as const satisfies Record<string, RuleDef>;

/** Hypercalls Xen's Arm hypercall table provides. */
// xen/include/hypercall-defs.c, the Arm column (16 and 19 are there as deprecated compat calls).
const ARM_HYPERCALLS = new Set([7, 12, 13, 16, 17, 18, 19, 20, 21, 24, 27, 29, 32, 33, 34, 35, 36, 39, 41, 42]);

/** Highest sub-operation number each multiplexed hypercall defines (public headers, Xen 4.17). */
const MAX_SUBOP: Readonly<Record<string, number>> = {
  memory_op: 29,
  event_channel_op: 12,
  sched_op: 11,
  hvm_op: 30,
  grant_table_op: 14,
  vcpu_op: 14,
  console_io: 1,
  xen_version: 14,
  vm_assist: 1,
};

class XenRules implements Analysis<void> {
  readonly name = 'rules.xen-abi';
  readonly kinds = ['hypercall'] as const;
  private readonly sink: FindingSink;

  constructor(sink: FindingSink) {
    this.sink = sink;
  }

  onEvent(ev: TraceEvent, ctx: ReplayContext): void {
    const e = ev as EventOf<'hypercall'>;
    if (!isXenCall(e, ctx)) return;
    const R = XEN_RULES;
    const label = e.name || `hypercall ${e.func}`;
    if (e.imm !== XEN_HYPERCALL_IMM || e.conduit !== 'hvc') {
      this.sink.report(
        R.wrongImm,
        label,
        `${label} issued as ${e.conduit.toUpperCase()} #0x${e.imm.toString(16)}; Xen hypercalls are HVC #0xEA1 with the number in x16.`,
        [e],
      );
    }
    // -ENOSYS from a sub-operation (e.g. FIFO event channels' init_control) is a feature probe, not an ABI error.
    if (!ARM_HYPERCALLS.has(e.func)) {
      const r0 = e.results.length ? Number(BigInt.asIntN(64, e.results[0]!)) : undefined;
      const known = XEN_HYPERCALLS[e.func] !== undefined;
      this.sink.report(
        R.notOnArm,
        label,
        `${label} (number ${e.func}) ${known ? 'is not in the Arm hypercall table' : 'is not a Xen hypercall'}${r0 === XEN_ENOSYS ? ' and returned -ENOSYS' : ''}; Arm guests must use the Arm subset (e.g. timers via the generic timer, not set_timer_op).`,
        [e],
      );
    }
    const max = MAX_SUBOP[e.name];
    if (max !== undefined && e.args.length) {
      // memory_op keeps a continuation extent above bit 6 of the command.
      const cmd = e.name === 'memory_op' ? e.args[0]! & 0x3fn : e.args[0]!;
      if (cmd > BigInt(max))
        this.sink.report(
          R.malformedArgs,
          `${label}:${cmd}`,
          `${label} called with sub-operation ${cmd}, which the Xen ABI does not define for ${label} (0..${max}); check the command number (first argument).`,
          [e],
        );
    }
  }

  finish(): void {}
}

export const xenFamily: RuleFamily = {
  family: 'xen-abi',
  rules: Object.values(XEN_RULES),
  create: (sink) => new XenRules(sink),
};
