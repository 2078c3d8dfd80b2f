// Xen event channels with the shared-info page and per-vCPU vcpu_info as real guest memory
// (xen/common/event_channel.c, event_2l.c; public/xen.h, event_channel.h): the 2-level ABI a domain
// starts with, and the FIFO ABI once the guest asks for it (EVTCHNOP_init_control: the queues and
// event words are in xen-events-fifo.ts). Either way a port is raised, unmasked and cleared here.
//
// shared_info (arm64): vcpu_info[1] @0 (48 bytes each), evtchn_pending[64] @48,
// evtchn_mask[64] @560, wc_version @1072, wc_sec @1076, wc_nsec @1080, wc_sec_hi @1084.
// vcpu_info: evtchn_upcall_pending u8 @0, evtchn_upcall_mask u8 @1, evtchn_pending_sel u64 @8.
// Before the guest maps shared_info (XENMEM_add_to_physmap) the page is Xen's own buffer; the
// mapping copies it into the chosen guest frame, which from then on *is* the page (as Xen's p2m
// replaces the frame). Upcalls: a 0→1 change of evtchn_upcall_pending injects PPI 31 on that vCPU.

import { FifoEventChannels } from './xen-events-fifo.ts';
import type { GuestAccess } from './xen-guest-memory.ts';

export const SHARED_INFO = {
  VCPU_INFO: 0,
  PENDING: 48,
  MASK: 560,
  WC_VERSION: 1072,
  WC_SEC: 1076,
  WC_NSEC: 1080,
  WC_SEC_HI: 1084,
} as const;
export const VCPU_INFO_SIZE = 48;
/** XEN_LEGACY_MAX_VCPUS on Arm: only vCPU 0 has a vcpu_info inside shared_info. */
const LEGACY_VCPUS = 1;
/** 2-level ABI: 64 × 64 ports. */
export const NR_PORTS_2L = 4096;
/** The highest port a domain may use: 1023, what libxl and Xen's dom0less builder give a domU (max_evtchn_port). */
export const MAX_EVTCHN_PORT = 1023;
export const NR_VIRQS = 24;
/** Ports per bucket of channel structures (PAGE_SIZE / sizeof(struct evtchn) rounded to 64 bytes). */
const EVTCHNS_PER_BUCKET = 64;

export type PortState =
  | { kind: 'free' }
  | { kind: 'unbound'; vcpu: number; remote: number }
  | { kind: 'interdomain'; vcpu: number; remote: number; remotePort: number }
  | { kind: 'virq'; vcpu: number; virq: number }
  | { kind: 'ipi'; vcpu: number };

export interface XenEventsOptions {
  numCpu: number;
  access: GuestAccess;
  /** Assert the event-channel PPI on a vCPU (an edge, as Xen's vgic_inject_irq). */
  upcall(vcpu: number): void;
  /** Wallclock seconds (since 1970) at virtual time 0. */
  epochSeconds: number;
  /** Can a guest frame be mapped (FIFO control blocks and event-array pages)? */
  canBack?: (gfn: number) => boolean;
}

export class XenEvents {
  readonly ports: PortState[] = [{ kind: 'free' }];
  /** Guest-physical address of the shared-info page once mapped, else -1. */
  sharedInfoPa = -1;
  /** Guest-physical address of each vCPU's registered vcpu_info, or -1. */
  readonly vcpuInfoPa: number[];
  private readonly own = new DataView(new ArrayBuffer(4096));
  private readonly opts: XenEventsOptions;
  private readonly virqs: Map<string, number> = new Map();
  /** The FIFO ABI, once the guest has switched to it. */
  fifo: FifoEventChannels | undefined;

  constructor(opts: XenEventsOptions) {
    this.opts = opts;
    this.vcpuInfoPa = new Array<number>(opts.numCpu).fill(-1);
    this.ports[0] = { kind: 'free' }; // port 0 is never valid
    this.writeWallclock(this.own);
  }

  /** The shared-info page as a view (Xen's buffer before it is mapped). */
  sharedInfo(): DataView {
    if (this.sharedInfoPa >= 0) return this.opts.access.physView(this.sharedInfoPa, 4096) ?? this.own;
    return this.own;
  }

  /** Map the shared-info page at a guest frame: its contents move there (returns false if unbacked). */
  mapSharedInfo(pa: number): boolean {
    const view = this.opts.access.physView(pa, 4096);
    if (!view) return false;
    const old = this.sharedInfo();
    const copy = new Uint8Array(old.buffer.slice(old.byteOffset, old.byteOffset + 4096));
    new Uint8Array(view.buffer, view.byteOffset, 4096).set(copy);
    this.sharedInfoPa = pa;
    this.writeWallclock(view);
    return true;
  }

  /** The vcpu_info of a vCPU: registered area, or shared_info's slot for vCPU 0, else undefined. */
  vcpuInfo(vcpu: number): DataView | undefined {
    const pa = this.vcpuInfoPa[vcpu] ?? -1;
    if (pa >= 0) return this.opts.access.physView(pa, VCPU_INFO_SIZE);
    if (vcpu < LEGACY_VCPUS) {
      const si = this.sharedInfo();
      return new DataView(si.buffer, si.byteOffset + vcpu * VCPU_INFO_SIZE, VCPU_INFO_SIZE);
    }
    return undefined;
  }

  /** VCPUOP_register_vcpu_info's effect: move vcpu_info, mark everything pending (map_vcpu_info). */
  registerVcpuInfo(vcpu: number, pa: number): boolean {
    const dst = this.opts.access.physView(pa, VCPU_INFO_SIZE);
    if (!dst) return false;
    const src = this.vcpuInfo(vcpu);
    if (src) for (let i = 0; i < VCPU_INFO_SIZE; i++) dst.setUint8(i, src.getUint8(i));
    else for (let i = 0; i < VCPU_INFO_SIZE; i++) dst.setUint8(i, 0);
    this.vcpuInfoPa[vcpu] = pa;
    dst.setBigUint64(8, 0xffffffffffffffffn, true);
    this.markEventsPending(vcpu);
    return true;
  }

  /** Is an upcall pending for the vCPU (SCHEDOP_block / CPU_SUSPEND return at once then)? */
  upcallPending(vcpu: number): boolean {
    return (this.vcpuInfo(vcpu)?.getUint8(0) ?? 0) !== 0;
  }

  /** get_free_port: the lowest free port up to max_evtchn_port. */
  allocPort(state: PortState): number {
    for (let p = 1; p <= MAX_EVTCHN_PORT; p++) {
      if (p >= this.ports.length || this.ports[p]!.kind === 'free') {
        this.ports[p] = state;
        this.fifo?.portAllocated(p);
        return p;
      }
    }
    return -1;
  }

  /** The vCPU a port notifies (notify_vcpu_id; 0 for a free port). */
  vcpuOf(p: number): number {
    const s = this.ports[p];
    return s && s.kind !== 'free' ? s.vcpu : 0;
  }

  /**
   * EVTCHNOP_init_control once its arguments are checked: map `vcpu`'s control block; the first
   * call switches the domain to the FIFO ABI, carrying over what is pending (setup_ports).
   */
  initControl(vcpu: number, gfn: bigint, offset: number): number {
    if (this.fifo) return this.fifo.mapControlBlock(vcpu, gfn, offset);
    const fifo = new FifoEventChannels({
      numCpu: this.vcpuInfoPa.length,
      access: this.opts.access,
      canBack: this.opts.canBack ?? (() => false),
      portValid: (p) => this.portValid(p),
      notifyVcpu: (p) => this.vcpuOf(p),
      markEventsPending: (v) => this.markEventsPending(v),
    });
    const rc = fifo.mapControlBlock(vcpu, gfn, offset);
    if (rc < 0) return rc; // evtchn_fifo_destroy: the domain stays on the 2-level ABI
    for (let p = 1; p <= MAX_EVTCHN_PORT && this.portValid(p); p++) fifo.adoptPort(p, this.testBit(SHARED_INFO.PENDING, p));
    this.fifo = fifo;
    return 0;
  }

  /**
   * port_is_valid(): Xen allocates channel structures in buckets of 64 ports, and a port is valid
   * once its bucket exists (a free port in it is "closed"; beyond it, -EINVAL).
   */
  portValid(p: number): boolean {
    return p >= 0 && p < Math.ceil(Math.max(this.ports.length, 1) / EVTCHNS_PER_BUCKET) * EVTCHNS_PER_BUCKET;
  }

  port(p: number): Exclude<PortState, { kind: 'free' }> | undefined {
    const s = p > 0 && p < this.ports.length ? this.ports[p]! : undefined;
    return s && s.kind !== 'free' ? s : undefined;
  }

  bindVirq(virq: number, vcpu: number): number {
    const key = `${virq}:${vcpu}`;
    if (this.virqs.has(key)) return -17; // -EEXIST
    const p = this.allocPort({ kind: 'virq', vcpu, virq });
    if (p < 0) return -28; // -ENOSPC
    this.virqs.set(key, p);
    return p;
  }

  close(p: number): void {
    const s = this.ports[p];
    if (s?.kind === 'virq') this.virqs.delete(`${s.virq}:${s.vcpu}`);
    this.ports[p] = { kind: 'free' };
    if (this.fifo) this.fifo.clearPending(p);
    else this.clearBit(SHARED_INFO.PENDING, p);
  }

  /** evtchn_2l_set_pending: pending bit, then (unless masked) selector bit and upcall. */
  setPending(p: number): void {
    if (this.fifo) {
      this.fifo.setPending(p, this.vcpuOf(p));
      return;
    }
    const s = this.ports[p];
    const vcpu = s && s.kind !== 'free' ? s.vcpu : 0;
    if (this.testAndSetBit(SHARED_INFO.PENDING, p)) return;
    if (this.testBit(SHARED_INFO.MASK, p)) return;
    this.raiseSelector(vcpu, p);
  }

  /** evtchn_2l_unmask: clear the mask; a pending event then raises the selector and upcall. */
  unmask(p: number): void {
    if (this.fifo) {
      this.fifo.unmask(p);
      return;
    }
    this.clearBit(SHARED_INFO.MASK, p);
    if (this.testBit(SHARED_INFO.PENDING, p)) {
      const s = this.ports[p];
      this.raiseSelector(s && s.kind !== 'free' ? s.vcpu : 0, p);
    }
  }

  private raiseSelector(vcpu: number, p: number): void {
    const vi = this.vcpuInfo(vcpu);
    if (!vi) return;
    const word = BigInt(Math.floor(p / 64));
    const sel = vi.getBigUint64(8, true);
    if (sel & (1n << word)) return;
    vi.setBigUint64(8, sel | (1n << word), true);
    this.markEventsPending(vcpu);
  }

  /** vcpu_mark_events_pending: set evtchn_upcall_pending; inject the PPI on 0→1. */
  markEventsPending(vcpu: number): void {
    const vi = this.vcpuInfo(vcpu);
    if (!vi) return;
    if (vi.getUint8(0) !== 0) return;
    vi.setUint8(0, 1);
    this.opts.upcall(vcpu);
  }

  private bitAt(base: number, p: number): { view: DataView; off: number; mask: number } {
    const view = this.sharedInfo();
    return { view, off: base + (p >>> 3), mask: 1 << (p & 7) };
  }

  private testBit(base: number, p: number): boolean {
    const b = this.bitAt(base, p);
    return (b.view.getUint8(b.off) & b.mask) !== 0;
  }

  private testAndSetBit(base: number, p: number): boolean {
    const b = this.bitAt(base, p);
    const v = b.view.getUint8(b.off);
    b.view.setUint8(b.off, v | b.mask);
    return (v & b.mask) !== 0;
  }

  private clearBit(base: number, p: number): void {
    const b = this.bitAt(base, p);
    b.view.setUint8(b.off, b.view.getUint8(b.off) & ~b.mask);
  }

  /** Wallclock at boot (update_domain_wallclock_time): version even = stable. */
  private writeWallclock(view: DataView): void {
    const sec = this.opts.epochSeconds; // the wallclock at system time 0
    const version = view.getUint32(SHARED_INFO.WC_VERSION, true);
    view.setUint32(SHARED_INFO.WC_VERSION, (version + 2) & ~1, true);
    view.setUint32(SHARED_INFO.WC_SEC, sec >>> 0, true);
    view.setUint32(SHARED_INFO.WC_NSEC, 0, true);
    view.setUint32(SHARED_INFO.WC_SEC_HI, Math.floor(sec / 2 ** 32), true);
  }
}
