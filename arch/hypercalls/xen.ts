// Xen on Arm hypercalls (HVC #0xEA1, number in x16) and their sub-operations
// (Xen's public ABI headers xen/include/public/xen.h and arch-arm.h; docs/arch.md).

export const XEN_HYPERCALL_IMM = 0xea1;

export const XEN_HYPERCALLS: Readonly<Record<number, string>> = {
  6: 'sched_op_compat',
  7: 'platform_op',
  12: 'memory_op',
  13: 'multicall',
  15: 'set_timer_op',
  16: 'event_channel_op_compat',
  17: 'xen_version',
  18: 'console_io',
  19: 'physdev_op_compat',
  20: 'grant_table_op',
  21: 'vm_assist',
  24: 'vcpu_op',
  27: 'xsm_op',
  29: 'sched_op',
  32: 'event_channel_op',
  33: 'physdev_op',
  34: 'hvm_op',
  35: 'sysctl',
  36: 'domctl',
  39: 'argo_op',
  41: 'dm_op',
  42: 'hypfs_op',
};

/** Sub-operation names per hypercall name (first argument, x0). */
export const XEN_SUBOPS: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  memory_op: {
    0: 'increase_reservation',
    1: 'decrease_reservation',
    6: 'populate_physmap',
    7: 'add_to_physmap',
    15: 'remove_from_physmap',
    23: 'add_to_physmap_batch',
    28: 'acquire_resource',
  },
  vcpu_op: { 5: 'register_runstate_memory_area', 10: 'register_vcpu_info' },
  hvm_op: { 0: 'set_param', 1: 'get_param', 24: 'guest_request_vm_event' },
  console_io: { 0: 'write', 1: 'read' },
  xen_version: {
    0: 'version',
    1: 'extraversion',
    2: 'compile_info',
    3: 'capabilities',
    4: 'changeset',
    5: 'platform_parameters',
    6: 'get_features',
    7: 'pagesize',
    9: 'commandline',
  },
  grant_table_op: { 2: 'setup_table', 6: 'query_size', 8: 'set_version', 10: 'get_version', 12: 'cache_flush' },
  event_channel_op: {
    0: 'bind_interdomain',
    1: 'bind_virq',
    3: 'close',
    4: 'send',
    5: 'status',
    6: 'alloc_unbound',
    7: 'bind_ipi',
    8: 'bind_vcpu',
    9: 'unmask',
    11: 'init_control',
    12: 'expand_array',
    13: 'set_priority',
  },
  sched_op: { 0: 'yield', 1: 'block', 2: 'shutdown', 3: 'poll' },
  // xen.h: VMASST_CMD_enable 0, VMASST_CMD_disable 1
  vm_assist: { 0: 'enable', 1: 'disable' },
};

export const XENMAPSPACE: Readonly<Record<number, string>> = {
  0: 'shared_info',
  1: 'grant_table',
  2: 'gmfn',
  3: 'gmfn_range',
  4: 'gmfn_foreign',
  5: 'dev_mmio',
};

export const HVM_PARAMS: Readonly<Record<number, string>> = {
  0: 'CALLBACK_IRQ',
  1: 'STORE_PFN',
  2: 'STORE_EVTCHN',
  17: 'CONSOLE_PFN',
  18: 'CONSOLE_EVTCHN',
};

export const SHUTDOWN_REASONS: Readonly<Record<number, string>> = { 0: 'poweroff', 1: 'reboot', 2: 'suspend', 3: 'crash' };

export const XEN_ENOSYS = -38;
export const DOMID_SELF = 0x7ff0;

/** Decode a Xen hypercall number and (optional) sub-op into names ('' where unknown). */
export function decodeXen(nr: number, subop?: number | bigint): { name: string; subop: string } {
  const name = XEN_HYPERCALLS[nr] ?? '';
  if (subop === undefined || !name) return { name, subop: '' };
  const table = XEN_SUBOPS[name];
  return { name, subop: table?.[Number(subop)] ?? '' };
}
