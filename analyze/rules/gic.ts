// GIC rules: GICv2 architecture spec (IHI 0048B) and GICv3/v4 (IHI 0069).

import { GICC } from '../../arch/regmaps/gicv2.ts';
import { GICD, GICR_SGI, GICV3_REDIST_STRIDE, GICV3_SGI_FRAME } from '../../arch/regmaps/gicv3.ts';
import type { EventOf, TraceEvent } from '../../capture/model.ts';
import type { Analysis, ReplayContext } from '../analysis.ts';
import { iccName } from '../state/gic.ts';
import type { FindingSink, RuleDef, RuleFamily } from './rule.ts';

export const GIC_RULES = {
  eoiNotActive: {
    id: 'gic.eoi-not-active',
    severity: 'error',
    clause:
      'GICv2 IHI 0048B §4.4.5 GICC_EOIR / GICv3 IHI 0069 §12.2.9 ICC_EOIR1_EL1 (EOI of an interrupt that is not active is UNPREDICTABLE)',
    title: 'EOI of an INTID that is not active',
    trigger: 'an EOI (irq_eoi) for an INTID that was not acknowledged and is not active on that vCPU',
  },
  eoiOutOfOrder: {
    id: 'gic.eoi-out-of-order',
    severity: 'error',
    clause: 'GICv2 IHI 0048B §3.2.2 / GICv3 IHI 0069 §4.1.1 (priority drop must be in reverse order of acknowledgement)',
    title: 'EOI out of priority order',
    trigger: 'an EOI for an active INTID that is not the most recently acknowledged one on that vCPU',
  },
  dirWithoutEoiMode: {
    id: 'gic.dir-without-eoimode',
    severity: 'warning',
    clause: 'GICv2 IHI 0048B §4.4.15 GICC_DIR / GICv3 IHI 0069 §12.2.6 ICC_DIR_EL1 (only meaningful with EOImode = 1)',
    title: 'DIR written while EOImode is 0',
    trigger: 'a GICC_DIR or ICC_DIR_EL1 write while the CPU interface has EOImode = 0',
  },
  eoiSpecial: {
    id: 'gic.eoi-special',
    severity: 'error',
    clause: 'GICv3 IHI 0069 §2.2.1 (INTIDs 1020-1023 are special and must not be EOId)',
    title: 'EOI of a special INTID (1020-1023)',
    trigger: 'an EOI for INTID 1020..1023 (typically the spurious 1023 returned by IAR)',
  },
  spiNoTarget: {
    id: 'gic.spi-no-target',
    severity: 'error',
    clause: 'GICv2 IHI 0048B §4.3.12 GICD_ITARGETSR / GICv3 IHI 0069 §12.9.22 GICD_IROUTER',
    title: 'SPI enabled with no target (v2) or route (v3)',
    trigger: 'an SPI set enabled whose ITARGETSR byte is 0 (v2) or whose IROUTER was never written (v3), still so at the end',
  },
  pmrZero: {
    id: 'gic.pmr-zero',
    severity: 'warning',
    clause: 'GICv2 IHI 0048B §4.4.2 GICC_PMR / GICv3 IHI 0069 §12.2.17 ICC_PMR_EL1 (a mask of 0 blocks every interrupt)',
    title: 'priority mask left at 0',
    trigger: 'a vCPU acknowledges no interrupt while INTIDs were enabled and its priority mask stayed 0',
  },
  redistBeforeWaker: {
    id: 'gic.redist-before-waker',
    severity: 'error',
    clause: 'GICv3 IHI 0069 §12.11.42 GICR_WAKER (clear ProcessorSleep, wait for ChildrenAsleep = 0 before using the redistributor)',
    title: 'GICv3 redistributor used before the WAKER handshake',
    trigger:
      "a write to a redistributor SGI-frame register while that redistributor's WAKER.ProcessorSleep is 1: from reset on a GIC whose redistributors start asleep (hardware, QEMU TCG), never on KVM's or Xen's vGICv3 (WAKER reads 0, writes ignored) unless the trace reads it as 1",
  },
  iccBeforeSre: {
    id: 'gic.icc-before-sre',
    severity: 'error',
    clause: 'GICv3 IHI 0069 §12.2.22 ICC_SRE_EL1 (system register interface must be enabled)',
    title: 'ICC system registers used before SRE',
    trigger: 'an ICC_* access other than ICC_SRE_EL1 while ICC_SRE_EL1.SRE reads or was written 0',
  },
  neverAcked: {
    id: 'gic.never-acked',
    severity: 'warning',
    clause: 'GICv2 IHI 0048B §3.2 / GICv3 IHI 0069 §4.1 (interrupt handling life cycle)',
    title: 'interrupt asserted and never acknowledged',
    trigger: 'an INTID whose line was asserted and still pending, never acknowledged by the end of the trace',
  },
  badTrigger: {
    id: 'gic.bad-trigger',
    severity: 'warning',
    clause: 'GICv2 IHI 0048B §4.3.13 GICD_ICFGR / GICv3 IHI 0069 §12.9.9 (SGIs are edge-only; configuration must match the device)',
    title: 'unsupported trigger configuration',
    trigger: 'an ICFGR write that makes an SGI level-triggered, or a line driven with a trigger other than the one configured',
  },
} as const satisfies Record<string, RuleDef>;

const NEVER_ACKED_AFTER = 10_000;

class GicRules implements Analysis<void> {
  readonly name = 'rules.gic';
  readonly kinds = ['irq_eoi', 'irq_ack', 'irq_line', 'sysreg', 'mmio_write'] as const;
  private readonly sink: FindingSink;
  /** Enable events of SPIs, for finish-time evidence (bounded by INTIDs). */
  private readonly enableEvents = new Map<number, TraceEvent>();
  /** First unacknowledged assertion per INTID (bounded by INTIDs). */
  private readonly assertEvents = new Map<number, TraceEvent>();
  private readonly ackedBy = new Set<number>();
  private readonly lastPmrEvent = new Map<number, TraceEvent>();
  /** Position (events seen) of the last acknowledge, and of each pending assertion. */
  private lastAckSeen = -1;
  private readonly assertAt = new Map<number, number>();

  constructor(sink: FindingSink) {
    this.sink = sink;
  }

  onEvent(e: TraceEvent, ctx: ReplayContext): void {
    const R = GIC_RULES;
    const gic = ctx.state.gic;
    switch (e.kind) {
      case 'irq_eoi': {
        if (e.intid >= 1020 && e.intid <= 1023) {
          this.sink.report(
            R.eoiSpecial,
            `cpu${e.vcpu}`,
            `vCPU ${e.vcpu} wrote INTID ${e.intid} to EOIR; special INTIDs (1023 = spurious) must not be EOId: skip the EOI when IAR returns 1020-1023.`,
            [e],
          );
          return;
        }
        const st = gic.cpu(e.vcpu).stack;
        const top = st[st.length - 1];
        if (!st.some((x) => x.intid === e.intid) && !gic.isActive(e.intid, e.vcpu)) {
          this.sink.report(
            R.eoiNotActive,
            `${e.intid}`,
            `vCPU ${e.vcpu} EOId INTID ${e.intid}, which is not active; EOI only the INTID IAR returned, once.`,
            [e],
          );
        } else if (top && top.intid !== e.intid && st.some((x) => x.intid === e.intid)) {
          this.sink.report(
            R.eoiOutOfOrder,
            `${e.intid}`,
            `vCPU ${e.vcpu} EOId INTID ${e.intid} while INTID ${top.intid} (acknowledged later) is still active; EOIs must come in reverse order of acknowledgement.`,
            [e],
          );
        }
        return;
      }
      case 'irq_ack':
        this.ackedBy.add(e.vcpu);
        this.assertEvents.delete(e.intid);
        this.lastAckSeen = ctx.eventsSeen;
        return;
      case 'irq_line':
        if (e.level && !this.assertEvents.has(e.intid)) {
          this.assertEvents.set(e.intid, e);
          this.assertAt.set(e.intid, ctx.eventsSeen);
        } else if (!e.level && e.trigger === 'level') this.assertEvents.delete(e.intid);
        if (e.intid >= 32) {
          const s = gic.slot(e.intid, e.vcpu);
          const configuredEdge = gic.edge[s] === 1;
          if (this.icfgrWritten.has(e.intid) && configuredEdge !== (e.trigger === 'edge')) {
            this.sink.report(
              R.badTrigger,
              `${e.intid}`,
              `INTID ${e.intid} is configured ${configuredEdge ? 'edge' : 'level'}-triggered but ${e.source || 'its device'} drives it ${e.trigger}-triggered; fix the DT interrupt flags or the ICFGR setting.`,
              [e],
            );
          }
        }
        return;
      case 'sysreg':
        this.sysreg(e, ctx);
        return;
      case 'mmio_write':
        this.mmioWrite(e, ctx);
        return;
    }
  }

  private readonly icfgrWritten = new Set<number>();

  private sysreg(e: EventOf<'sysreg'>, ctx: ReplayContext): void {
    const name = iccName(e);
    if (!name) return;
    const c = ctx.state.gic.cpu(e.vcpu);
    if (name !== 'ICC_SRE_EL1' && c.sre === 0) {
      this.sink.report(
        GIC_RULES.iccBeforeSre,
        `cpu${e.vcpu}`,
        `vCPU ${e.vcpu} accessed ${name} while ICC_SRE_EL1.SRE=0; set SRE first (or use the GICC memory-mapped interface).`,
        [e],
      );
    }
    if (name === 'ICC_PMR_EL1' && e.write) this.lastPmrEvent.set(e.vcpu, e);
    if (name === 'ICC_DIR_EL1' && e.write && c.eoiMode === 0) {
      this.sink.report(
        GIC_RULES.dirWithoutEoiMode,
        `cpu${e.vcpu}`,
        `vCPU ${e.vcpu} wrote ICC_DIR_EL1 with ICC_CTLR_EL1.EOImode=0; set EOImode=1 to split priority drop and deactivation, or do not use DIR.`,
        [e],
      );
    }
  }

  private mmioWrite(e: EventOf<'mmio_write'>, ctx: ReplayContext): void {
    const r = e.device ? ctx.region(e.device) : undefined;
    if (!r) return;
    const gic = ctx.state.gic;
    if (r.role === 'gic_cpu') {
      const off = e.addr - r.base;
      if (off === GICC.PMR) this.lastPmrEvent.set(e.vcpu, e);
      if (off === GICC.DIR && gic.cpu(e.vcpu).eoiMode === 0) {
        this.sink.report(
          GIC_RULES.dirWithoutEoiMode,
          `cpu${e.vcpu}`,
          `vCPU ${e.vcpu} wrote GICC_DIR with GICC_CTLR.EOImodeNS=0; set EOImodeNS to split priority drop and deactivation, or do not use DIR.`,
          [e],
        );
      }
      return;
    }
    if (r.role === 'gic_redist') {
      const rel = e.addr - (gic.redists[0]?.base ?? r.base);
      const frame = Math.floor(rel / GICV3_REDIST_STRIDE);
      if (rel % GICV3_REDIST_STRIDE >= GICV3_SGI_FRAME && gic.cpu(frame).asleep) {
        const why =
          gic.cpu(frame).wakerSeq < 0 && !gic.redistReset.awake
            ? `${gic.redistReset.machine} resets ProcessorSleep to 1 and nothing cleared it`
            : 'ProcessorSleep was 1';
        this.sink.report(
          GIC_RULES.redistBeforeWaker,
          `redist${frame}`,
          `${e.register || 'SGI-frame register'} of redistributor ${frame} written while the redistributor was asleep (${why}); wake it first: clear GICR_WAKER.ProcessorSleep, poll ChildrenAsleep until 0.`,
          [e],
        );
      }
      const off = (rel % GICV3_REDIST_STRIDE) - GICV3_SGI_FRAME;
      if (off >= GICR_SGI.ICFGR0 && off < GICR_SGI.ICFGR1 + 4) this.icfgr(e, off - GICR_SGI.ICFGR0, true);
      return;
    }
    if (r.role !== 'gic_dist') return;
    const off = e.addr - r.base;
    // GICv2 and GICv3 distributors agree on these offsets (IHI 0048B §4.1.2, IHI 0069H §12.9).
    if (off >= GICD.ISENABLER && off < GICD.ICENABLER) {
      for (let b = 0; b < e.size * 8; b++) {
        const intid = (off - GICD.ISENABLER) * 8 + b;
        if (intid >= 32 && (e.value >> BigInt(b)) & 1n) this.enableEvents.set(intid, e);
      }
    } else if (off >= GICD.ICFGR && off < GICD.IGRPMODR) this.icfgr(e, off - GICD.ICFGR, false);
  }

  private icfgr(e: EventOf<'mmio_write'>, rel: number, redist: boolean): void {
    const first = rel * 4;
    for (let k = 0; k < e.size * 4; k++) {
      const intid = first + k;
      if (redist && intid >= 32) break;
      this.icfgrWritten.add(intid);
      if (intid < 16 && ((e.value >> BigInt(2 * k + 1)) & 1n) === 0n && first < 16) {
        // SGI bits are read-only (edge); writing 0 there asks for level, which SGIs cannot be.
        if (k === 0)
          this.sink.report(
            GIC_RULES.badTrigger,
            'sgi',
            `ICFGR0 write asks for level-triggered SGIs (bits read as edge and ignore writes); SGIs are always edge-triggered.`,
            [e],
          );
      }
    }
  }

  finish(ctx: ReplayContext): void {
    const gic = ctx.state.gic;
    const R = GIC_RULES;
    for (const [intid, ev] of this.enableEvents) {
      if (!gic.enabled[intid]) continue;
      if (gic.version === 2 && gic.target[intid] === 0) {
        this.sink.report(
          R.spiNoTarget,
          `${intid}`,
          `SPI ${intid} is enabled but its GICD_ITARGETSR byte is 0, so it is delivered to no CPU; write a CPU target mask.`,
          [ev],
        );
      } else if (gic.version === 3 && !gic.routed[intid]) {
        this.sink.report(
          R.spiNoTarget,
          `${intid}`,
          `SPI ${intid} is enabled but GICD_IROUTER${intid} was never written (its reset value is UNKNOWN); route it to a CPU.`,
          [ev],
        );
      }
    }
    for (const [intid, ev] of this.assertEvents) {
      const s = gic.slot(intid, ev.vcpu);
      if (s < 0 || !gic.pending[s]) continue;
      // A trace that simply ends right after an assertion (imports are prefixes) proves nothing:
      // report only if the INTID was never enabled, other interrupts were taken after it, or
      // the guest ran on for a long while.
      const at = this.assertAt.get(intid) ?? 0;
      if (gic.enabled[s] && this.lastAckSeen < at && ctx.eventsSeen - at < NEVER_ACKED_AFTER) continue;
      const why = !gic.enabled[s]
        ? 'it was never enabled in the GIC'
        : 'it was enabled but never acknowledged (masked by priority, or the CPU never unmasked IRQs)';
      this.sink.report(
        R.neverAcked,
        `${intid}`,
        `INTID ${intid} (${(ev as EventOf<'irq_line'>).source || 'unknown source'}) was asserted and is still pending at the end: ${why}.`,
        [ev],
      );
    }
    const anyEnabled = this.enableEvents.size > 0;
    for (let v = 0; v < gic.cpus.length; v++) {
      if (anyEnabled && gic.cpus[v]!.pmr === 0 && !this.ackedBy.has(v) && ctx.state.psci.isOn(v)) {
        const ev = this.lastPmrEvent.get(v);
        this.sink.report(
          R.pmrZero,
          `cpu${v}`,
          `vCPU ${v}'s priority mask is 0 at the end with interrupts enabled and none acknowledged: every interrupt is masked. Write 0xf0 (or 0xff) to ${gic.version === 3 ? 'ICC_PMR_EL1' : 'GICC_PMR'}.`,
          ev ? [ev] : [],
        );
      }
    }
  }
}

export const gicFamily: RuleFamily = {
  family: 'gic',
  rules: Object.values(GIC_RULES),
  create: (sink) => new GicRules(sink),
};
