// Xen's PV I/O ABI as the public headers define it (xen/include/public/): the xenstore wire
// protocol (io/xs_wire.h), xenbus states (io/xenbus.h), the shared ring header (io/ring.h), the
// block and network ring formats (io/blkif.h, io/netif.h), grant-table entries and status codes
// (grant_table.h) and event-channel status (event_channel.h). Numbers only: the emulator's
// backends and the trace's decoders both import them from here.

// ---- io/xs_wire.h --------------------------------------------------------------------------

/** enum xsd_sockmsg_type, by value (XS_RESTRICT, 20, was removed). */
export const XS_TYPE = {
  CONTROL: 0,
  DIRECTORY: 1,
  READ: 2,
  GET_PERMS: 3,
  WATCH: 4,
  UNWATCH: 5,
  TRANSACTION_START: 6,
  TRANSACTION_END: 7,
  INTRODUCE: 8,
  RELEASE: 9,
  GET_DOMAIN_PATH: 10,
  WRITE: 11,
  MKDIR: 12,
  RM: 13,
  SET_PERMS: 14,
  WATCH_EVENT: 15,
  ERROR: 16,
  IS_DOMAIN_INTRODUCED: 17,
  RESUME: 18,
  SET_TARGET: 19,
  RESET_WATCHES: 21,
  DIRECTORY_PART: 22,
} as const;
/** XS_TYPE_COUNT: message types at or above it are unknown. */
export const XS_TYPE_COUNT = 23;
export type XsTypeName = keyof typeof XS_TYPE;
const XS_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [n, v] of Object.entries(XS_TYPE)) names[v] = n;
  return names;
})();
/** Name of a message type ('' when unknown). */
export function xsTypeName(type: number): string {
  return XS_NAMES[type] ?? '';
}

/** The errno names xenstored sends in XS_ERROR replies (xsd_errors[], in table order). */
export const XS_ERRORS = [
  'EINVAL',
  'EACCES',
  'EEXIST',
  'EISDIR',
  'ENOENT',
  'ENOMEM',
  'ENOSPC',
  'EIO',
  'ENOTEMPTY',
  'ENOSYS',
  'EROFS',
  'EBUSY',
  'EAGAIN',
  'EISCONN',
  'E2BIG',
  'EPERM',
] as const;
export type XsError = (typeof XS_ERRORS)[number];

/** struct xsd_sockmsg: type, req_id, tx_id, len (u32 each). */
export const XS_HEADER_SIZE = 16;
export const XENSTORE_PAYLOAD_MAX = 4096;
export const XENSTORE_ABS_PATH_MAX = 3072;
export const XENSTORE_REL_PATH_MAX = 2048;
export const XENSTORE_RING_SIZE = 1024;
/** struct xenstore_domain_interface offsets. */
export const XS_RING = {
  REQ: 0,
  RSP: 1024,
  REQ_CONS: 2048,
  REQ_PROD: 2052,
  RSP_CONS: 2056,
  RSP_PROD: 2060,
  SERVER_FEATURES: 2064,
  CONNECTION: 2068,
  ERROR: 2072,
} as const;
/** Values of the interface's `error` field. */
export const XENSTORE_ERROR = { NONE: 0, COMM: 1, RINGIDX: 2, PROTO: 3 } as const;
export const XENSTORE_ERROR_NAMES = [
  'XENSTORE_ERROR_NONE',
  'XENSTORE_ERROR_COMM',
  'XENSTORE_ERROR_RINGIDX',
  'XENSTORE_ERROR_PROTO',
] as const;

/** xs_lib permission letters: none, read, write, both. */
export const XS_PERM = { NONE: 0, READ: 1, WRITE: 2, OWNER: 8 } as const;

// ---- io/xenbus.h ---------------------------------------------------------------------------

export const XENBUS_STATE = {
  Unknown: 0,
  Initialising: 1,
  InitWait: 2,
  Initialised: 3,
  Connected: 4,
  Closing: 5,
  Closed: 6,
  Reconfiguring: 7,
  Reconfigured: 8,
} as const;
const XENBUS_NAMES = Object.keys(XENBUS_STATE);
/** Name of a xenbus state ('' when out of range). */
export function xenbusStateName(s: number): string {
  return XENBUS_NAMES[s] ?? '';
}

// ---- io/ring.h -----------------------------------------------------------------------------

/** struct *_sring header: req_prod, req_event, rsp_prod, rsp_event, then padding to 64 bytes. */
export const SRING = { REQ_PROD: 0, REQ_EVENT: 4, RSP_PROD: 8, RSP_EVENT: 12, HEADER: 64 } as const;
/** Entries of a ring of `pages` 4 KiB pages with entries of `entry` bytes (__RING_SIZE: a power of two). */
export function ringSize(pages: number, entry: number): number {
  const n = Math.floor((pages * 4096 - SRING.HEADER) / entry);
  return 2 ** Math.floor(Math.log2(n));
}

// ---- io/blkif.h (arm64 layout: natural alignment) -----------------------------------------

export const BLKIF_OP = { READ: 0, WRITE: 1, WRITE_BARRIER: 2, FLUSH_DISKCACHE: 3, RESERVED_1: 4, DISCARD: 5, INDIRECT: 6 } as const;
export const BLKIF_OP_NAMES = ['read', 'write', 'write_barrier', 'flush_diskcache', 'reserved_1', 'discard', 'indirect'] as const;
export const BLKIF_RSP = { OKAY: 0, ERROR: -1, EOPNOTSUPP: -2 } as const;
/** A ring entry is the union of request (112 bytes on arm64) and response (16 bytes). */
export const BLKIF_ENTRY_SIZE = 112;
export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8;
/** struct blkif_request: operation u8, nr_segments u8, handle u16, id u64 @8, sector u64 @16, seg[11] @24. */
export const BLKIF_REQ = { OP: 0, NR_SEGS: 1, HANDLE: 2, ID: 8, SECTOR: 16, SEG: 24 } as const;
/** struct blkif_request_indirect: indirect_op u8 @1, nr_segments u16 @2, handle u16 @24, indirect_grefs[8] @28. */
export const BLKIF_IND = { INDIRECT_OP: 1, NR_SEGS: 2, HANDLE: 24, GREFS: 28 } as const;
/** struct blkif_request_segment: gref u32, first_sect u8, last_sect u8 (8 bytes with padding). */
export const BLKIF_SEG_SIZE = 8;
/** struct blkif_response: id u64 @0, operation u8 @8, status i16 @10. */
export const BLKIF_RSP_OFF = { ID: 0, OP: 8, STATUS: 10 } as const;
export const VDISK = { CDROM: 1, REMOVABLE: 2, READONLY: 4 } as const;
/** Linux's xvd major-202 virtual-device numbers: xvda = 51712, xvdb = 51728 … (16 minors each). */
export function xvdVirtualDevice(index: number): number {
  return (202 << 8) | (index << 4);
}

// ---- io/netif.h ----------------------------------------------------------------------------

/** netif_tx_request: gref u32 @0, offset u16 @4, flags u16 @6, id u16 @8, size u16 @10 (12 bytes). */
export const NETIF_TX_REQ = { GREF: 0, OFFSET: 4, FLAGS: 6, ID: 8, SIZE: 10, ENTRY: 12 } as const;
/** netif_tx_response: id u16 @0, status i16 @2. */
export const NETIF_TX_RSP = { ID: 0, STATUS: 2 } as const;
/** netif_rx_request: id u16 @0, gref u32 @4 (8 bytes); netif_rx_response is 8 bytes too. */
export const NETIF_RX_ENTRY = 8;
export const NETTXF = { csum_blank: 1, data_validated: 2, more_data: 4, extra_info: 8 } as const;
export const NETIF_RSP = { DROPPED: -2, ERROR: -1, OKAY: 0, NULL: 1 } as const;
/** struct netif_extra_info: type u8, flags u8 (XEN_NETIF_EXTRA_FLAG_MORE = 1), 10 bytes of union. */
export const NETIF_EXTRA_FLAG_MORE = 1;

// ---- grant_table.h -------------------------------------------------------------------------

export const GTF = { permit_access: 1, type_mask: 3, readonly: 4, reading: 8, writing: 16 } as const;
/** grant_entry_v1: flags u16, domid u16, frame u32 — 512 per 4 KiB frame. */
export const GRANT_ENTRY_V1_SIZE = 8;
export const GRANT_ENTRIES_PER_FRAME = 4096 / GRANT_ENTRY_V1_SIZE;
/** The entries the toolstack seeds (xc_dom_gnttab_seed): console and xenstore rings. */
export const GNTTAB_RESERVED = { CONSOLE: 0, XENSTORE: 1 } as const;
export const GNTST = {
  okay: 0,
  general_error: -1,
  bad_domain: -2,
  bad_gntref: -3,
  bad_handle: -4,
  bad_virt_addr: -5,
  bad_dev_addr: -6,
  no_device_space: -7,
  permission_denied: -8,
} as const;
const GNTST_NAMES: Record<number, string> = Object.fromEntries(Object.entries(GNTST).map(([k, v]) => [v, `GNTST_${k}`]));
export function gntstName(status: number): string {
  return GNTST_NAMES[status] ?? `GNTST ${status}`;
}

// ---- event_channel.h -----------------------------------------------------------------------

export const EVTCHNSTAT = { closed: 0, unbound: 1, interdomain: 2, pirq: 3, virq: 4, ipi: 5 } as const;
