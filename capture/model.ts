// The bootscope trace model: every event kind and field, in one table.
//
// This file is the single source of truth. The store's column encoder, the SQL `events`
// table, JSON output and the schema docs are all derived from KIND_FIELDS below; producers
// (emulator, importers) and consumers (analyzers, TUI) import the types from here.

/** Bumped whenever the stored encoding or the meaning of a field changes. */
export const SCHEMA_VERSION = 2;

/** Field value types, as stored. */
export type FieldType =
  | 'u32' //   unsigned integer that fits in 32 bits (INTIDs, sizes, ESR, EL)
  | 'u53' //   non-negative JS-safe integer (physical addresses, counts)
  | 'i32' //   signed 32-bit integer
  | 'u64' //   full 64-bit value (register values, PCs, hypercall arguments): bigint
  | 'bool'
  | 'str' //   free text, dictionary-coded in the store
  | 'enum' //  one of a fixed list of strings
  | 'bytes' // raw bytes (console output, input)
  | 'u64[]'; // list of 64-bit values (hypercall arguments/results)

export interface FieldSpec {
  readonly type: FieldType;
  readonly values?: readonly string[]; // for 'enum'
  readonly optional?: boolean;
  readonly doc: string;
}

const f = <T extends FieldType, const V extends readonly string[] = never>(
  type: T,
  doc: string,
  extra: { values?: V; optional?: boolean } = {},
) => ({ type, doc, ...extra }) as { type: T; doc: string; values: V; optional: boolean };

/** How an MMIO access was resolved by the platform. */
export const MMIO_OUTCOMES = ['handled', 'raz_wi', 'unassigned', 'abort'] as const;
export const TRIGGERS = ['level', 'edge'] as const;
export const GIC_VIA = ['gicc_mmio', 'icc_sysreg', 'unknown'] as const;
export const CONDUITS = ['hvc', 'smc'] as const;
export const VCPU_STATES = ['on', 'off', 'reset', 'suspend', 'on_pending'] as const;
export const TIMER_NAMES = ['phys', 'virt', 'hyp', 'sec', 'hypvirt', 'sel2phys', 'sel2virt'] as const;
/**
 * What happened to a timer: the guest wrote CTL/CVAL/TVAL, the model recomputed it…; save_* and
 * restore_* are a hypervisor putting the guest's CTL or CVAL away when the vCPU leaves the CPU and
 * loading it back (KVM's kvm_timer_save_state / kvm_timer_restore_state), not guest writes.
 */
export const TIMER_OPS = [
  'ctl',
  'cval',
  'tval',
  'recalc',
  'disabled',
  'imask_toggle',
  'cntvoff',
  'save_ctl',
  'save_cval',
  'restore_ctl',
  'restore_cval',
] as const;
export const WAKE_REASONS = ['irq', 'fiq', 'timer', 'event', 'sgi', 'none', 'unknown'] as const;
/** Block request operations, transport-independent (virtio-blk types, Xen blkif operations). */
export const BLOCK_OPS = ['read', 'write', 'flush', 'get_id', 'discard', 'write_zeroes', 'other'] as const;
/** Block completion status: virtio-blk OK/IOERR/UNSUPP, blkif OKAY/ERROR/EOPNOTSUPP. */
export const BLOCK_STATUS = ['ok', 'ioerr', 'unsupported'] as const;
export const NET_DIRECTIONS = ['tx', 'rx'] as const;
/** How a PCI configuration access was resolved: a present function, or none there (reads all-ones). */
export const PCI_OUTCOMES = ['handled', 'absent'] as const;

/**
 * Event kinds and their fields (in addition to the common fields). Order of fields is the
 * column order in the store and in SQL.
 */
export const KIND_FIELDS = {
  mmio_read: {
    addr: f('u53', 'absolute guest-physical address'),
    size: f('u32', 'access size in bytes (1, 2, 4, 8)'),
    value: f('u64', 'value read'),
    device: f('str', "device region name from the trace's region table ('' if unassigned)"),
    register: f('str', "decoded register name ('' if unknown)"),
    outcome: f('enum', 'how the platform resolved the access', { values: MMIO_OUTCOMES }),
  },
  mmio_write: {
    addr: f('u53', 'absolute guest-physical address'),
    size: f('u32', 'access size in bytes (1, 2, 4, 8)'),
    value: f('u64', 'value written'),
    device: f('str', "device region name from the trace's region table ('' if unassigned)"),
    register: f('str', "decoded register name ('' if unknown)"),
    outcome: f('enum', 'how the platform resolved the access', { values: MMIO_OUTCOMES }),
  },
  irq_line: {
    intid: f('u32', 'GIC INTID'),
    level: f('u32', 'new line level (0 or 1); for edges, 1 = pulse'),
    trigger: f('enum', 'level or edge', { values: TRIGGERS }),
    source: f('str', 'device driving the line'),
  },
  irq_deliver: {
    intid: f('u32', 'INTID the CPU interface signalled'),
    exception: f('enum', 'exception taken', { values: ['irq', 'fiq'] as const }),
  },
  irq_ack: {
    intid: f('u32', 'INTID returned by IAR (1023 = spurious)'),
    source_cpu: f('u32', 'SGI source CPU (0 otherwise)'),
    via: f('enum', 'GICC MMIO or ICC system register', { values: GIC_VIA }),
  },
  irq_eoi: {
    intid: f('u32', 'INTID written to EOIR'),
    via: f('enum', 'GICC MMIO or ICC system register', { values: GIC_VIA }),
  },
  irq_deactivate: {
    intid: f('u32', 'INTID deactivated (DIR, or EOI with EOImode 0)'),
    via: f('enum', 'GICC MMIO or ICC system register', { values: GIC_VIA }),
  },
  hypercall: {
    conduit: f('enum', 'HVC or SMC', { values: CONDUITS }),
    imm: f('u32', 'instruction immediate'),
    func: f('u53', 'function id: SMCCC w0, or the Xen hypercall number from x16'),
    name: f('str', "decoded name, e.g. PSCI_CPU_ON, SMCCC_VERSION, xen_memory_op ('' if unknown)"),
    subop: f('str', "decoded sub-operation, e.g. add_to_physmap ('' if none)"),
    args: f('u64[]', 'arguments (x1.. for SMCCC, x0.. for Xen) as far as known'),
    results: f('u64[]', 'results (x0..) as far as known'),
  },
  exception: {
    ec: f('u32', 'ESR exception class'),
    esr: f('u53', 'syndrome (ESR_ELx)'),
    far: f('u64', 'fault address (0 if not applicable)'),
    from_el: f('u32', 'exception level taken from'),
    to_el: f('u32', 'exception level taken to'),
    detail: f('str', "short description, e.g. 'data abort, unassigned MMIO' or an exit reason"),
  },
  sysreg: {
    name: f('str', 'system register name (e.g. CNTV_CTL_EL0, ICC_IAR1_EL1)'),
    encoding: f('u32', 'op0<<14|op1<<11|CRn<<7|CRm<<3|op2'),
    write: f('bool', 'true for MSR, false for MRS'),
    value: f('u64', 'value read or written'),
    outcome: f('enum', 'handled, or undefined (UNDEF delivered to the guest)', {
      values: ['handled', 'undefined', 'trapped'] as const,
    }),
  },
  wfx: {
    wfe: f('bool', 'true for WFE, false for WFI'),
    wake: f('enum', 'what ended the wait', { values: WAKE_REASONS }),
    slept: f('u53', 'virtual time spent waiting (same unit as time)'),
  },
  console: {
    port: f('str', "console device: region name, 'xen_console_io' or 'hvc0'"),
    bytes: f('bytes', 'bytes the guest wrote'),
  },
  input: {
    port: f('str', 'console device receiving the bytes'),
    bytes: f('bytes', 'bytes given to the guest (recorded for replay)'),
  },
  vcpu_state: {
    state: f('enum', 'new power state', { values: VCPU_STATES }),
    target: f('u32', 'vCPU index whose state changed'),
    entry: f('u64', 'entry point (CPU_ON) or 0'),
    context: f('u64', 'context id (CPU_ON) or 0'),
    reason: f('str', "what caused it, e.g. 'PSCI_CPU_ON', 'boot', 'PSCI_SYSTEM_OFF'"),
  },
  timer: {
    timer: f('enum', 'which generic timer', { values: TIMER_NAMES }),
    op: f('enum', 'what happened to it', { values: TIMER_OPS }),
    value: f('u64', 'value written or deadline computed'),
  },
  // Device-independent I/O: the kvm machine's virtio devices and the xen machine's backends
  // record the same kinds, so diff, latency and phases compare them across machines.
  block_request: {
    device: f('str', "block device: the PCI function (e.g. 'virtio-blk@00:02.0') or the Xen virtual disk (e.g. 'vbd-51712')"),
    queue: f('u32', 'virtqueue or ring index the request came on'),
    request: f('u64', 'request id as the transport names it: virtio descriptor chain head, blkif request id'),
    op: f('enum', 'operation', { values: BLOCK_OPS }),
    sector: f('u53', 'first 512-byte sector (0 for flush and get_id)'),
    length: f('u32', 'data bytes of the request (0 for flush)'),
  },
  block_complete: {
    device: f('str', 'block device, as in block_request'),
    queue: f('u32', 'virtqueue or ring index'),
    request: f('u64', 'request id, as in block_request'),
    op: f('enum', 'operation', { values: BLOCK_OPS }),
    status: f('enum', 'completion status', { values: BLOCK_STATUS }),
    length: f('u32', 'bytes the device wrote into guest memory (virtio used length; reads: data + status)'),
    intid: f(
      'u32',
      'INTID raised to announce the completion (INTx SPI, MSI LPI, or the event-channel PPI); 0 when the guest suppressed it (event index, or no-interrupt flag)',
    ),
  },
  net_frame: {
    device: f('str', "network device: the PCI function (e.g. 'virtio-net@00:01.0') or the Xen vif (e.g. 'vif-0')"),
    queue: f('u32', 'virtqueue or ring index'),
    direction: f('enum', 'tx: sent by the guest; rx: given to the guest', { values: NET_DIRECTIONS }),
    length: f('u32', 'Ethernet frame length in bytes (without the transport header)'),
    ethertype: f('u32', 'EtherType (0x0800 IPv4, 0x86dd IPv6, 0x0806 ARP…); 0 for a frame shorter than 14 bytes'),
    frame: f('bytes', 'the frame, from the destination MAC on'),
  },
  pci_config: {
    bdf: f('str', "bus:device.function, e.g. '00:02.0'"),
    device: f('str', "the function's device name (e.g. 'virtio-blk@00:02.0', 'pcie-host@00:00.0'); '' when absent"),
    write: f('bool', 'true for a write'),
    offset: f('u32', 'configuration-space offset (0-4095)'),
    size: f('u32', 'access size in bytes (1, 2, 4)'),
    value: f('u64', 'value read or written'),
    register: f('str', "decoded register, e.g. 'COMMAND', 'BAR4', 'CAP_MSIX+2', 'VIRTIO_CAP_COMMON+8'"),
    bar: f('i32', 'BAR index the access concerns (0-5), 6 for the expansion ROM, -1 for none'),
    outcome: f('enum', 'handled, or absent (no function: reads all-ones, writes ignored)', { values: PCI_OUTCOMES }),
  },

  // ---- Xen PV bus: xenstore, grants, xenbus states, backend event channels (docs/xen.md) ----
  xenstore: {
    domid: f('u32', 'domain whose connection carried the message: the domU, or 0 for the emulated backends'),
    xs_op: f('str', 'message type (io/xs_wire.h: READ, WRITE, WATCH_EVENT…), or the ring error that dropped the connection'),
    req_id: f('u32', 'request id, echoed in the reply (0 for watch events)'),
    tx: f('u32', 'transaction id (0 = none)'),
    path: f('str', "absolute path the message names ('' if none)"),
    data: f('bytes', 'value written or read; children, permissions or transaction id; NUL-separated where the wire has several strings'),
    token: f('str', "watch token (WATCH, UNWATCH, WATCH_EVENT; '' otherwise)"),
    result: f('str', "'OK', the errno name of an XS_ERROR reply, or XENSTORE_ERROR_* when the ring was dropped"),
  },
  xen_grant: {
    backend: f('str', 'device whose backend used the grant, named as in block/net events: vbd-51712, vif-0'),
    gref: f('u32', 'grant reference'),
    granter: f('u32', 'domain the grant belongs to'),
    flags: f('u32', 'grant entry flags as read (GTF_permit_access 1, GTF_readonly 4)'),
    gfn: f('u53', 'guest frame the entry names'),
    access: f('enum', 'what the backend needed: to read the page (guest to backend) or to write it', {
      values: ['read', 'write'] as const,
    }),
    gntst: f('i32', 'GNTST_* result: 0 okay, -1 general error (bad flags, domain or read-only), -3 bad gntref'),
  },
  xenbus_state: {
    device: f('str', 'PV device, named as in block/net events: vbd-51712 (blkif virtual-device), vif-0'),
    end: f('enum', 'which end changed state', { values: ['frontend', 'backend'] as const }),
    xb_state: f('u32', 'new state (io/xenbus.h: 1 Initialising, 2 InitWait, 3 Initialised, 4 Connected, 5 Closing, 6 Closed)'),
  },
  xen_evtchn: {
    evtchn: f('u32', "the domU's port"),
    peer: f('str', 'what is at the other end: xenstored, console, vbd-51712, vif-0'),
    dir: f('enum', 'direction of the notification', { values: ['to_backend', 'to_guest'] as const }),
  },
  device_error: {
    device: f('str', "the device that found the error, e.g. 'virtio-blk@00:02.0'"),
    detail: f(
      'str',
      "what the guest did wrong and what the device did, e.g. 'queue 0: buffer at 0x… is outside guest RAM; device needs reset'",
    ),
  },
  msi: {
    device: f('str', "the device that sent the message (a PCI function, e.g. 'virtio-blk@00:02.0')"),
    addr: f('u53', 'message address (the doorbell: GICv2m MSI_SETSPI_NS, GITS_TRANSLATER)'),
    msi_data: f('u32', 'message data'),
    intid: f('u32', 'INTID the controller raised for it (0 when the address is no doorbell: the write went to memory or nowhere)'),
  },

  // ---- GICv3 ITS (Arm IHI 0069H chapter 5): what the ITS did, decoded ----
  its_command: {
    device: f('str', "the ITS region (e.g. 'gicv3-its@8080000')"),
    cmd: f(
      'str',
      "command (Arm IHI 0069H §5.3): MAPD, MAPC, MAPTI, MAPI, INV, INVALL, SYNC, INT, CLEAR, DISCARD, MOVI, MOVALL, or 'unknown 0xNN'",
    ),
    offset: f('u32', 'offset of the command in the queue (GITS_CREADR when the ITS read it)'),
    devid: f('u32', 'DeviceID (MAPD, MAPTI, MAPI, INV, INT, CLEAR, DISCARD, MOVI; 0 otherwise)'),
    eventid: f('u32', 'EventID (MAPTI, MAPI, INV, INT, CLEAR, DISCARD, MOVI; 0 otherwise)'),
    intid: f('u32', 'the LPI: pINTID of MAPTI, the EventID of MAPI, the mapped LPI of INV, INT, CLEAR, DISCARD, MOVI (0 when none)'),
    icid: f('u32', 'collection (MAPC, MAPTI, MAPI, INVALL, MOVI; 0 otherwise)'),
    rdbase: f('u32', 'target redistributor as a processor number (MAPC, SYNC; MOVALL: the source; 0 otherwise)'),
    valid: f('bool', 'V bit of MAPD and MAPC (true for the other commands)'),
    error: f('str', "why the ITS did not carry the command out ('' when it did), e.g. 'DeviceID 8 is not mapped'"),
  },
  its_translate: {
    device: f('str', 'the ITS region whose GITS_TRANSLATER was written'),
    source: f('str', "the function that sent the message (e.g. 'virtio-blk@00:02.0')"),
    devid: f('u32', 'DeviceID (the requester ID through msi-map)'),
    eventid: f('u32', 'EventID (the message data)'),
    intid: f('u32', 'LPI made pending (0 when the message was dropped)'),
    icid: f('u32', 'collection of the translation (0 when none was found)'),
    lpi_config: f(
      'i32',
      "the LPI's configuration byte (priority | enable) as the redistributor holds it since MAPTI, INV or INVALL; -1 when none",
    ),
    table_config: f('i32', "the LPI's byte in the LPI configuration table (GICR_PROPBASER) at this moment; -1 when none or outside RAM"),
    error: f('str', "why the message was dropped ('' when it was not), e.g. 'EventID 3 of DeviceID 8 is not mapped'"),
  },
} as const;

export type EventKind = keyof typeof KIND_FIELDS;
export const EVENT_KINDS = Object.keys(KIND_FIELDS) as EventKind[];

/** Stable numeric code of each kind, used in the store. Never reorder; append only. */
export const KIND_CODE: Readonly<Record<EventKind, number>> = Object.fromEntries(EVENT_KINDS.map((k, i) => [k, i])) as Record<
  EventKind,
  number
>;
export const KIND_BY_CODE: readonly EventKind[] = EVENT_KINDS;

/** Fields every event carries. */
export interface CommonFields {
  /** Global sequence number, 0-based, dense, assigned by the writer when omitted. */
  seq: number;
  /** Virtual time: instruction count (emulator) or nanoseconds (imports); see meta.clock. */
  time: number;
  /** vCPU index, or -1 when the source does not say. */
  vcpu: number;
  /** Guest PC where known. */
  pc?: bigint;
  /** Line (or record) number in the imported source file, for pointing back to it. */
  src_line?: number;
}

export const COMMON_FIELDS: Readonly<Record<keyof CommonFields, FieldSpec>> = {
  seq: { type: 'u53', doc: 'global sequence number (0-based, dense)' },
  time: { type: 'u53', doc: 'virtual time: instructions (emulator) or ns (imports)' },
  vcpu: { type: 'i32', doc: 'vCPU index, -1 if unknown' },
  pc: { type: 'u64', optional: true, doc: 'guest PC where known' },
  src_line: { type: 'u53', optional: true, doc: 'line/record number in the imported file' },
};

type TsOf<S> = S extends { type: 'u64' }
  ? bigint
  : S extends { type: 'u64[]' }
    ? bigint[]
    : S extends { type: 'bool' }
      ? boolean
      : S extends { type: 'bytes' }
        ? Uint8Array
        : S extends { type: 'enum'; values: readonly (infer V)[] }
          ? V
          : S extends { type: 'str' }
            ? string
            : number;

type FieldsOf<K extends EventKind> = { -readonly [F in keyof (typeof KIND_FIELDS)[K]]: TsOf<(typeof KIND_FIELDS)[K][F]> };

/** One event of kind K. */
export type EventOf<K extends EventKind> = CommonFields & { kind: K } & FieldsOf<K>;

/** Any trace event (discriminated on `kind`). */
export type TraceEvent = { [K in EventKind]: EventOf<K> }[EventKind];

/** What producers hand to the writer: seq is assigned by the writer. */
export type NewEvent = { [K in EventKind]: Omit<EventOf<K>, 'seq'> & { seq?: number } }[EventKind];

/**
 * Where producers send events: the store's writer, an emulator's in-memory list, or nothing when
 * recording is off. Defined here, beside the events, so producers and the store share it without
 * the store depending on any producer.
 */
export interface Recorder {
  /** True when events are kept; producers may skip building events when false. */
  readonly enabled: boolean;
  record(ev: NewEvent): void;
}

export type MmioEvent = EventOf<'mmio_read'> | EventOf<'mmio_write'>;
export type MmioOutcome = (typeof MMIO_OUTCOMES)[number];

/** Device roles let analyses line up the same function at different addresses (Xen vs KVM). */
export const DEVICE_ROLES = [
  'uart',
  'gic_dist',
  'gic_cpu',
  'gic_redist',
  'gic_its',
  'rtc',
  'virtio',
  'flash',
  'fw_cfg',
  'gpio',
  'pcie',
  'xen_grant_table',
  'xen_magic',
  'ram',
  'other',
] as const;
export type DeviceRole = (typeof DEVICE_ROLES)[number];

/** One entry of the trace's device region table. */
export interface DeviceRegion {
  /** Unique name used in events' `device` field, e.g. 'pl011@9000000'. */
  name: string;
  /** Device model, e.g. 'pl011', 'sbsa-uart', 'gicv2-dist', 'gicv3-redist', 'virtio-mmio'. */
  model: string;
  role: DeviceRole;
  base: number;
  size: number;
  /** Primary INTID, if the device has one. */
  intid?: number;
  /** DT compatible string(s) the platform described it with, if any. */
  compatible?: string[];
}

/** Kinds of clock a trace's `time` can be counted in. */
export type ClockKind = 'instructions' | 'ns';

export interface ClockInfo {
  kind: ClockKind;
  /** For instruction clocks: the guest's counter frequency (CNTFRQ) and instructions per tick. */
  counterHz?: number;
  /** For instruction clocks: nominal instructions per second used to convert to ns. */
  instructionsPerSecond?: number;
  /** Free text naming the host clock for imports (e.g. 'QEMU log timestamps (UTC)'). */
  source?: string;
}

/** Where a trace came from. */
export interface TraceSource {
  /** 'emulator' or 'import'. */
  type: 'emulator' | 'import' | 'synthetic';
  /** Emulator personality ('kvm', 'xen') or importer format ('qemu-log', 'qemu-simple', 'ftrace'). */
  name: string;
  /** Free-form configuration: machine switches, importer options, original file name. */
  config: Record<string, unknown>;
}

/** Metadata stored with every trace. */
export interface TraceMeta {
  schemaVersion: number;
  toolVersion: string;
  createdAt: string;
  source: TraceSource;
  clock: ClockInfo;
  /** sha256 of each guest image or imported file, by role ('kernel', 'dtb', 'initrd', 'input'). */
  hashes: Record<string, string>;
  /** Anything else a producer wants to keep (unmapped importer events, stop reason…). */
  extra: Record<string, unknown>;
}

/** Convert a trace time to nanoseconds using its clock. */
export function timeToNs(time: number, clock: ClockInfo): number {
  if (clock.kind === 'ns') return time;
  const ips = clock.instructionsPerSecond ?? 1e9;
  return (time * 1e9) / ips;
}

/** A filter on events, shared by the reader, the CLI and SQL push-down. */
export interface EventFilter {
  kinds?: EventKind[];
  devices?: string[];
  registers?: string[];
  vcpus?: number[];
  intids?: number[];
  fromTime?: number;
  toTime?: number; // exclusive
  fromSeq?: number;
  toSeq?: number; // exclusive
}

/** Does an event pass the filter? (Used after chunk-level pruning.) */
export function matchesFilter(e: TraceEvent, flt: EventFilter): boolean {
  if (flt.fromSeq !== undefined && e.seq < flt.fromSeq) return false;
  if (flt.toSeq !== undefined && e.seq >= flt.toSeq) return false;
  if (flt.fromTime !== undefined && e.time < flt.fromTime) return false;
  if (flt.toTime !== undefined && e.time >= flt.toTime) return false;
  if (flt.kinds && !flt.kinds.includes(e.kind)) return false;
  if (flt.vcpus && !flt.vcpus.includes(e.vcpu)) return false;
  if (flt.devices && !flt.devices.includes(deviceOf(e))) return false;
  if (flt.registers && !('register' in e && flt.registers.includes(e.register))) return false;
  if (flt.intids && !('intid' in e && flt.intids.includes(e.intid))) return false;
  return true;
}

/** The device an event concerns, for filtering and summaries ('' if none). */
export function deviceOf(e: TraceEvent): string {
  switch (e.kind) {
    case 'mmio_read':
    case 'mmio_write':
      return e.device;
    case 'irq_line':
      return e.source;
    case 'console':
    case 'input':
      return e.port;
    case 'block_request':
    case 'block_complete':
    case 'net_frame':
    case 'pci_config':
    case 'device_error':
    case 'msi':
      return e.device;
    case 'xenbus_state':
    case 'its_command':
    case 'its_translate':
      return e.device;
    case 'xen_grant':
      return e.backend;
    case 'xen_evtchn':
      return e.peer;
    default:
      return '';
  }
}
