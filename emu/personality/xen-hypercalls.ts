// Xen hypercalls (HVC #0xEA1, number in x16, arguments x0–x4, result in x0) as Xen 4.17 answers
// them for an arm64 domU: one handler per hypercall, sub-operations in tables. Struct arguments
// are read and written through the caller's stage-1 translation (copy_{from,to}_guest); a
// fault is -EFAULT. Errors follow Xen's order of checks (see docs/xen.md for each call).
// Anything not provided is -ENOSYS. Handlers never throw: bad guest input is an errno.

import { DOMID_SELF } from '../../arch/hypercalls/xen.ts';
import { EVTCHNSTAT, GNTTAB_RESERVED } from '../../arch/hypercalls/xen-io.ts';
import type { DeviceEnv } from '../devices/irq.ts';
import { HYPERCALL, type HypercallCpu, type HypercallOutcome, type PlatformControl } from './types.ts';
import type { XenEvents } from './xen-events.ts';
import { NR_VIRQS, VCPU_INFO_SIZE } from './xen-events.ts';
import { FIFO } from './xen-events-fifo.ts';
import type { InterdomainChannels } from './xen/evtchn.ts';
import type { GuestAccess, TranslatingCpu } from './xen-guest-memory.ts';

export const ERRNO = {
  EPERM: -1n,
  ENOENT: -2n,
  ESRCH: -3n,
  EFAULT: -14n,
  EEXIST: -17n,
  EINVAL: -22n,
  ENOSPC: -28n,
  ENOSYS: -38n,
  EOPNOTSUPP: -95n,
} as const;

export const HYPERCALL_NR = {
  memory_op: 12,
  xen_version: 17,
  console_io: 18,
  grant_table_op: 20,
  vm_assist: 21,
  vcpu_op: 24,
  sched_op: 29,
  event_channel_op: 32,
  hvm_op: 34,
} as const;

export const HVM_PARAM = { CALLBACK_IRQ: 0, STORE_PFN: 1, STORE_EVTCHN: 2, CONSOLE_PFN: 17, CONSOLE_EVTCHN: 18 } as const;
export const HVM_NR_PARAMS = 39;
/**
 * XENFEAT_* bits a 4.17 arm64 domU gets in submap 0 (public/features.h): a translated domain that
 * is not direct-mapped has not_direct_mapped (16), never direct_mapped (17): 0x16005.
 */
export const XENFEAT = {
  writable_page_tables: 0,
  auto_translated_physmap: 2,
  memory_op_vnode_supported: 13,
  ARM_SMCCC_supported: 14,
  not_direct_mapped: 16,
  direct_mapped: 17,
} as const;
const DOMU_FEATURES =
  (1 << XENFEAT.writable_page_tables) |
  (1 << XENFEAT.auto_translated_physmap) |
  (1 << XENFEAT.memory_op_vnode_supported) |
  (1 << XENFEAT.ARM_SMCCC_supported) |
  (1 << XENFEAT.not_direct_mapped);
/** VMASST_TYPE_runstate_update_flag: the only assist valid on Arm. */
const VMASST_RUNSTATE_UPDATE_FLAG = 5;
const GNTST = { okay: 0, general_error: -1, bad_domain: -2, permission_denied: -8 } as const;
const GTF_permit_access = 1;

/** What the hypercalls act on: the domain's state, owned by the xen personality. */
export interface XenDomain {
  readonly numCpu: number;
  readonly domid: number;
  readonly version: { major: number; minor: number; extra: string };
  readonly access: GuestAccess;
  readonly events: XenEvents;
  readonly platform: PlatformControl;
  readonly env: DeviceEnv;
  /** HVM params as Xen and the toolstack set them. */
  readonly params: bigint[];
  /** Grant table: frames in use, the maximum, and the guest frame each is mapped at (-1 = none). */
  readonly grant: { nrFrames: number; maxFrames: number; gfn: number[]; version: number };
  /** Can the emulator back a guest frame with memory (RAM, grant region, magic pages)? */
  canBack(gfn: number): boolean;
  /** Is this the console domain (xsm_console_io lets only it use console_io)? */
  readonly isConsoleDomain: boolean;
  /** Does dom0 exist (xl: yes; a dom0less system here: no)? */
  readonly hasDom0: boolean;
  /** Bytes a CONSOLEIO_write produced. */
  consoleIo(bytes: Uint8Array, vcpu: number): void;
  /** dom0's ends of the interdomain channels (xenstored, console, backends). */
  readonly channels: InterdomainChannels;
  /** Runstate areas registered per vCPU (guest VAs), for the record. */
  readonly runstate: bigint[];
  vm_assist: number;
  /** Virtual time in ns (runstate times). */
  nowNs(): number;
}

export type XenCpu = HypercallCpu & TranslatingCpu;

export interface XenCallResult {
  subop?: number;
  args: bigint[];
  ret: bigint;
  outcome: HypercallOutcome;
}

type Handler = (d: XenDomain, cpu: XenCpu) => XenCallResult;

const done = (args: bigint[], ret: bigint | number, subop?: number, outcome: HypercallOutcome = HYPERCALL.CONTINUE): XenCallResult => ({
  args,
  ret: BigInt(ret),
  outcome,
  ...(subop !== undefined ? { subop } : {}),
});

const xargs = (cpu: XenCpu, n: number): bigint[] => Array.from({ length: n }, (_, i) => cpu.getX(i));
const u32 = (v: bigint): number => Number(v & 0xffffffffn);
const s32 = (v: bigint): number => Number(BigInt.asIntN(32, v));

/** Little-endian struct helpers over a copied guest buffer. */
function le(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * rcu_lock_domain_by_any_id + XSM_TARGET: self is fine; dom0, where it exists, is not ours
 * (EPERM); any other domain does not exist (ESRCH).
 */
function checkDomain(d: XenDomain, domid: number): bigint {
  if (domid === DOMID_SELF || domid === d.domid) return 0n;
  if (domid === 0 && d.hasDom0) return ERRNO.EPERM;
  return ERRNO.ESRCH;
}

// ---- xen_version ---------------------------------------------------------------------------

function xenVersion(d: XenDomain, cpu: XenCpu): XenCallResult {
  const cmd = s32(cpu.getX(0));
  const arg = cpu.getX(1);
  const args = [BigInt(cmd), arg];
  const putString = (s: string, size: number): bigint => {
    const b = new Uint8Array(size);
    b.set(new TextEncoder().encode(s).subarray(0, size - 1));
    return d.access.write(cpu, arg, b) ? 0n : ERRNO.EFAULT;
  };
  switch (cmd) {
    case 0: // XENVER_version
      return done(args, (d.version.major << 16) | d.version.minor, cmd);
    case 1: // XENVER_extraversion: char[16]
      return done(args, putString(d.version.extra, 16), cmd);
    case 2: {
      // XENVER_compile_info: compiler[64], compile_by[16], compile_domain[32], compile_date[32]
      const b = new Uint8Array(144);
      const put = (s: string, off: number, n: number) => b.set(new TextEncoder().encode(s).subarray(0, n - 1), off);
      put('gcc (Debian 12.2.0-14) 12.2.0', 0, 64);
      put('bootscope', 64, 16);
      put('emulator', 80, 32);
      put('Thu Jan  1 00:00:00 UTC 2024', 112, 32);
      return done(args, d.access.write(cpu, arg, b) ? 0n : ERRNO.EFAULT, cmd);
    }
    case 3: // XENVER_capabilities: char[1024]
      return done(args, putString('xen-3.0-aarch64 xen-3.0-armv7l ', 1024), cmd);
    case 4: // XENVER_changeset: char[64]
      return done(args, putString('unavailable', 64), cmd);
    case 6: {
      // XENVER_get_features: { u32 submap_idx; u32 submap }
      const b = d.access.read(cpu, arg, 8);
      if (!b) return done(args, ERRNO.EFAULT, cmd);
      const idx = le(b).getUint32(0, true);
      if (idx !== 0) return done(args, ERRNO.EINVAL, cmd);
      le(b).setUint32(4, DOMU_FEATURES >>> 0, true);
      return done(args, d.access.write(cpu, arg, b) ? 0n : ERRNO.EFAULT, cmd);
    }
    case 7: // XENVER_pagesize
      return done(args, arg === 0n ? 4096n : ERRNO.EINVAL, cmd);
    case 9: // XENVER_commandline: denied to a domU
      return done(args, putString('<denied>', 1024), cmd);
    default:
      return done(args, ERRNO.ENOSYS, cmd);
  }
}

// ---- memory_op -----------------------------------------------------------------------------

function memoryOp(d: XenDomain, cpu: XenCpu): XenCallResult {
  const cmd = Number(cpu.getX(0) & 0x3fn); // MEMOP_CMD_MASK
  const arg = cpu.getX(1);
  const args = [cpu.getX(0), arg];
  if (cmd !== 7) return done(args, ERRNO.ENOSYS, cmd); // only XENMEM_add_to_physmap
  // xen_add_to_physmap: domid u16 @0, size u16 @2, space u32 @4, idx u64 @8, gpfn u64 @16
  const b = d.access.read(cpu, arg, 24);
  if (!b) return done(args, ERRNO.EFAULT, cmd);
  const v = le(b);
  const domid = v.getUint16(0, true),
    space = v.getUint32(4, true);
  const idx = v.getBigUint64(8, true),
    gpfn = v.getBigUint64(16, true);
  const full = [...args, BigInt(domid), BigInt(space), idx, gpfn];
  const dom = checkDomain(d, domid);
  if (dom) return done(full, dom, cmd);
  const backed = gpfn < 1n << 36n && d.canBack(Number(gpfn));
  switch (space) {
    case 0: // XENMAPSPACE_shared_info
      if (idx !== 0n) return done(full, ERRNO.EINVAL, cmd);
      if (!backed || !d.events.mapSharedInfo(Number(gpfn) * 4096)) return done(full, ERRNO.EINVAL, cmd);
      return done(full, 0n, cmd);
    case 1: {
      // XENMAPSPACE_grant_table (bit 31 of idx: status frames, which v1 tables do not have)
      if (idx & 0x80000000n) return done(full, ERRNO.EINVAL, cmd);
      const g = d.grant;
      if (idx >= BigInt(g.maxFrames)) return done(full, ERRNO.EINVAL, cmd);
      if (!backed) return done(full, ERRNO.EINVAL, cmd);
      mapGrantFrame(d, Number(idx), Number(gpfn));
      return done(full, 0n, cmd);
    }
    case 2: // gmfn
    case 3: // gmfn_range
      return done(full, ERRNO.ENOSYS, cmd);
    case 4: // gmfn_foreign, dev_mmio: privileged
    case 5:
      return done(full, ERRNO.EPERM, cmd);
    default:
      return done(full, ERRNO.ENOSYS, cmd);
  }
}

/** Map grant frame i at gfn (its contents move there); frames grow up to i + 1. */
function mapGrantFrame(d: XenDomain, i: number, gfn: number): void {
  const g = d.grant;
  const old = g.gfn[i] ?? -1;
  const dst = d.access.physView(gfn * 4096, 4096);
  if (!dst) return;
  const src = old >= 0 ? d.access.physView(old * 4096, 4096) : undefined;
  for (let k = 0; k < 4096; k += 4) dst.setUint32(k, src ? src.getUint32(k, true) : 0, true);
  if (old < 0 && i === 0) {
    // The toolstack's seed (xc_dom_gnttab_seed): the console and xenstore pages granted to dom0.
    const seed = (ref: number, pfn: bigint): void => {
      if (pfn === 0n) return;
      dst.setUint16(8 * ref, GTF_permit_access, true);
      dst.setUint16(8 * ref + 2, 0, true);
      dst.setUint32(8 * ref + 4, Number(pfn), true);
    };
    seed(GNTTAB_RESERVED.CONSOLE, d.params[HVM_PARAM.CONSOLE_PFN] ?? 0n);
    seed(GNTTAB_RESERVED.XENSTORE, d.params[HVM_PARAM.STORE_PFN] ?? 0n);
  }
  g.gfn[i] = gfn;
  if (i + 1 > g.nrFrames) g.nrFrames = i + 1;
}

// ---- grant_table_op ------------------------------------------------------------------------

function grantTableOp(d: XenDomain, cpu: XenCpu): XenCallResult {
  const cmd = s32(cpu.getX(0));
  const uop = cpu.getX(1),
    count = s32(cpu.getX(2));
  const args = [BigInt(cmd), uop, BigInt(count)];
  if (count < 0) return done(args, ERRNO.EINVAL, cmd);
  const g = d.grant;
  switch (cmd) {
    case 6: {
      // GNTTABOP_query_size: dom u16 @0, nr_frames u32 @4, max_nr_frames u32 @8, status i16 @12
      if (count !== 1) return done(args, ERRNO.EINVAL, cmd);
      const b = d.access.read(cpu, uop, 16);
      if (!b) return done(args, ERRNO.EFAULT, cmd);
      const v = le(b);
      const dom = checkDomain(d, v.getUint16(0, true));
      if (dom) v.setInt16(12, dom === ERRNO.EPERM ? GNTST.permission_denied : GNTST.bad_domain, true);
      else {
        v.setUint32(4, g.nrFrames, true);
        v.setUint32(8, g.maxFrames, true);
        v.setInt16(12, GNTST.okay, true);
      }
      return done(args, d.access.write(cpu, uop, b) ? 0n : ERRNO.EFAULT, cmd);
    }
    case 2: {
      // GNTTABOP_setup_table: dom u16 @0, nr_frames u32 @4, status i16 @8, frame_list @16
      if (count !== 1) return done(args, ERRNO.EINVAL, cmd);
      const b = d.access.read(cpu, uop, 24);
      if (!b) return done(args, ERRNO.EFAULT, cmd);
      const v = le(b);
      const dom = checkDomain(d, v.getUint16(0, true));
      const n = v.getUint32(4, true);
      if (dom) v.setInt16(8, dom === ERRNO.EPERM ? GNTST.permission_denied : GNTST.bad_domain, true);
      else if (n > g.maxFrames) v.setInt16(8, GNTST.general_error, true);
      else {
        if (n > g.nrFrames) g.nrFrames = n;
        const list = new Uint8Array(8 * n);
        for (let i = 0; i < n; i++) le(list).setBigUint64(8 * i, (g.gfn[i] ?? -1) >= 0 ? BigInt(g.gfn[i]!) : 0xffffffffffffffffn, true);
        if (n > 0 && !d.access.write(cpu, v.getBigUint64(16, true), list)) v.setInt16(8, GNTST.general_error, true);
        else v.setInt16(8, GNTST.okay, true);
      }
      return done(args, d.access.write(cpu, uop, b) ? 0n : ERRNO.EFAULT, cmd);
    }
    case 8: {
      // GNTTABOP_set_version: version u32 (in/out); Arm supports v1 only
      if (count !== 1) return done(args, ERRNO.EINVAL, cmd);
      const b = d.access.read(cpu, uop, 4);
      if (!b) return done(args, ERRNO.EFAULT, cmd);
      const want = le(b).getUint32(0, true);
      let rc = 0n;
      if (want !== 1) rc = ERRNO.EINVAL;
      le(b).setUint32(0, g.version, true);
      if (!d.access.write(cpu, uop, b)) rc = ERRNO.EFAULT;
      return done(args, rc, cmd);
    }
    case 10: {
      // GNTTABOP_get_version: dom u16 @0, version u32 @4
      if (count !== 1) return done(args, ERRNO.EINVAL, cmd);
      const b = d.access.read(cpu, uop, 8);
      if (!b) return done(args, ERRNO.EFAULT, cmd);
      const dom = checkDomain(d, le(b).getUint16(0, true));
      if (dom) return done(args, dom, cmd);
      le(b).setUint32(4, g.version, true);
      return done(args, d.access.write(cpu, uop, b) ? 0n : ERRNO.EFAULT, cmd);
    }
    case 12:
      return done(args, cacheFlush(d, cpu, uop, count), cmd);
    default:
      return done(args, ERRNO.ENOSYS, cmd);
  }
}

/**
 * GNTTABOP_cache_flush: gnttab_cache_flush { a u64 @0, offset u16 @8, length u16 @10, op u32 @12 }
 * per entry. The emulator has no caches to maintain, so what remains are Xen's checks: range and
 * op bits (-EINVAL); an empty flush succeeds (Linux probes with one); a frame the domain does not
 * own, or a grant reference (GNTTAB_CACHE_SOURCE_GREF: the domain grants nothing to itself), -EPERM.
 */
function cacheFlush(d: XenDomain, cpu: XenCpu, uop: bigint, count: number): bigint {
  const INVAL = 1,
    CLEAN = 2,
    SOURCE_GREF = 0x80000000;
  for (let i = 0; i < Math.min(count, 512); i++) {
    const b = d.access.read(cpu, uop + BigInt(16 * i), 16);
    if (!b) return ERRNO.EFAULT;
    const v = le(b);
    const addr = v.getBigUint64(0, true),
      offset = v.getUint16(8, true),
      length = v.getUint16(10, true),
      op = v.getUint32(12, true);
    if (offset >= 4096 || length > 4096 || offset + length > 4096 || (op & ~(INVAL | CLEAN | SOURCE_GREF)) !== 0) return ERRNO.EINVAL;
    if (length === 0 || (op & (INVAL | CLEAN)) === 0) continue;
    if (op & SOURCE_GREF) return ERRNO.EPERM;
    const gfn = addr >> 12n;
    if (gfn >= 1n << 36n || !d.canBack(Number(gfn))) return ERRNO.EPERM;
  }
  return 0n;
}

// ---- vcpu_op -------------------------------------------------------------------------------

function vcpuOp(d: XenDomain, cpu: XenCpu): XenCallResult {
  const cmd = s32(cpu.getX(0));
  const vcpuid = s32(cpu.getX(1));
  const arg = cpu.getX(2);
  const args = [BigInt(cmd), BigInt(vcpuid), arg];
  // do_arm_vcpu_op: only these two; everything else is -EINVAL
  if (cmd !== 10 && cmd !== 5) return done(args, ERRNO.EINVAL, cmd);
  if (vcpuid < 0 || vcpuid >= d.numCpu) return done(args, ERRNO.ENOENT, cmd);
  if (cmd === 10) {
    // register_vcpu_info: mfn u64, offset u32, rsvd u32
    const b = d.access.read(cpu, arg, 16);
    if (!b) return done(args, ERRNO.EFAULT, cmd);
    const gfn = le(b).getBigUint64(0, true),
      offset = le(b).getUint32(8, true);
    const full = [...args, gfn, BigInt(offset)];
    if (offset > 4096 - VCPU_INFO_SIZE) return done(full, ERRNO.EINVAL, cmd);
    if (d.events.vcpuInfoPa[vcpuid]! >= 0) return done(full, ERRNO.EINVAL, cmd); // already registered
    if (vcpuid !== cpu.id && d.platform.powerState(vcpuid) !== 'off') return done(full, ERRNO.EINVAL, cmd);
    if (gfn >= 1n << 36n || !d.canBack(Number(gfn))) return done(full, ERRNO.EINVAL, cmd);
    if (!d.events.registerVcpuInfo(vcpuid, Number(gfn) * 4096 + offset)) return done(full, ERRNO.EINVAL, cmd);
    return done(full, 0n, cmd);
  }
  // register_runstate_memory_area: a guest VA where Xen keeps vcpu_runstate_info up to date
  const b = d.access.read(cpu, arg, 8);
  if (!b) return done(args, ERRNO.EFAULT, cmd);
  const va = le(b).getBigUint64(0, true);
  d.runstate[vcpuid] = va;
  if (va !== 0n) {
    // vcpu_runstate_info: state i32 (0 running, 3 offline), state_entry_time u64 @8, time[4] @16
    const info = new Uint8Array(48);
    const ns = BigInt(Math.floor(d.nowNs()));
    le(info).setInt32(0, d.platform.powerState(vcpuid) === 'off' ? 3 : 0, true);
    le(info).setBigUint64(8, ns, true);
    le(info).setBigUint64(16, ns, true);
    d.access.write(cpu, va, info); // Xen ignores a failed copy here
  }
  return done([...args, va], 0n, cmd);
}

// ---- event_channel_op ----------------------------------------------------------------------

function eventChannelOp(d: XenDomain, cpu: XenCpu): XenCallResult {
  const cmd = s32(cpu.getX(0));
  const arg = cpu.getX(1);
  const args = [BigInt(cmd), arg];
  const ev = d.events;
  const size: Record<number, number> = { 0: 12, 1: 12, 3: 4, 4: 4, 5: 24, 6: 8, 7: 8, 8: 8, 9: 4, 11: 24, 12: 8, 13: 8 };
  const len = size[cmd];
  if (len === undefined) return done(args, ERRNO.ENOSYS, cmd); // bind_pirq, reset, reset_cont…
  const b = d.access.read(cpu, arg, len);
  if (!b) return done(args, ERRNO.EFAULT, cmd);
  const v = le(b);
  const writeBack = (rc: bigint, extra: bigint[] = []): XenCallResult =>
    done([...args, ...extra], rc === 0n && !d.access.write(cpu, arg, b) ? ERRNO.EFAULT : rc, cmd);
  switch (cmd) {
    case 6: {
      // alloc_unbound: dom u16, remote_dom u16, port u32 (out). Xen does not check that the
      // remote domain exists: the port simply waits for it.
      const dom = checkDomain(d, v.getUint16(0, true));
      if (dom) return done(args, dom, cmd);
      let remote = v.getUint16(2, true);
      if (remote === DOMID_SELF) remote = d.domid;
      const p = ev.allocPort({ kind: 'unbound', vcpu: 0, remote });
      if (p < 0) return done(args, ERRNO.ENOSPC, cmd);
      v.setUint32(4, p, true);
      return writeBack(0n, [BigInt(remote), BigInt(p)]);
    }
    case 0:
      return bindInterdomain(d, args, v, writeBack);
    case 1: {
      // bind_virq: virq u32, vcpu u32, port u32 (out)
      const virq = v.getUint32(0, true),
        vcpu = v.getUint32(4, true);
      if (virq >= NR_VIRQS) return done(args, ERRNO.EINVAL, cmd);
      if (vcpu >= d.numCpu) return done(args, ERRNO.ENOENT, cmd);
      const p = ev.bindVirq(virq, vcpu);
      if (p < 0) return done(args, BigInt(p), cmd);
      v.setUint32(8, p, true);
      return writeBack(0n);
    }
    case 7: {
      // bind_ipi: vcpu u32, port u32 (out)
      const vcpu = v.getUint32(0, true);
      if (vcpu >= d.numCpu) return done(args, ERRNO.ENOENT, cmd);
      const p = ev.allocPort({ kind: 'ipi', vcpu });
      if (p < 0) return done(args, ERRNO.ENOSPC, cmd);
      v.setUint32(4, p, true);
      return writeBack(0n);
    }
    case 3: {
      // close: port u32
      const p = v.getUint32(0, true);
      return done([...args, BigInt(p)], closePort(d, p), cmd);
    }
    case 8: {
      // bind_vcpu: port u32, vcpu u32
      const p = v.getUint32(0, true),
        vcpu = v.getUint32(4, true);
      const s = ev.port(p);
      if (!s) return done(args, ERRNO.ENOENT, cmd);
      if (vcpu >= d.numCpu) return done(args, ERRNO.ENOENT, cmd);
      if (s.kind === 'ipi' || (s.kind === 'virq' && s.virq !== 0)) return done(args, ERRNO.EINVAL, cmd);
      s.vcpu = vcpu;
      return done(args, 0n, cmd);
    }
    case 4: {
      // send: port u32. Interdomain: the other end's owner is notified; unbound: dropped silently.
      const p = v.getUint32(0, true);
      const s = ev.port(p);
      const full = [...args, BigInt(p)];
      if (!s || s.kind === 'virq') return done(full, ERRNO.EINVAL, cmd);
      if (s.kind === 'ipi') ev.setPending(p);
      else if (s.kind === 'interdomain') {
        if (s.remote === d.domid) ev.setPending(s.remotePort);
        else d.channels.sendFromGuest(p, s.remotePort, cpu.id);
      }
      return done(full, 0n, cmd);
    }
    case 5:
      return channelStatus(d, args, v, writeBack);
    case 9: {
      // unmask: port u32; any port within the allocated buckets (a free one too), as Xen
      const p = v.getUint32(0, true);
      if (!ev.portValid(p)) return done([...args, BigInt(p)], ERRNO.EINVAL, cmd);
      ev.unmask(p);
      return done([...args, BigInt(p)], 0n, cmd);
    }
    case 11: {
      // init_control: control_gfn u64, offset u32, vcpu u32, link_bits u8 (out) — evtchn_fifo_init_control
      const gfn = v.getBigUint64(0, true),
        offset = v.getUint32(8, true),
        vcpu = v.getUint32(12, true);
      const full = [...args, gfn, BigInt(offset), BigInt(vcpu)];
      if (vcpu >= d.numCpu) return done(full, ERRNO.ENOENT, cmd);
      if (offset > 4096 - FIFO.CONTROL_BLOCK_SIZE || offset & 7) return done(full, ERRNO.EINVAL, cmd);
      const rc = ev.initControl(vcpu, gfn, offset);
      if (rc < 0) return done(full, BigInt(rc), cmd);
      v.setUint8(16, FIFO.LINK_BITS);
      return writeBack(0n, [gfn, BigInt(offset), BigInt(vcpu)]);
    }
    case 12: {
      // expand_array: array_gfn u64 — one more page of event words (FIFO only)
      const gfn = v.getBigUint64(0, true);
      const full = [...args, gfn];
      if (!ev.fifo) return done(full, ERRNO.EOPNOTSUPP, cmd);
      return done(full, BigInt(ev.fifo.expandArray(gfn)), cmd);
    }
    case 13: {
      // set_priority: port u32, priority u32 — the 2-level ABI has no priorities (-ENOSYS)
      const p = v.getUint32(0, true),
        prio = v.getUint32(4, true);
      const full = [...args, BigInt(p), BigInt(prio)];
      if (!ev.portValid(p)) return done(full, ERRNO.EINVAL, cmd);
      if (!ev.fifo) return done(full, ERRNO.ENOSYS, cmd);
      return done(full, BigInt(ev.fifo.setPriority(p, prio)), cmd);
    }
    default:
      return done(args, ERRNO.ENOSYS, cmd);
  }
}

/**
 * evtchn_close: a free or reserved port is -EINVAL; an interdomain port's other end goes back to
 * unbound (waiting for this domain again).
 */
function closePort(d: XenDomain, p: number): bigint {
  const ev = d.events;
  const s = ev.port(p);
  if (!s) return ERRNO.EINVAL;
  if (s.kind === 'interdomain') {
    if (s.remote === d.domid) {
      const other = ev.port(s.remotePort);
      if (other?.kind === 'interdomain') ev.ports[s.remotePort] = { kind: 'unbound', vcpu: other.vcpu, remote: d.domid };
    } else d.channels.guestClosed(s.remotePort);
  }
  ev.close(p);
  return 0n;
}

/**
 * bind_interdomain: remote_dom u16 @0, remote_port u32 @4, local_port u32 @8 (out). The remote
 * port must be unbound and waiting for this domain; binding sets the new local port pending
 * (Xen's rule, so nothing sent before the bind is lost). dom0 has no port waiting for the domU,
 * so binding to dom0 is -EINVAL; other domains do not exist (-ESRCH).
 */
function bindInterdomain(
  d: XenDomain,
  args: bigint[],
  v: DataView,
  writeBack: (rc: bigint, extra?: bigint[]) => XenCallResult,
): XenCallResult {
  const ev = d.events;
  let rdom = v.getUint16(0, true);
  const rport = v.getUint32(4, true);
  if (rdom === DOMID_SELF) rdom = d.domid;
  const extra = [BigInt(rdom), BigInt(rport)];
  if (rdom !== d.domid && rdom !== 0) return done([...args, ...extra], ERRNO.ESRCH, 0);
  const remote = rdom === d.domid ? ev.port(rport) : undefined;
  if (!remote || remote.kind !== 'unbound' || remote.remote !== d.domid) return done([...args, ...extra], ERRNO.EINVAL, 0);
  const local = ev.allocPort({ kind: 'interdomain', vcpu: 0, remote: d.domid, remotePort: rport });
  if (local < 0) return done([...args, ...extra], ERRNO.ENOSPC, 0);
  ev.ports[rport] = { kind: 'interdomain', vcpu: remote.vcpu, remote: d.domid, remotePort: local };
  ev.setPending(local);
  v.setUint32(8, local, true);
  return writeBack(0n, [...extra, BigInt(local)]);
}

/**
 * status: dom u16 @0, port u32 @4 → status u32 @8, vcpu u32 @12, then the union @16: unbound
 * {dom u16}, interdomain {dom u16, port u32 @20}, virq u32. Ports beyond those in use are -EINVAL.
 */
function channelStatus(
  d: XenDomain,
  args: bigint[],
  v: DataView,
  writeBack: (rc: bigint, extra?: bigint[]) => XenCallResult,
): XenCallResult {
  const dom = checkDomain(d, v.getUint16(0, true));
  if (dom) return done(args, dom, 5);
  const p = v.getUint32(4, true);
  if (!d.events.portValid(p)) return done([...args, BigInt(p)], ERRNO.EINVAL, 5);
  const s = d.events.port(p);
  for (let off = 8; off < 24; off += 4) v.setUint32(off, 0, true);
  if (!s) v.setUint32(8, EVTCHNSTAT.closed, true);
  else {
    v.setUint32(12, s.vcpu, true);
    switch (s.kind) {
      case 'unbound':
        v.setUint32(8, EVTCHNSTAT.unbound, true);
        v.setUint16(16, s.remote, true);
        break;
      case 'interdomain':
        v.setUint32(8, EVTCHNSTAT.interdomain, true);
        v.setUint16(16, s.remote, true);
        v.setUint32(20, s.remotePort, true);
        break;
      case 'virq':
        v.setUint32(8, EVTCHNSTAT.virq, true);
        v.setUint32(16, s.virq, true);
        break;
      case 'ipi':
        v.setUint32(8, EVTCHNSTAT.ipi, true);
        break;
    }
  }
  return writeBack(0n, [BigInt(p), BigInt(v.getUint32(8, true))]);
}

// ---- hvm_op --------------------------------------------------------------------------------

function hvmOp(d: XenDomain, cpu: XenCpu): XenCallResult {
  const op = s32(cpu.getX(0));
  const arg = cpu.getX(1);
  const args = [BigInt(op), arg];
  if (op === 24) return done(args, arg === 0n ? 0n : ERRNO.EINVAL, op); // guest_request_vm_event
  if (op !== 0 && op !== 1) return done(args, ERRNO.ENOSYS, op);
  // xen_hvm_param: domid u16 @0, index u32 @4, value u64 @8
  const b = d.access.read(cpu, arg, 16);
  if (!b) return done(args, ERRNO.EFAULT, op);
  const v = le(b);
  const domid = v.getUint16(0, true),
    index = v.getUint32(4, true);
  const full = [...args, BigInt(domid), BigInt(index)];
  if (index >= HVM_NR_PARAMS) return done(full, ERRNO.EINVAL, op);
  const dom = checkDomain(d, domid);
  if (dom) return done(full, dom, op);
  if (op === 0) {
    d.params[index] = v.getBigUint64(8, true);
    return done([...full, d.params[index]!], 0n, op);
  }
  const value = d.params[index] ?? 0n;
  v.setBigUint64(8, value, true);
  return done([...full, value], d.access.write(cpu, arg, b) ? 0n : ERRNO.EFAULT, op);
}

// ---- sched_op, console_io, vm_assist -------------------------------------------------------

const SHUTDOWN = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'];

function schedOp(d: XenDomain, cpu: XenCpu): XenCallResult {
  const cmd = s32(cpu.getX(0));
  const arg = cpu.getX(1);
  const args = [BigInt(cmd), arg];
  switch (cmd) {
    case 0: // yield
      return done(args, 0n, cmd);
    case 1: // block: wait for an event unless one is pending
      if (d.events.upcallPending(cpu.id)) return done(args, 0n, cmd);
      d.platform.suspend(cpu.id, 'SCHEDOP_block');
      return done(args, 0n, cmd, HYPERCALL.STOP);
    case 2: {
      const b = d.access.read(cpu, arg, 4);
      if (!b) return done(args, ERRNO.EFAULT, cmd);
      const reason = le(b).getUint32(0, true);
      const name = SHUTDOWN[reason] ?? `reason ${reason}`;
      const msg = `Xen SCHEDOP_shutdown ${name}`;
      if (reason === 1) d.platform.systemReset(msg);
      else d.platform.systemOff(msg);
      return done([...args, BigInt(reason)], 0n, cmd, HYPERCALL.STOP);
    }
    default:
      return done(args, ERRNO.ENOSYS, cmd);
  }
}

/**
 * console_io: XSM's check comes first (xsm_console_io): a domain that is not the console domain
 * gets -EPERM for every command (Debian's release Xen has no CONFIG_VERBOSE_DEBUG, which would let
 * any domain write). The console domain writes; its reads find nothing, as Xen queues serial input
 * for dom0 or a vpl011 only.
 */
function consoleIo(d: XenDomain, cpu: XenCpu): XenCallResult {
  const cmd = s32(cpu.getX(0));
  const count = u32(cpu.getX(1));
  const buf = cpu.getX(2);
  const args = [BigInt(cmd), BigInt(count), buf];
  if (!d.isConsoleDomain) return done(args, ERRNO.EPERM, cmd);
  if (cmd === 1) return done(args, count > 0x7fffffff ? -7n /* -E2BIG */ : 0n, cmd); // CONSOLEIO_read: nothing queued
  if (cmd !== 0) return done(args, ERRNO.ENOSYS, cmd);
  // CONSOLEIO_write, copied in chunks
  const bytes = count > 0 ? d.access.read(cpu, buf, Math.min(count, 1 << 20)) : new Uint8Array(0);
  if (!bytes) return done(args, ERRNO.EFAULT, cmd);
  if (bytes.length) d.consoleIo(bytes, cpu.id);
  return done(args, 0n, cmd);
}

function vmAssist(d: XenDomain, cpu: XenCpu): XenCallResult {
  const cmd = u32(cpu.getX(0)),
    type = u32(cpu.getX(1));
  const args = [BigInt(cmd), BigInt(type)];
  if (cmd !== 0 && cmd !== 1) return done(args, ERRNO.ENOSYS, cmd);
  if (type !== VMASST_RUNSTATE_UPDATE_FLAG) return done(args, ERRNO.EINVAL, cmd);
  if (cmd === 0) d.vm_assist |= 1 << type;
  else d.vm_assist &= ~(1 << type);
  return done(args, 0n, cmd);
}

const HANDLERS: Readonly<Record<number, Handler>> = {
  [HYPERCALL_NR.memory_op]: memoryOp,
  [HYPERCALL_NR.xen_version]: xenVersion,
  [HYPERCALL_NR.console_io]: consoleIo,
  [HYPERCALL_NR.grant_table_op]: grantTableOp,
  [HYPERCALL_NR.vm_assist]: vmAssist,
  [HYPERCALL_NR.vcpu_op]: vcpuOp,
  [HYPERCALL_NR.sched_op]: schedOp,
  [HYPERCALL_NR.event_channel_op]: eventChannelOp,
  [HYPERCALL_NR.hvm_op]: hvmOp,
};

/** Run hypercall `nr` for the calling vCPU; the result goes to x0 (done by the caller). */
export function xenHypercall(d: XenDomain, nr: number, cpu: XenCpu): XenCallResult {
  const h = HANDLERS[nr];
  return h ? h(d, cpu) : done(xargs(cpu, 5), ERRNO.ENOSYS);
}
