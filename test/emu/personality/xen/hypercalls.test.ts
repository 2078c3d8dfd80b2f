// Every Xen hypercall and sub-operation the xen personality provides, with good and bad
// arguments: the value the guest gets in x0 is the one Xen 4.17 returns (errno values from
// xen/include/public/errno.h), guest memory holds what Xen would write, and nothing throws in
// the host. One row per case; rows share a fresh personality each.
import { describe, expect, it } from 'vitest';
import { DOMID_SELF } from '../../../../arch/hypercalls/xen.ts';
import type { XenConfig } from '../../../../emu/personality/xen.ts';
import { RAM, xenHarness } from './harness.ts';

type H = ReturnType<typeof xenHarness>;
const ARG = RAM + 0x1000; // struct argument buffer (MMU off: VA = PA)
const BUF = RAM + 0x2000;
const PAGE = RAM + 0x10000; // a RAM page for shared_info / vcpu_info
const NOT_MEMORY = 0x1000n; // nothing there: copy_from_guest faults
const S = BigInt;
const NR = {
  memory_op: 12,
  xen_version: 17,
  console_io: 18,
  grant_table_op: 20,
  vm_assist: 21,
  vcpu_op: 24,
  sched_op: 29,
  event_channel_op: 32,
  hvm_op: 34,
};
const E = { EPERM: -1n, ENOENT: -2n, ESRCH: -3n, EFAULT: -14n, EEXIST: -17n, EINVAL: -22n, ENOSYS: -38n, EOPNOTSUPP: -95n };

/** xen_add_to_physmap at ARG */
function physmap(h: H, domid: number, space: number, idx: bigint, gpfn: bigint): bigint {
  h.mem.w16(ARG, domid);
  h.mem.w16(ARG + 2, 1);
  h.mem.w32(ARG + 4, space);
  h.mem.w64(ARG + 8, idx);
  h.mem.w64(ARG + 16, gpfn);
  return h.hypercall(NR.memory_op, [7n, S(ARG)]);
}
function hvmParam(h: H, op: number, domid: number, index: number, value = 0n): bigint {
  h.mem.w16(ARG, domid);
  h.mem.w32(ARG + 4, index);
  h.mem.w64(ARG + 8, value);
  return h.hypercall(NR.hvm_op, [S(op), S(ARG)]);
}
function evtchn(h: H, cmd: number, words: number[]): bigint {
  words.forEach((w, i) => h.mem.w32(ARG + 4 * i, w));
  return h.hypercall(NR.event_channel_op, [S(cmd), S(ARG)]);
}
function vcpuInfo(h: H, vcpu: number, gfn: bigint, offset: number, cpu = 0): bigint {
  h.mem.w64(ARG, gfn);
  h.mem.w32(ARG + 8, offset);
  h.mem.w32(ARG + 12, 0);
  return h.hypercall(NR.vcpu_op, [10n, S(vcpu), S(ARG)], cpu);
}
/** FIFO event channels: vCPU 0's control block at CB, one event-array page at EA. */
const CB = RAM + 0x20000;
const EA = RAM + 0x21000;
function fifoInit(h: H): void {
  expect(evtchn(h, 11, [CB / 4096, 0, 0, 0])).toBe(0n);
  expect(evtchn(h, 12, [EA / 4096, 0])).toBe(0n);
}
function shutdown(h: H, reason: number): bigint {
  h.mem.w32(ARG, reason);
  return h.hypercall(NR.sched_op, [2n, S(ARG)]);
}

interface Row {
  call: string;
  run: (h: H) => bigint;
  ret: bigint;
  check?: (h: H) => void;
  /** The domain's configuration (default: an xl domU). */
  cfg?: Partial<XenConfig>;
}
const DOM0LESS: Partial<XenConfig> = { toolstack: 'dom0less' };

const ROWS: Row[] = [
  // ---- xen_version
  { call: 'xen_version version', run: (h) => h.hypercall(NR.xen_version, [0n, 0n]), ret: S((4 << 16) | 17) },
  {
    call: 'xen_version extraversion',
    run: (h) => h.hypercall(NR.xen_version, [1n, S(ARG)]),
    ret: 0n,
    // Debian's xen-hypervisor-4.17-arm64 is the 4.17.7 point release
    check: (h) => expect(Buffer.from(h.mem.bytes(ARG, 16)).toString('latin1')).toBe('.7'.padEnd(16, '\0')),
  },
  { call: 'xen_version extraversion to unmapped memory', run: (h) => h.hypercall(NR.xen_version, [1n, NOT_MEMORY]), ret: E.EFAULT },
  {
    call: 'xen_version get_features submap 0',
    run: (h) => (h.mem.w32(ARG, 0), h.hypercall(NR.xen_version, [6n, S(ARG)])),
    ret: 0n,
    // writable_page_tables, auto_translated_physmap, memory_op_vnode_supported, ARM_SMCCC_supported, not_direct_mapped (16)
    check: (h) => expect(h.mem.u32(ARG + 4)).toBe(0x16005),
  },
  { call: 'xen_version get_features submap 1', run: (h) => (h.mem.w32(ARG, 1), h.hypercall(NR.xen_version, [6n, S(ARG)])), ret: E.EINVAL },
  { call: 'xen_version get_features bad pointer', run: (h) => h.hypercall(NR.xen_version, [6n, NOT_MEMORY]), ret: E.EFAULT },
  { call: 'xen_version pagesize', run: (h) => h.hypercall(NR.xen_version, [7n, 0n]), ret: 4096n },
  { call: 'xen_version unknown cmd', run: (h) => h.hypercall(NR.xen_version, [99n, 0n]), ret: E.ENOSYS },

  // ---- memory_op add_to_physmap
  {
    call: 'add_to_physmap shared_info',
    run: (h) => physmap(h, DOMID_SELF, 0, 0n, S(PAGE / 4096)),
    ret: 0n,
    check: (h) => {
      expect(h.p.events.sharedInfoPa).toBe(PAGE);
      expect(h.mem.u32(PAGE + 1072) % 2).toBe(0); // wc_version even: stable
      expect(h.mem.u32(PAGE + 1076)).toBe(1704067200); // wc_sec: 2024-01-01
    },
  },
  { call: 'add_to_physmap shared_info for our own domid', run: (h) => physmap(h, 1, 0, 0n, S(PAGE / 4096)), ret: 0n },
  { call: 'add_to_physmap unknown domid', run: (h) => physmap(h, 5, 0, 0n, S(PAGE / 4096)), ret: E.ESRCH },
  { call: 'add_to_physmap for dom0', run: (h) => physmap(h, 0, 0, 0n, S(PAGE / 4096)), ret: E.EPERM },
  { call: 'add_to_physmap shared_info idx 1', run: (h) => physmap(h, DOMID_SELF, 0, 1n, S(PAGE / 4096)), ret: E.EINVAL },
  { call: 'add_to_physmap gpfn outside memory', run: (h) => physmap(h, DOMID_SELF, 0, 0n, 0x10000n), ret: E.EINVAL },
  { call: 'add_to_physmap gpfn beyond the IPA space', run: (h) => physmap(h, DOMID_SELF, 0, 0n, 1n << 40n), ret: E.EINVAL },
  {
    call: 'add_to_physmap grant_table frame 0 at the grant region',
    run: (h) => physmap(h, DOMID_SELF, 1, 0n, 0x38000n),
    ret: 0n,
    check: (h) => {
      // the toolstack's seed: entry 0 grants the console page to dom0
      expect([h.mem.u16(0x38000000), h.mem.u16(0x38000002), h.mem.u32(0x38000004)]).toEqual([1, 0, 0x39000]);
      expect(h.p.domain.grant.gfn[0]).toBe(0x38000);
    },
  },
  { call: 'add_to_physmap grant_table frame 64 (max is 64 frames)', run: (h) => physmap(h, DOMID_SELF, 1, 64n, 0x38040n), ret: E.EINVAL },
  {
    call: 'add_to_physmap grant_table status frame (v1 table)',
    run: (h) => physmap(h, DOMID_SELF, 1, 0x80000000n, 0x38000n),
    ret: E.EINVAL,
  },
  { call: 'add_to_physmap space gmfn', run: (h) => physmap(h, DOMID_SELF, 2, 0n, S(PAGE / 4096)), ret: E.ENOSYS },
  { call: 'add_to_physmap space gmfn_foreign (privileged)', run: (h) => physmap(h, DOMID_SELF, 4, 0n, S(PAGE / 4096)), ret: E.EPERM },
  { call: 'add_to_physmap unknown space', run: (h) => physmap(h, DOMID_SELF, 9, 0n, S(PAGE / 4096)), ret: E.ENOSYS },
  { call: 'add_to_physmap bad pointer', run: (h) => h.hypercall(NR.memory_op, [7n, NOT_MEMORY]), ret: E.EFAULT },
  { call: 'memory_op increase_reservation (not provided)', run: (h) => h.hypercall(NR.memory_op, [0n, S(ARG)]), ret: E.ENOSYS },

  // ---- grant_table_op
  {
    call: 'grant_table_op query_size',
    run: (h) => (h.mem.w16(ARG, DOMID_SELF), h.hypercall(NR.grant_table_op, [6n, S(ARG), 1n])),
    ret: 0n,
    check: (h) => expect([h.mem.u32(ARG + 4), h.mem.u32(ARG + 8), h.mem.i16(ARG + 12)]).toEqual([1, 64, 0]),
  },
  {
    call: 'grant_table_op query_size of an unknown domain',
    run: (h) => (h.mem.w16(ARG, 9), h.hypercall(NR.grant_table_op, [6n, S(ARG), 1n])),
    ret: 0n,
    check: (h) => expect(h.mem.i16(ARG + 12)).toBe(-2), // GNTST_bad_domain
  },
  { call: 'grant_table_op query_size count 2', run: (h) => h.hypercall(NR.grant_table_op, [6n, S(ARG), 2n]), ret: E.EINVAL },
  { call: 'grant_table_op query_size bad pointer', run: (h) => h.hypercall(NR.grant_table_op, [6n, NOT_MEMORY, 1n]), ret: E.EFAULT },
  {
    call: 'grant_table_op setup_table 1 frame',
    run: (h) => {
      physmap(h, DOMID_SELF, 1, 0n, 0x38000n);
      h.mem.w16(ARG, DOMID_SELF);
      h.mem.w32(ARG + 4, 1);
      h.mem.w64(ARG + 16, S(BUF));
      return h.hypercall(NR.grant_table_op, [2n, S(ARG), 1n]);
    },
    ret: 0n,
    check: (h) => expect([h.mem.i16(ARG + 8), h.mem.u64(BUF)]).toEqual([0, 0x38000n]),
  },
  {
    call: 'grant_table_op setup_table beyond max frames',
    run: (h) => (h.mem.w16(ARG, DOMID_SELF), h.mem.w32(ARG + 4, 65), h.hypercall(NR.grant_table_op, [2n, S(ARG), 1n])),
    ret: 0n,
    check: (h) => expect(h.mem.i16(ARG + 8)).toBe(-1), // GNTST_general_error
  },
  { call: 'grant_table_op set_version 1', run: (h) => (h.mem.w32(ARG, 1), h.hypercall(NR.grant_table_op, [8n, S(ARG), 1n])), ret: 0n },
  {
    call: 'grant_table_op set_version 2 (Arm has v1 only)',
    run: (h) => (h.mem.w32(ARG, 2), h.hypercall(NR.grant_table_op, [8n, S(ARG), 1n])),
    ret: E.EINVAL,
    check: (h) => expect(h.mem.u32(ARG)).toBe(1),
  },
  { call: 'grant_table_op cache_flush probe (nothing to flush)', run: (h) => h.hypercall(NR.grant_table_op, [12n, S(ARG), 1n]), ret: 0n },
  {
    call: 'grant_table_op cache_flush clean of a RAM page',
    run: (h) => (
      h.mem.w64(ARG, S(PAGE)),
      h.mem.w16(ARG + 8, 0),
      h.mem.w16(ARG + 10, 64),
      h.mem.w32(ARG + 12, 2),
      h.hypercall(NR.grant_table_op, [12n, S(ARG), 1n])
    ),
    ret: 0n,
  },
  {
    call: 'grant_table_op cache_flush past the page',
    run: (h) => (
      h.mem.w64(ARG, S(PAGE)),
      h.mem.w16(ARG + 8, 4000),
      h.mem.w16(ARG + 10, 200),
      h.mem.w32(ARG + 12, 2),
      h.hypercall(NR.grant_table_op, [12n, S(ARG), 1n])
    ),
    ret: E.EINVAL,
  },
  {
    call: 'grant_table_op cache_flush of a frame the domain does not own',
    run: (h) => (
      h.mem.w64(ARG, 0x10000000n),
      h.mem.w16(ARG + 8, 0),
      h.mem.w16(ARG + 10, 64),
      h.mem.w32(ARG + 12, 1),
      h.hypercall(NR.grant_table_op, [12n, S(ARG), 1n])
    ),
    ret: E.EPERM,
  },
  { call: 'grant_table_op negative count', run: (h) => h.hypercall(NR.grant_table_op, [6n, S(ARG), S(-1)]), ret: E.EINVAL },
  { call: 'grant_table_op unknown cmd', run: (h) => h.hypercall(NR.grant_table_op, [99n, S(ARG), 1n]), ret: E.ENOSYS },

  // ---- vcpu_op
  {
    call: 'vcpu_op register_vcpu_info',
    run: (h) => vcpuInfo(h, 0, S(PAGE / 4096), 0x40),
    ret: 0n,
    check: (h) => {
      expect(h.mem.u8(PAGE + 0x40)).toBe(1); // evtchn_upcall_pending: everything marked pending
      expect(h.mem.u64(PAGE + 0x48)).toBe(0xffffffffffffffffn);
      expect(h.events.some((e) => e.kind === 'irq_line' && e.intid === 31 && e.vcpu === 0)).toBe(true);
    },
  },
  {
    call: 'vcpu_op register_vcpu_info twice',
    run: (h) => (vcpuInfo(h, 0, S(PAGE / 4096), 0), vcpuInfo(h, 0, S(PAGE / 4096), 0x80)),
    ret: E.EINVAL,
  },
  { call: 'vcpu_op register_vcpu_info for an offline vCPU', run: (h) => vcpuInfo(h, 1, S(PAGE / 4096), 0x40), ret: 0n },
  {
    call: 'vcpu_op register_vcpu_info for another running vCPU',
    run: (h) => ((h.state[1] = 'on'), vcpuInfo(h, 1, S(PAGE / 4096), 0x40)),
    ret: E.EINVAL,
  },
  { call: 'vcpu_op register_vcpu_info unknown vCPU', run: (h) => vcpuInfo(h, 5, S(PAGE / 4096), 0), ret: E.ENOENT },
  { call: 'vcpu_op register_vcpu_info offset past the page', run: (h) => vcpuInfo(h, 0, S(PAGE / 4096), 4090), ret: E.EINVAL },
  { call: 'vcpu_op register_vcpu_info gfn outside memory', run: (h) => vcpuInfo(h, 0, 0x10000n, 0), ret: E.EINVAL },
  { call: 'vcpu_op register_vcpu_info bad pointer', run: (h) => h.hypercall(NR.vcpu_op, [10n, 0n, NOT_MEMORY]), ret: E.EFAULT },
  {
    call: 'vcpu_op register_runstate_memory_area',
    run: (h) => (h.mem.w64(ARG, S(BUF)), h.hypercall(NR.vcpu_op, [5n, 0n, S(ARG)])),
    ret: 0n,
    check: (h) => expect(h.mem.u32(BUF)).toBe(0), // RUNSTATE_running
  },
  { call: 'vcpu_op initialise (not on Arm)', run: (h) => h.hypercall(NR.vcpu_op, [0n, 0n, S(ARG)]), ret: E.EINVAL },

  // ---- event_channel_op (ports 1 and 2 are the xenstore and console channels the toolstack made)
  {
    call: 'event_channel_op alloc_unbound',
    run: (h) => (h.mem.w16(ARG, DOMID_SELF), h.mem.w16(ARG + 2, 0), h.hypercall(NR.event_channel_op, [6n, S(ARG)])),
    ret: 0n,
    check: (h) => expect(h.mem.u32(ARG + 4)).toBe(3),
  },
  {
    call: 'event_channel_op alloc_unbound for another domain',
    run: (h) => (h.mem.w16(ARG, 7), h.hypercall(NR.event_channel_op, [6n, S(ARG)])),
    ret: E.ESRCH,
  },
  {
    // Xen does not check that the remote domain exists: the port waits for it.
    call: 'event_channel_op alloc_unbound for a remote domain that does not exist',
    run: (h) => (h.mem.w16(ARG, DOMID_SELF), h.mem.w16(ARG + 2, 9), h.hypercall(NR.event_channel_op, [6n, S(ARG)])),
    ret: 0n,
    check: (h) => expect(h.mem.u32(ARG + 4)).toBe(3),
  },
  { call: 'event_channel_op bind_virq', run: (h) => evtchn(h, 1, [1, 0, 0]), ret: 0n, check: (h) => expect(h.mem.u32(ARG + 8)).toBe(3) },
  { call: 'event_channel_op bind_virq twice', run: (h) => (evtchn(h, 1, [1, 0, 0]), evtchn(h, 1, [1, 0, 0])), ret: E.EEXIST },
  { call: 'event_channel_op bind_virq virq 30', run: (h) => evtchn(h, 1, [30, 0, 0]), ret: E.EINVAL },
  { call: 'event_channel_op bind_virq unknown vCPU', run: (h) => evtchn(h, 1, [1, 9, 0]), ret: E.ENOENT },
  { call: 'event_channel_op bind_ipi', run: (h) => evtchn(h, 7, [0, 0]), ret: 0n, check: (h) => expect(h.mem.u32(ARG + 4)).toBe(3) },
  {
    call: 'event_channel_op send to an IPI port sets it pending and raises the upcall',
    run: (h) => (physmap(h, DOMID_SELF, 0, 0n, S(PAGE / 4096)), evtchn(h, 7, [0, 0]), evtchn(h, 4, [3])),
    ret: 0n,
    check: (h) => {
      expect(h.mem.u8(PAGE + 48) & 0b1000).toBe(0b1000); // evtchn_pending bit 3
      expect(h.mem.u8(PAGE)).toBe(1); // vcpu_info[0].evtchn_upcall_pending
      expect(h.mem.u64(PAGE + 8)).toBe(1n); // evtchn_pending_sel word 0
    },
  },
  {
    call: 'event_channel_op send to a masked port: pending, no upcall; unmask raises it',
    run: (h) => {
      physmap(h, DOMID_SELF, 0, 0n, S(PAGE / 4096));
      evtchn(h, 7, [0, 0]);
      h.mem.w8(PAGE + 560, 0b1000); // evtchn_mask bit 3
      evtchn(h, 4, [3]);
      expect(h.mem.u8(PAGE)).toBe(0);
      return evtchn(h, 9, [3]);
    },
    ret: 0n,
    check: (h) => expect([h.mem.u8(PAGE), h.mem.u8(PAGE + 560)]).toEqual([1, 0]),
  },
  {
    call: 'event_channel_op status of the xenstore port: interdomain with xenstored in dom0',
    run: (h) => evtchn(h, 5, [DOMID_SELF, 1]),
    ret: 0n,
    check: (h) => expect([h.mem.u32(ARG + 8), h.mem.u16(ARG + 16), h.mem.u32(ARG + 20)]).toEqual([2, 0, 1]),
  },
  {
    call: 'event_channel_op status of a free port in use range: closed',
    run: (h) => evtchn(h, 5, [DOMID_SELF, 10]),
    ret: 0n,
    check: (h) => expect(h.mem.u32(ARG + 8)).toBe(0),
  },
  { call: 'event_channel_op status beyond the allocated ports', run: (h) => evtchn(h, 5, [DOMID_SELF, 100]), ret: E.EINVAL },
  { call: "event_channel_op status of dom0's port", run: (h) => evtchn(h, 5, [0, 1]), ret: E.EPERM },
  {
    call: 'event_channel_op alloc_unbound for dom0, then status: unbound, remote 0',
    run: (h) => (evtchn(h, 6, [DOMID_SELF, 0]), evtchn(h, 5, [DOMID_SELF, 3])),
    ret: 0n,
    check: (h) => expect([h.mem.u32(ARG + 8), h.mem.u16(ARG + 16)]).toEqual([1, 0]),
  },
  {
    call: 'event_channel_op bind_interdomain to its own unbound port: a loopback pair, the new port pending',
    run: (h) => {
      physmap(h, DOMID_SELF, 0, 0n, S(PAGE / 4096));
      evtchn(h, 6, [(DOMID_SELF << 16) | DOMID_SELF, 0]); // port 3, waiting for itself
      return evtchn(h, 0, [DOMID_SELF, 3, 0]);
    },
    ret: 0n,
    check: (h) => {
      expect(h.mem.u32(ARG + 8)).toBe(4);
      expect(h.mem.u8(PAGE + 48) & 0b10000).toBe(0b10000); // port 4 pending
      evtchn(h, 5, [DOMID_SELF, 3]);
      expect([h.mem.u32(ARG + 8), h.mem.u32(ARG + 20)]).toEqual([2, 4]);
    },
  },
  {
    call: 'event_channel_op bind_interdomain to dom0 (no port of dom0 waits for the domU)',
    run: (h) => evtchn(h, 0, [0, 1, 0]),
    ret: E.EINVAL,
  },
  { call: 'event_channel_op bind_interdomain to a domain that does not exist', run: (h) => evtchn(h, 0, [5, 1, 0]), ret: E.ESRCH },
  { call: 'event_channel_op close a free port', run: (h) => evtchn(h, 3, [10]), ret: E.EINVAL },
  {
    call: 'event_channel_op close the xenstore port: closed here, xenstored can no longer notify',
    run: (h) => evtchn(h, 3, [1]),
    ret: 0n,
    check: (h) => {
      evtchn(h, 5, [DOMID_SELF, 1]);
      expect(h.mem.u32(ARG + 8)).toBe(0);
      expect(evtchn(h, 4, [1])).toBe(E.EINVAL);
    },
  },
  { call: 'event_channel_op send to an unallocated port', run: (h) => evtchn(h, 4, [999]), ret: E.EINVAL },
  { call: 'event_channel_op send to port 0', run: (h) => evtchn(h, 4, [0]), ret: E.EINVAL },
  { call: 'event_channel_op unmask unallocated port', run: (h) => evtchn(h, 9, [77]), ret: E.EINVAL },
  {
    call: 'event_channel_op send to the console port runs the PV console backend',
    run: (h) => {
      const ring = 0x39000000;
      const text = 'hvc0 says hi\n';
      for (let i = 0; i < text.length; i++) h.mem.w8(ring + 1024 + i, text.charCodeAt(i));
      h.mem.w32(ring + 3084, text.length); // out_prod
      return evtchn(h, 4, [2]);
    },
    ret: 0n,
    check: (h) => {
      expect(h.mem.u32(0x39000000 + 3080)).toBe(13); // out_cons caught up
      const ev = h.events.find((e) => e.kind === 'console');
      expect(ev && ev.kind === 'console' && ev.port).toBe('hvc0');
      expect(ev && ev.kind === 'console' && Buffer.from(ev.bytes).toString()).toBe('hvc0 says hi\n');
    },
  },
  // ---- FIFO event channels (control block at CB, event array page at EA)
  {
    call: 'event_channel_op init_control switches the domain to FIFO; link_bits 17 written back',
    run: (h) => evtchn(h, 11, [CB / 4096, 0, 0, 0, 0, 0]),
    ret: 0n,
    check: (h) => {
      expect(h.mem.u8(ARG + 16)).toBe(17);
      expect(h.p.events.fifo?.controlBlockOf(0)).toBe(CB);
    },
  },
  {
    call: 'event_channel_op init_control twice for one vCPU',
    run: (h) => (evtchn(h, 11, [CB / 4096, 0, 0, 0]), evtchn(h, 11, [CB / 4096, 0, 8, 0])),
    ret: E.EINVAL,
  },
  {
    call: 'event_channel_op init_control on a frame without memory: the domain stays on 2-level',
    run: (h) => evtchn(h, 11, [0x10, 0, 0, 0]),
    ret: E.EINVAL,
    check: (h) => expect(h.p.events.fifo).toBeUndefined(),
  },
  { call: 'event_channel_op init_control unknown vCPU', run: (h) => evtchn(h, 11, [CB / 4096, 0, 0, 9, 0, 0]), ret: E.ENOENT },
  { call: 'event_channel_op init_control unaligned offset', run: (h) => evtchn(h, 11, [CB / 4096, 0, 3, 0, 0, 0]), ret: E.EINVAL },
  {
    call: 'event_channel_op init_control control block across the page end',
    run: (h) => evtchn(h, 11, [CB / 4096, 0, 4096 - 64, 0]),
    ret: E.EINVAL,
  },
  { call: 'event_channel_op expand_array before init_control', run: (h) => evtchn(h, 12, [EA / 4096, 0]), ret: E.EOPNOTSUPP },
  { call: 'event_channel_op expand_array on a frame without memory', run: (h) => (fifoInit(h), evtchn(h, 12, [0x10, 0])), ret: E.EINVAL },
  { call: 'event_channel_op set_priority on the 2-level ABI', run: (h) => evtchn(h, 13, [1, 3]), ret: E.ENOSYS },
  {
    call: 'event_channel_op set_priority of a port beyond the allocated ones',
    run: (h) => (fifoInit(h), evtchn(h, 13, [200, 3])),
    ret: E.EINVAL,
  },
  { call: 'event_channel_op set_priority 16 (lowest is 15)', run: (h) => (fifoInit(h), evtchn(h, 13, [1, 16])), ret: E.EINVAL },
  {
    call: 'FIFO send: PENDING and LINKED, the port at the head of queue 7, ready bit 7, the upcall',
    run: (h) => (fifoInit(h), evtchn(h, 7, [0, 0]), evtchn(h, 4, [3])),
    ret: 0n,
    check: (h) => {
      expect(h.mem.u32(EA + 4 * 3)).toBe(0xa0000000);
      expect(h.mem.u32(CB + 8 + 4 * 7)).toBe(3);
      expect(h.mem.u32(CB)).toBe(1 << 7);
      expect(h.p.events.upcallPending(0)).toBe(true);
    },
  },
  {
    call: 'FIFO send twice on a queue: the tail links to the new port, the head stays',
    run: (h) => (fifoInit(h), evtchn(h, 7, [0, 0]), evtchn(h, 7, [0, 0]), evtchn(h, 4, [3]), evtchn(h, 4, [4])),
    ret: 0n,
    check: (h) => expect([h.mem.u32(EA + 12), h.mem.u32(EA + 16), h.mem.u32(CB + 8 + 28)]).toEqual([0xa0000004, 0xa0000000, 3]),
  },
  {
    call: 'FIFO send to a masked port: PENDING only; unmask links it',
    run: (h) => {
      fifoInit(h);
      evtchn(h, 7, [0, 0]);
      h.mem.w32(EA + 12, 0x40000000); // MASKED
      evtchn(h, 4, [3]);
      expect([h.mem.u32(EA + 12), h.mem.u32(CB), h.mem.u32(CB + 8 + 28)]).toEqual([0xc0000000, 0, 0]);
      return evtchn(h, 9, [3]);
    },
    ret: 0n,
    check: (h) => expect([h.mem.u32(EA + 12), h.mem.u32(CB), h.mem.u32(CB + 8 + 28)]).toEqual([0xa0000000, 1 << 7, 3]),
  },
  {
    call: 'FIFO set_priority 2: the next event goes to queue 2',
    run: (h) => (fifoInit(h), evtchn(h, 7, [0, 0]), evtchn(h, 13, [3, 2])),
    ret: 0n,
    check: (h) => {
      evtchn(h, 4, [3]);
      expect([h.mem.u32(CB + 8 + 4 * 2), h.mem.u32(CB)]).toEqual([3, 1 << 2]);
    },
  },
  {
    call: 'FIFO: a port pending before the switch is raised when its event-array page arrives',
    run: (h) => {
      physmap(h, DOMID_SELF, 0, 0n, S(PAGE / 4096));
      evtchn(h, 7, [0, 0]); // port 3
      evtchn(h, 4, [3]); // 2-level: pending
      evtchn(h, 11, [CB / 4096, 0, 0, 0]);
      expect(h.mem.u32(CB)).toBe(0);
      return evtchn(h, 12, [EA / 4096, 0]);
    },
    ret: 0n,
    check: (h) => expect([h.mem.u32(EA + 12), h.mem.u32(CB + 8 + 28)]).toEqual([0xa0000000, 3]),
  },
  {
    call: 'FIFO send to a vCPU without a control block: PENDING set, not linked, no ready bit (event_fifo.c)',
    run: (h) => (fifoInit(h), evtchn(h, 7, [1, 0]), evtchn(h, 4, [3])), // bind_ipi on vCPU 1
    ret: 0n,
    check: (h) => {
      expect([h.mem.u32(EA + 12), h.mem.u32(CB), h.mem.u32(CB + 8 + 28)]).toEqual([0x80000000, 0, 0]);
      expect(h.p.events.upcallPending(1)).toBe(false);
    },
  },
  {
    call: 'FIFO close clears PENDING (the guest unlinks)',
    run: (h) => (fifoInit(h), evtchn(h, 7, [0, 0]), evtchn(h, 4, [3]), evtchn(h, 3, [3])),
    ret: 0n,
    check: (h) => expect(h.mem.u32(EA + 12)).toBe(0x20000000),
  },
  {
    call: 'event_channel_op close',
    run: (h) => (evtchn(h, 7, [0, 0]), evtchn(h, 3, [2])),
    ret: 0n,
    check: (h) => expect(h.p.events.port(2)).toBeUndefined(),
  },
  { call: 'event_channel_op bad pointer', run: (h) => h.hypercall(NR.event_channel_op, [4n, NOT_MEMORY]), ret: E.EFAULT },
  { call: 'event_channel_op unknown cmd', run: (h) => evtchn(h, 99, [0]), ret: E.ENOSYS },

  // ---- hvm_op
  {
    call: 'hvm_op get_param CONSOLE_PFN',
    run: (h) => hvmParam(h, 1, DOMID_SELF, 17),
    ret: 0n,
    check: (h) => expect(h.mem.u64(ARG + 8)).toBe(0x39000n),
  },
  {
    call: 'hvm_op get_param CONSOLE_EVTCHN',
    run: (h) => hvmParam(h, 1, DOMID_SELF, 18),
    ret: 0n,
    check: (h) => expect(h.mem.u64(ARG + 8)).toBe(2n),
  },
  // libxl allocates the xenstore channel first; the ring is the magic page after the console's.
  {
    call: 'hvm_op get_param STORE_PFN',
    run: (h) => hvmParam(h, 1, DOMID_SELF, 1, 7n),
    ret: 0n,
    check: (h) => expect(h.mem.u64(ARG + 8)).toBe(0x39001n),
  },
  {
    call: 'hvm_op get_param STORE_EVTCHN',
    run: (h) => hvmParam(h, 1, DOMID_SELF, 2, 7n),
    ret: 0n,
    check: (h) => expect(h.mem.u64(ARG + 8)).toBe(1n),
  },
  {
    call: 'hvm_op get_param CALLBACK_IRQ',
    run: (h) => hvmParam(h, 1, DOMID_SELF, 0),
    ret: 0n,
    check: (h) => expect(h.mem.u64(ARG + 8)).toBe((2n << 56n) | (2n << 8n) | 31n),
  },
  {
    call: 'hvm_op set_param then get_param',
    run: (h) => (hvmParam(h, 0, DOMID_SELF, 5, 42n), hvmParam(h, 1, DOMID_SELF, 5)),
    ret: 0n,
    check: (h) => expect(h.mem.u64(ARG + 8)).toBe(42n),
  },
  { call: 'hvm_op get_param index past HVM_NR_PARAMS', run: (h) => hvmParam(h, 1, DOMID_SELF, 40), ret: E.EINVAL },
  { call: 'hvm_op get_param unknown domain', run: (h) => hvmParam(h, 1, 9, 17), ret: E.ESRCH },
  { call: 'hvm_op get_param of dom0', run: (h) => hvmParam(h, 1, 0, 17), ret: E.EPERM },
  { call: 'hvm_op get_param bad pointer', run: (h) => h.hypercall(NR.hvm_op, [1n, NOT_MEMORY]), ret: E.EFAULT },
  { call: 'hvm_op unknown op', run: (h) => h.hypercall(NR.hvm_op, [99n, S(ARG)]), ret: E.ENOSYS },

  // ---- sched_op
  { call: 'sched_op yield', run: (h) => h.hypercall(NR.sched_op, [0n, 0n]), ret: 0n },
  {
    call: 'sched_op block',
    run: (h) => h.hypercall(NR.sched_op, [1n, 0n]),
    ret: 0n,
    check: (h) => expect(h.log).toEqual(['suspend 0 SCHEDOP_block', 'outcome 1']),
  },
  {
    call: 'sched_op shutdown poweroff ends the run',
    run: (h) => shutdown(h, 0),
    ret: 0n,
    check: (h) => expect(h.log).toEqual(['systemOff Xen SCHEDOP_shutdown poweroff', 'outcome 1']),
  },
  {
    call: 'sched_op shutdown reboot',
    run: (h) => shutdown(h, 1),
    ret: 0n,
    check: (h) => expect(h.log[0]).toBe('systemReset Xen SCHEDOP_shutdown reboot'),
  },
  {
    call: 'sched_op shutdown crash',
    run: (h) => shutdown(h, 3),
    ret: 0n,
    check: (h) => expect(h.log[0]).toBe('systemOff Xen SCHEDOP_shutdown crash'),
  },
  { call: 'sched_op shutdown bad pointer', run: (h) => h.hypercall(NR.sched_op, [2n, NOT_MEMORY]), ret: E.EFAULT },
  { call: 'sched_op unknown cmd', run: (h) => h.hypercall(NR.sched_op, [99n, 0n]), ret: E.ENOSYS },

  // ---- console_io
  // the console domain (a dom0less domU) may use console_io; an xl domU may not (xsm_console_io)
  {
    call: 'console_io write (dom0less: the console domain)',
    cfg: DOM0LESS,
    run: (h) => (h.mem.w8(BUF, 0x68), h.mem.w8(BUF + 1, 0x69), h.hypercall(NR.console_io, [0n, 2n, S(BUF)])),
    ret: 0n,
    check: (h) => {
      const ev = h.events.find((e) => e.kind === 'console');
      expect(ev && ev.kind === 'console' ? [ev.port, Buffer.from(ev.bytes).toString()] : []).toEqual(['xen_console_io', 'hi']);
    },
  },
  { call: 'console_io write of 0 bytes (dom0less)', cfg: DOM0LESS, run: (h) => h.hypercall(NR.console_io, [0n, 0n, NOT_MEMORY]), ret: 0n },
  {
    call: 'console_io write bad pointer (dom0less)',
    cfg: DOM0LESS,
    run: (h) => h.hypercall(NR.console_io, [0n, 4n, NOT_MEMORY]),
    ret: E.EFAULT,
  },
  {
    call: 'console_io read (dom0less: no input queued for it)',
    cfg: DOM0LESS,
    run: (h) => h.hypercall(NR.console_io, [1n, 4n, S(BUF)]),
    ret: 0n,
  },
  { call: 'console_io unknown cmd (dom0less)', cfg: DOM0LESS, run: (h) => h.hypercall(NR.console_io, [9n, 0n, 0n]), ret: E.ENOSYS },
  {
    call: 'console_io write (xl: not the console domain)',
    run: (h) => (h.mem.w8(BUF, 0x68), h.hypercall(NR.console_io, [0n, 1n, S(BUF)])),
    ret: E.EPERM,
    check: (h) => expect(h.events.filter((e) => e.kind === 'console')).toEqual([]),
  },
  { call: 'console_io read (xl)', run: (h) => h.hypercall(NR.console_io, [1n, 4n, S(BUF)]), ret: E.EPERM },
  { call: 'console_io unknown cmd (xl: XSM says no first)', run: (h) => h.hypercall(NR.console_io, [9n, 0n, 0n]), ret: E.EPERM },
  // a dom0less system has no dom0: naming it is "no such domain"
  {
    call: 'add_to_physmap for dom0 (dom0less: there is none)',
    cfg: DOM0LESS,
    run: (h) => physmap(h, 0, 0, 0n, S(PAGE / 4096)),
    ret: E.ESRCH,
  },
  {
    call: 'hvm_op get_param CONSOLE_EVTCHN (dom0less: no PV console)',
    cfg: DOM0LESS,
    run: (h) => hvmParam(h, 1, DOMID_SELF, 18),
    ret: 0n,
    check: (h) => expect(h.mem.u64(ARG + 8)).toBe(0n),
  },
  {
    call: 'hvm_op get_param CALLBACK_IRQ (dom0less: only libxl sets it)',
    cfg: DOM0LESS,
    run: (h) => hvmParam(h, 1, DOMID_SELF, 0),
    ret: 0n,
    check: (h) => expect(h.mem.u64(ARG + 8)).toBe(0n),
  },

  // ---- vm_assist
  {
    call: 'vm_assist enable runstate_update_flag',
    run: (h) => h.hypercall(NR.vm_assist, [0n, 5n]),
    ret: 0n,
    check: (h) => expect(h.p.domain.vm_assist).toBe(32),
  },
  { call: 'vm_assist enable an x86 assist', run: (h) => h.hypercall(NR.vm_assist, [0n, 3n]), ret: E.EINVAL },
  { call: 'vm_assist unknown cmd', run: (h) => h.hypercall(NR.vm_assist, [7n, 5n]), ret: E.ENOSYS },

  // ---- hypercalls that are not provided
  { call: 'set_timer_op (x86/PV only)', run: (h) => h.hypercall(15, [0n]), ret: E.ENOSYS },
  { call: 'hypercall 99', run: (h) => h.hypercall(99, [0n]), ret: E.ENOSYS },
];

describe('Xen hypercalls: what the guest gets back', () => {
  for (const row of ROWS) {
    it(row.call, () => {
      const h = xenHarness(row.cfg);
      expect(row.run(h)).toBe(row.ret);
      row.check?.(h);
    });
  }

  it('records each call as a hypercall event with conduit, tag, number, names, arguments and x0', () => {
    const h = xenHarness();
    physmap(h, DOMID_SELF, 0, 0n, S(PAGE / 4096));
    const ev = h.events.filter((e) => e.kind === 'hypercall').at(-1)!;
    expect(ev).toMatchObject({
      kind: 'hypercall',
      conduit: 'hvc',
      imm: 0xea1,
      func: 12,
      name: 'memory_op',
      subop: 'add_to_physmap',
      results: [0n],
    });
    expect(ev.kind === 'hypercall' && ev.args).toEqual([7n, S(ARG), S(DOMID_SELF), 0n, 0n, S(PAGE / 4096)]);
    h.hypercall(NR.event_channel_op, [6n, NOT_MEMORY]);
    const bad = h.events.filter((e) => e.kind === 'hypercall').at(-1)!;
    expect(bad).toMatchObject({ name: 'event_channel_op', subop: 'alloc_unbound', results: [BigInt.asUintN(64, E.EFAULT)] });
  });

  it('typed input without a vUART goes into the PV console in ring and raises the console event', () => {
    const h = xenHarness();
    physmap(h, DOMID_SELF, 0, 0n, S(PAGE / 4096));
    h.p.pushInput(Buffer.from('ls\n'));
    expect(Buffer.from(h.mem.bytes(0x39000000, 3)).toString()).toBe('ls\n');
    expect(h.mem.u32(0x39000000 + 3076)).toBe(3); // in_prod
    expect(h.mem.u8(PAGE + 48) & 0b100).toBe(0b100); // port 2 (the console's) pending
    expect(h.mem.u8(PAGE)).toBe(1); // upcall pending
    expect(h.events.find((e) => e.kind === 'input')).toMatchObject({ kind: 'input', port: 'hvc0' });
  });

  it('never throws on random arguments to every hypercall number', () => {
    const h = xenHarness();
    let seed = 12345;
    const rnd = (): bigint => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const pick = seed % 4;
      return pick === 0
        ? S(seed % 16)
        : pick === 1
          ? S(RAM + (seed % 0x3ff000))
          : pick === 2
            ? 0x38000000n + S(seed % 0x40000)
            : S(seed) << 20n;
    };
    for (let i = 0; i < 3000; i++) {
      const nr = [12, 17, 18, 20, 21, 24, 32, 34, 6, 99][i % 10]!;
      expect(() => h.hypercall(nr, [rnd(), rnd(), rnd(), rnd(), rnd()])).not.toThrow();
    }
  });
});

const uid = (s: string): bigint[] => {
  const b = Buffer.from(s.replace(/-/g, ''), 'hex');
  return [0, 4, 8, 12].map((o) => S(b.readUInt32LE(o)));
};

describe('HVC #0: PSCI 1.1 and SMCCC as Xen answers them', () => {
  const U = (v: bigint) => BigInt.asUintN(64, v);
  it('versions: PSCI 1.1, SMCCC 1.1 for Xen 4.17 and 1.2 for 4.18', () => {
    expect(xenHarness().smccc([0x84000000n]).x[0]).toBe(0x10001n);
    expect(xenHarness().smccc([0x80000000n]).x[0]).toBe(0x10001n);
    expect(xenHarness({ version: { major: 4, minor: 18 } }).smccc([0x80000000n]).x[0]).toBe(0x10002n);
  });
  it('PSCI_FEATURES lists SMCCC_VERSION and the core set, not RESET2 or MIGRATE', () => {
    const h = xenHarness();
    expect(h.smccc([0x8400000an, 0x80000000n]).x[0]).toBe(0n);
    expect(h.smccc([0x8400000an, 0xc4000003n]).x[0]).toBe(0n);
    expect(h.smccc([0x8400000an, 0x84000012n]).x[0]).toBe(U(-1n));
    expect(h.smccc([0x8400000an, 0x84000005n]).x[0]).toBe(U(-1n));
  });
  it('ARCH_FEATURES: −1 for the workarounds and everything else; only x0 is written', () => {
    const h = xenHarness();
    const r = h.smccc([0x80000001n, 0x80008000n]);
    expect(r.x).toEqual([U(-1n), 0x80008000n, 0x5a5a5a5an, 0x5a5a5a5an]);
    expect(h.smccc([0x80000001n, 0x80000002n]).x[0]).toBe(U(-1n)); // SOC_ID
  });
  it("Xen's hypervisor-service and standard-service UIDs, counts and revisions", () => {
    const h = xenHarness();
    expect(h.smccc([0x8500ff01n]).x).toEqual(uid('a71812dc-c698-4369-9acf-79d18ddee667'));
    expect(h.smccc([0x8500ff00n]).x[0]).toBe(3n);
    expect(h.smccc([0x8500ff03n]).x.slice(0, 2)).toEqual([0n, 1n]);
    expect(h.smccc([0x8400ff01n]).x).toEqual(uid('f863386f-4b39-4cbd-9220-ce1641e59f6f'));
  });
  it('unknown functions return −1 in x0 only; KVM’s UID call is unknown', () => {
    const h = xenHarness();
    expect(h.smccc([0xc600ff00n]).x).toEqual([U(-1n), 0x5a5a5a5an, 0x5a5a5a5an, 0x5a5a5a5an]);
    expect(h.smccc([0x8600ff01n]).x[0]).toBe(U(-1n));
    expect(h.smccc([0x84000005n]).x[0]).toBe(U(-1n)); // MIGRATE is not a vPSCI function
  });
  it('HVC with another immediate is UNDEFINED; SMC #0 is handled like HVC #0', () => {
    const h = xenHarness();
    expect(h.smccc([0x84000000n], 0, 1).outcome).toBe(2);
    expect(h.smccc([0x84000000n], 0, 0, 'smc').x[0]).toBe(0x10001n);
    expect(h.smccc([0x84000000n], 0, 0xea2).outcome).toBe(2);
  });
  it('CPU_ON: success, ALREADY_ON, Thumb entry, unknown vCPU; PSCI 0.1 CPU_ON reports INVALID_PARAMETERS for a running vCPU', () => {
    const h = xenHarness();
    expect(h.smccc([0xc4000003n, 1n, 0x40080000n, 7n]).x[0]).toBe(0n);
    expect(h.log).toEqual(['cpuOn 1 0x40080000 7 PSCI_CPU_ON']);
    expect(h.smccc([0xc4000003n, 1n, 0x40080000n, 7n]).x[0]).toBe(U(-4n));
    h.state[1] = 'off';
    expect(h.smccc([0xc4000003n, 1n, 0x40080001n, 0n]).x[0]).toBe(U(-9n));
    expect(h.smccc([0xc4000003n, 0x100n, 0x40080000n, 0n]).x[0]).toBe(U(-2n)); // vCPU 16 does not exist
    expect(h.smccc([2n, 0n, 0x40080000n]).x[0]).toBe(U(-2n)); // PSCI 0.1 cpu_on = 2, vCPU 0 is on
  });
  it('AFFINITY_INFO levels 0–2, level 3 invalid; SYSTEM_OFF shuts the domain down', () => {
    const h = xenHarness();
    expect(h.smccc([0xc4000004n, 0n, 0n]).x[0]).toBe(0n);
    expect(h.smccc([0xc4000004n, 1n, 0n]).x[0]).toBe(1n);
    expect(h.smccc([0xc4000004n, 0n, 3n]).x[0]).toBe(U(-2n));
    expect(h.smccc([0x84000008n]).outcome).toBe(1);
    expect(h.log).toEqual(['systemOff PSCI_SYSTEM_OFF']);
  });
});
