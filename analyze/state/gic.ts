// GIC state (GICv2 IHI 0048B, GICv3 IHI 0069): per-INTID enable/pending/active/priority/target/
// route/config, per-vCPU priority mask, running priority and active stack, v3 WAKER and SRE.
// Fed by distributor/redistributor/CPU-interface MMIO, ICC_* system registers and the irq_* events.
// Memory is bounded by the number of INTIDs and vCPUs, not by trace length.

import { GICC, GICC_CTLR_EOIMODE_NS } from '../../arch/regmaps/gicv2.ts';
import { GICD, GICR, GICR_WAKER, GICV3_REDIST_STRIDE, GICV3_SGI_FRAME } from '../../arch/regmaps/gicv3.ts';
import { iccRegisterName } from '../../arch/sysregs.ts';
import type { DeviceRegion, EventOf, MmioEvent, TraceSource } from '../../capture/model.ts';

const SPI_LIMIT = 1020;
const REDIST_FRAME = GICV3_REDIST_STRIDE;
const SGI_FRAME = GICV3_SGI_FRAME;
const { ProcessorSleep: WAKER_PS, ChildrenAsleep: WAKER_CA } = GICR_WAKER;
/** End of GICD_IROUTER<n>: one 64-bit word for each INTID 0-1023 (Arm IHI 0069H §12.9). */
const IROUTER_END = GICD.IROUTER + 8 * 1024;

/** The ICC register a sysreg event touches, or '' when it is not one (traces may name them S3_0_C12_C12_5 etc.). */
export function iccName(e: EventOf<'sysreg'>): string {
  if (e.name.startsWith('ICC_')) return e.name;
  return iccRegisterName(e.encoding);
}

/**
 * How a machine's GICv3 redistributors come out of reset. The architecture resets
 * GICR_WAKER.ProcessorSleep and ChildrenAsleep to 1 (Arm IHI 0069 §12.11.42): the redistributor
 * holds its interrupts until software wakes it. A hypervisor's vGICv3 may have no power management
 * at all: KVM's (Linux arch/arm64/kvm/vgic/vgic-mmio-v3.c) and Xen's (xen/arch/arm/vgic-v3.c) make
 * GICR_WAKER read as zero and ignore writes, so the redistributor is awake from the start and a
 * guest that never touches WAKER is right. QEMU 7.2 TCG's GICv3 resets it asleep. docs/rules.md.
 */
export interface RedistReset {
  /** ProcessorSleep reads 0 from reset and writes are ignored (WAKER RAZ/WI). */
  awake: boolean;
  /** Whose redistributor, for messages. */
  machine: string;
}

/** The redistributors' reset state of the machine a trace comes from (its source). */
export function redistResetOf(source: Pick<TraceSource, 'type' | 'name'> | undefined): RedistReset {
  if (source?.type === 'emulator' && source.name === 'kvm') return { awake: true, machine: "KVM's vGICv3 (the kvm machine)" };
  if (source?.type === 'emulator' && source.name === 'xen') return { awake: true, machine: "Xen's vGICv3 (the xen machine)" };
  // A KVM host's ftrace: the guest's redistributor accesses are served by KVM's vGICv3.
  if (source?.type === 'import' && source.name === 'ftrace') return { awake: true, machine: "KVM's vGICv3 (a KVM host's trace)" };
  // QEMU's own logs trace only its emulated GICv3 (under KVM the GIC is in the host kernel).
  if (source?.type === 'import') return { awake: false, machine: "QEMU TCG's GICv3" };
  return { awake: false, machine: 'a GICv3 at its architectural reset' };
}

export interface CpuIfState {
  /** Priority mask (0 masks everything). */
  pmr: number;
  /** ICC_SRE_EL1.SRE: 1, 0, or -1 while unknown. */
  sre: number;
  /** EOImode: 1 = EOI only drops priority, DIR deactivates. */
  eoiMode: number;
  /** v3 redistributor: ProcessorSleep cleared and ChildrenAsleep seen clear. */
  awake: boolean;
  /** v3 redistributor: ProcessorSleep is 1 (from reset on machines whose redistributors start asleep). */
  asleep: boolean;
  /** Seq of the WAKER write that cleared ProcessorSleep (-1 if never). */
  wakerSeq: number;
  /** Acknowledged, not yet priority-dropped INTIDs with their priorities, innermost last. */
  readonly stack: { intid: number; prio: number; seq: number }[];
}

export type GicChange = (what: string, key: number, from: unknown, to: unknown) => void;

export class GicState {
  /** 2, 3, or 0 when the trace has no GIC regions. */
  readonly version: number;
  readonly dist: DeviceRegion | undefined;
  readonly cpuIf: DeviceRegion | undefined;
  readonly redists: readonly DeviceRegion[];
  /** Distributor GICD_CTLR as last written/read. */
  distCtlr = 0;
  private size: number;
  enabled: Uint8Array;
  pending: Uint8Array;
  active: Uint8Array;
  line: Uint8Array;
  priority: Uint8Array;
  /** 1 = edge-triggered (ICFGR bit set). */
  edge: Uint8Array;
  /** v2 ITARGETSR byte (SPIs). */
  target: Uint8Array;
  /** v3 GICD_IROUTER: 1 once written (the value is the affinity). */
  routed: Uint8Array;
  route: Float64Array;
  /** Seq of the oldest line assertion not yet acknowledged (-1 if none). */
  assertSeq: Float64Array;
  readonly cpus: CpuIfState[] = [];
  /** The machine's redistributor reset state (GICR_WAKER). */
  readonly redistReset: RedistReset;

  constructor(regions: readonly DeviceRegion[], source?: Pick<TraceSource, 'type' | 'name'>) {
    this.redistReset = redistResetOf(source);
    this.dist = regions.find((r) => r.role === 'gic_dist');
    this.cpuIf = regions.find((r) => r.role === 'gic_cpu');
    this.redists = regions.filter((r) => r.role === 'gic_redist').sort((a, b) => a.base - b.base);
    const m = this.dist?.model ?? '';
    this.version = m.startsWith('gicv3') || this.redists.length ? 3 : m.startsWith('gicv2') ? 2 : 0;
    this.size = SPI_LIMIT + 32 * 8;
    this.enabled = new Uint8Array(this.size);
    this.pending = new Uint8Array(this.size);
    this.active = new Uint8Array(this.size);
    this.line = new Uint8Array(this.size);
    this.priority = new Uint8Array(this.size);
    this.edge = new Uint8Array(this.size);
    this.target = new Uint8Array(this.size);
    this.routed = new Uint8Array(this.size);
    this.route = new Float64Array(this.size);
    this.assertSeq = new Float64Array(this.size).fill(-1);
    // SGIs are edge-triggered by definition.
    for (let v = 0; v < 8; v++) for (let i = 0; i < 16; i++) this.edge[SPI_LIMIT + v * 32 + i] = 1;
  }

  /** Index of an INTID's state for a vCPU (SGIs/PPIs are banked per vCPU). */
  slot(intid: number, vcpu: number): number {
    if (intid >= 32) return intid < SPI_LIMIT ? intid : -1;
    const v = vcpu < 0 ? 0 : vcpu;
    const idx = SPI_LIMIT + v * 32 + intid;
    if (idx >= this.size) this.grow(v + 1);
    return idx;
  }

  cpu(vcpu: number): CpuIfState {
    const v = vcpu < 0 ? 0 : vcpu;
    while (this.cpus.length <= v)
      this.cpus.push({
        pmr: 0,
        sre: -1,
        eoiMode: 0,
        awake: this.redistReset.awake,
        asleep: !this.redistReset.awake,
        wakerSeq: -1,
        stack: [],
      });
    return this.cpus[v]!;
  }

  /** Running priority of a vCPU (0x100 = idle). */
  runningPriority(vcpu: number): number {
    const s = this.cpu(vcpu).stack;
    return s.length ? s[s.length - 1]!.prio : 0x100;
  }

  private grow(vcpus: number): void {
    const size = SPI_LIMIT + 32 * Math.max(vcpus, 8) * 2;
    const growU8 = (a: Uint8Array) => {
      const b = new Uint8Array(size);
      b.set(a);
      return b;
    };
    this.enabled = growU8(this.enabled);
    this.pending = growU8(this.pending);
    this.active = growU8(this.active);
    this.line = growU8(this.line);
    this.priority = growU8(this.priority);
    this.edge = growU8(this.edge);
    this.target = growU8(this.target);
    this.routed = growU8(this.routed);
    const r = new Float64Array(size);
    r.set(this.route);
    this.route = r;
    const a = new Float64Array(size).fill(-1);
    a.set(this.assertSeq);
    this.assertSeq = a;
    for (let i = this.size; i < size; i++) if ((i - SPI_LIMIT) % 32 < 16) this.edge[i] = 1;
    this.size = size;
  }

  // --- MMIO ---------------------------------------------------------------------------------

  applyMmio(e: MmioEvent, region: DeviceRegion, change: GicChange): void {
    const off = e.addr - region.base;
    if (region.role === 'gic_dist') {
      if (e.register === 'GICD_CTLR') this.distCtlr = Number(e.value);
      if (e.kind === 'mmio_write') this.distWrite(off, e, 0, change);
    } else if (region.role === 'gic_redist') {
      const frameBase = this.redists[0]?.base ?? region.base;
      const rel = e.addr - frameBase;
      const vcpu = Math.floor(rel / REDIST_FRAME);
      const inFrame = rel % REDIST_FRAME;
      if (inFrame === GICR.WAKER) this.waker(e, vcpu);
      else if (inFrame >= SGI_FRAME && e.kind === 'mmio_write') this.distWrite(inFrame - SGI_FRAME, e, vcpu, change, true);
    } else if (region.role === 'gic_cpu' && e.kind === 'mmio_write') {
      const c = this.cpu(e.vcpu);
      if (off === GICC.PMR) c.pmr = Number(e.value & 0xffn);
      else if (off === GICC.CTLR) c.eoiMode = (Number(e.value & 0xffffffffn) & GICC_CTLR_EOIMODE_NS) !== 0 ? 1 : 0;
    }
  }

  private waker(e: MmioEvent, vcpu: number): void {
    const c = this.cpu(vcpu);
    const v = Number(e.value);
    if (e.kind === 'mmio_write') {
      if ((v & WAKER_PS) === 0 && c.wakerSeq < 0) c.wakerSeq = e.seq;
      // A RAZ/WI WAKER ignores the write; elsewhere ProcessorSleep takes the value written.
      if ((v & WAKER_PS) === 0) c.asleep = false;
      else if (!this.redistReset.awake) c.asleep = true;
      return;
    }
    // A read shows the machine's state, whatever its reset was assumed to be.
    c.asleep = (v & WAKER_PS) !== 0;
    if ((v & (WAKER_PS | WAKER_CA)) !== 0) c.awake = false;
    if ((v & (WAKER_PS | WAKER_CA)) === 0 && c.wakerSeq >= 0)
      c.awake = true; // ChildrenAsleep clear: handshake done
    else if ((v & WAKER_PS) === 0 && c.wakerSeq < 0) {
      // Read with ProcessorSleep already clear (firmware or hypervisor woke it).
      c.wakerSeq = e.seq;
      if ((v & WAKER_CA) === 0) c.awake = true;
    }
  }

  /** Distributor-layout writes (also the redistributor SGI frame, private INTIDs only). */
  private distWrite(off: number, e: MmioEvent, frameVcpu: number, change: GicChange, privateOnly = false): void {
    const vcpu = privateOnly ? frameVcpu : e.vcpu;
    const v = e.value;
    const bytes = e.size;
    const bits = (first: number, fn: (intid: number) => void) => {
      const n = bytes * 8;
      for (let b = 0; b < n; b++) if ((v >> BigInt(b)) & 1n) fn(first + b);
    };
    const byteIds = (first: number, fn: (intid: number, byte: number) => void) => {
      for (let b = 0; b < bytes; b++) fn(first + b, Number((v >> BigInt(8 * b)) & 0xffn));
    };
    const ok = (intid: number) => !privateOnly || intid < 32;
    // Each register array ends where the next begins (GICD_ICFGR<n> ends at GICD_IGRPMODR, 0xd00).
    // GICv2's distributor (IHI 0048B §4.1.2) has the same offsets up to GICD_ICFGR; the SGI_base
    // frame of a GICv3 redistributor repeats them for the private INTIDs.
    if (off >= GICD.ISENABLER && off < GICD.ICENABLER)
      bits((off - GICD.ISENABLER) * 8, (i) => ok(i) && this.set(this.enabled, i, vcpu, 1, 'gic.enabled', change));
    else if (off >= GICD.ICENABLER && off < GICD.ISPENDR)
      bits((off - GICD.ICENABLER) * 8, (i) => ok(i) && this.set(this.enabled, i, vcpu, 0, 'gic.enabled', change));
    else if (off >= GICD.ISPENDR && off < GICD.ICPENDR)
      bits((off - GICD.ISPENDR) * 8, (i) => ok(i) && this.set(this.pending, i, vcpu, 1, 'gic.pending', change));
    else if (off >= GICD.ICPENDR && off < GICD.ISACTIVER)
      bits((off - GICD.ICPENDR) * 8, (i) => ok(i) && this.set(this.pending, i, vcpu, 0, 'gic.pending', change));
    else if (off >= GICD.ISACTIVER && off < GICD.ICACTIVER)
      bits((off - GICD.ISACTIVER) * 8, (i) => ok(i) && this.set(this.active, i, vcpu, 1, 'gic.active', change));
    else if (off >= GICD.ICACTIVER && off < GICD.IPRIORITYR)
      bits((off - GICD.ICACTIVER) * 8, (i) => ok(i) && this.set(this.active, i, vcpu, 0, 'gic.active', change));
    else if (off >= GICD.IPRIORITYR && off < GICD.ITARGETSR)
      byteIds(off - GICD.IPRIORITYR, (i, b) => ok(i) && this.set(this.priority, i, vcpu, b, '', change));
    else if (off >= GICD.ITARGETSR && off < GICD.ICFGR && !privateOnly)
      byteIds(off - GICD.ITARGETSR, (i, b) => this.set(this.target, i, vcpu, b, 'gic.target', change));
    else if (off >= GICD.ICFGR && off < GICD.IGRPMODR) {
      const first = (off - GICD.ICFGR) * 4;
      for (let k = 0; k < bytes * 4; k++) {
        const i = first + k;
        if (ok(i) && i >= 16) this.set(this.edge, i, vcpu, Number((v >> BigInt(2 * k + 1)) & 1n), '', change);
      }
    } else if (off >= GICD.IROUTER && off < IROUTER_END && !privateOnly) {
      const i = (off - GICD.IROUTER) >> 3;
      const s = this.slot(i, vcpu);
      if (s >= 0 && (off & 7) === 0) {
        this.routed[s] = 1;
        this.route[s] = Number(v & 0xff00ffffffn);
        change('gic.route', i, undefined, this.route[s]);
      }
    }
  }

  private set(arr: Uint8Array, intid: number, vcpu: number, value: number, what: string, change: GicChange): boolean {
    const s = this.slot(intid, vcpu);
    if (s < 0) return false;
    const old = arr[s]!;
    arr[s] = value;
    if (what && old !== value) change(what, intid, old, value);
    return true;
  }

  // --- system registers and interrupt events ---------------------------------------------------

  applySysreg(e: EventOf<'sysreg'>, name: string): void {
    const c = this.cpu(e.vcpu);
    const v = Number(e.value & 0xffffffffn);
    if (name === 'ICC_SRE_EL1') c.sre = v & 1;
    else if (name === 'ICC_PMR_EL1' && e.write) c.pmr = v & 0xff;
    else if (name === 'ICC_CTLR_EL1' && e.write) c.eoiMode = (v >> 1) & 1;
  }

  applyLine(e: EventOf<'irq_line'>, change: GicChange): void {
    const s = this.slot(e.intid, e.vcpu);
    if (s < 0) return;
    const old = this.line[s]!;
    this.line[s] = e.trigger === 'edge' ? 0 : e.level;
    if (e.level) {
      if (!this.pending[s]) change('gic.pending', e.intid, 0, 1);
      this.pending[s] = 1;
      if (this.assertSeq[s]! < 0) this.assertSeq[s] = e.seq;
    } else if (e.trigger === 'level') {
      if (this.pending[s] && old) change('gic.pending', e.intid, 1, 0);
      this.pending[s] = 0;
      this.assertSeq[s] = -1; // deasserted before anyone looked: not a lost interrupt
    }
  }

  applyAck(e: EventOf<'irq_ack'>, change: GicChange): void {
    if (e.intid >= 8192) {
      // An LPI has no active state (Arm IHI 0069H §5.1.1): acknowledging it only raises the
      // running priority, which its EOI drops. Its priority is in the LPI configuration table
      // (guest memory, not traced): the highest, 0, stands for it.
      const st = this.cpu(e.vcpu).stack;
      st.push({ intid: e.intid, prio: 0, seq: e.seq });
      if (st.length > 64) st.shift();
      return;
    }
    if (e.intid >= 1020) return;
    const s = this.slot(e.intid, e.vcpu);
    if (s < 0) return;
    this.active[s] = 1;
    this.pending[s] = this.line[s]! && !this.edge[s] ? this.pending[s]! : 0;
    this.assertSeq[s] = -1;
    change('gic.active', e.intid, 0, 1);
    const st = this.cpu(e.vcpu).stack;
    st.push({ intid: e.intid, prio: this.priority[s]!, seq: e.seq });
    if (st.length > 64) st.shift(); // a guest that never EOIs must not grow memory
  }

  applyEoi(e: EventOf<'irq_eoi'>): void {
    const st = this.cpu(e.vcpu).stack;
    for (let i = st.length - 1; i >= 0; i--) {
      if (st[i]!.intid === e.intid) {
        st.splice(i, 1);
        return;
      }
    }
  }

  applyDeactivate(e: EventOf<'irq_deactivate'>, change: GicChange): void {
    const s = this.slot(e.intid, e.vcpu);
    if (s < 0) return;
    if (this.active[s]) change('gic.active', e.intid, 1, 0);
    this.active[s] = 0;
  }

  isActive(intid: number, vcpu: number): boolean {
    const s = this.slot(intid, vcpu);
    return s >= 0 && this.active[s] === 1;
  }
}
