// ARM VM System Specification rules (as the design brief reads the 2014 threads): console,
// GIC, virtual timer, hotpluggable bus, and every MMIO region the guest touches described in the DT.

import { VIRTIO_ID } from '../../arch/regmaps/virtio-pci.ts';
import { VIRTIO_MMIO_REG } from '../../arch/regmaps/virtio-mmio.ts';
import type { DeviceRegion, EventOf, TraceEvent } from '../../capture/model.ts';
import type { Analysis, ReplayContext } from '../analysis.ts';
import { dtDeviceAt, readDt, type DtDevice, type DtInfo } from '../dt-info.ts';
import { vcpuCount } from './psci-smccc.ts';
import type { FindingSink, RuleDef, RuleFamily } from './rule.ts';

const hex = (n: number) => '0x' + n.toString(16);
const SPEC = 'ARM VM System Specification (2014)';
/** virtio-mmio DeviceID of a console (virtio 1.2 §5, Device Types). */
const CONSOLE_ID = BigInt(VIRTIO_ID.CONSOLE);

export const VM_SPEC_RULES = {
  console: {
    id: 'vmspec.console',
    severity: 'error',
    clause: `${SPEC}: "the VM provides a serial console: an emulated PL011, a virtio-console or a Xen PV console"`,
    title: 'no console provided',
    trigger:
      'no UART region, no virtio-console (virtio-mmio DeviceID 3) and no Xen PV console (Xen guest or console events on xen_console_io/hvc0)',
  },
  gic: {
    id: 'vmspec.gic',
    severity: 'error',
    clause: `${SPEC}: "a GICv2 or newer interrupt controller; GICv2 limits the VM to 8 vCPUs"`,
    title: 'no GICv2+ or more than 8 vCPUs on GICv2',
    trigger: 'no GIC distributor region, or a GICv2 machine with more than 8 vCPUs',
  },
  vtimer: {
    id: 'vmspec.vtimer',
    severity: 'warning',
    clause: `${SPEC}: "the architected virtual timer and counter are provided"`,
    title: 'virtual timer not provided or not used',
    trigger:
      'the DT has no arm,armv8-timer/arm,armv7-timer node, or the guest armed another EL1 timer (physical) but never the virtual one',
  },
  hotplugBus: {
    id: 'vmspec.hotplug-bus',
    severity: 'warning',
    clause: `${SPEC}: "a hotpluggable bus for block and network devices (virtual PCIe or the Xen PV bus)"`,
    title: 'no hotpluggable bus',
    trigger: 'neither a PCIe host bridge (region role pcie or a pci-host-ecam-generic DT node) nor a Xen guest (PV bus via /hypervisor)',
  },
  undescribedMmio: {
    id: 'vmspec.undescribed-mmio',
    severity: 'error',
    clause: `${SPEC}: "a complete FDT or ACPI; the guest must not rely on a fixed memory map"`,
    title: 'guest touched an MMIO region the DT does not describe',
    trigger:
      "an MMIO access to an address no DT node's reg covers, nor a PCI host bridge's `ranges` window where the functions' BARs are assigned (without a DTB in the trace: an access the platform resolved as unassigned)",
  },
  describedAbsent: {
    id: 'vmspec.described-absent',
    severity: 'error',
    clause: `${SPEC}: "everything is discoverable from the hardware description" (the description must match the platform)`,
    title: 'DT describes a device where the platform has none',
    trigger: "an MMIO access inside a DT node's reg that the platform resolved as unassigned (no device behind it)",
  },
} as const satisfies Record<string, RuleDef>;

const MAX_KEYS = 16;
/** Undescribed accesses are grouped per 2 MiB block (a stray pointer touches many pages). */
const blockOf = (addr: number) => Math.floor(addr / 0x200000);

class VmSpecRules implements Analysis<void> {
  readonly name = 'rules.vm-spec';
  readonly kinds = ['mmio_read', 'mmio_write', 'console', 'timer'] as const;
  private readonly sink: FindingSink;
  private dt: DtInfo | undefined | null = null;
  private readonly reportedPages = new Set<number>();
  private virtioConsole = false;
  private pvConsole = false;
  private consoleEvent: TraceEvent | undefined;
  private otherTimerEvent: TraceEvent | undefined;

  constructor(sink: FindingSink) {
    this.sink = sink;
  }

  onEvent(e: TraceEvent, ctx: ReplayContext): void {
    if (e.kind === 'console') {
      if (e.port === 'xen_console_io' || e.port === 'hvc0') this.pvConsole = true;
      this.consoleEvent ??= e;
      return;
    }
    if (e.kind === 'timer') {
      if (e.op === 'ctl' && e.value & 1n && e.timer === 'phys') this.otherTimerEvent ??= e;
      return;
    }
    this.mmio(e as EventOf<'mmio_read'> | EventOf<'mmio_write'>, ctx);
  }

  /** DT node covering each 4 KiB page the guest touched (null: none), so the DT is searched once per page. */
  private readonly describedByPage = new Map<number, DtDevice | null>();

  private describedAt(dt: DtInfo, addr: number): DtDevice | undefined {
    const page = Math.floor(addr / 4096);
    let d = this.describedByPage.get(page);
    if (d === undefined) {
      d = dtDeviceAt(dt, addr) ?? null;
      // A node smaller than a page (virtio-mmio: 0x200) must be looked up by address, not page.
      if (d && d.reg.some((g) => g.size < 4096)) return d;
      if (this.describedByPage.size < 65536) this.describedByPage.set(page, d);
    }
    return d ?? undefined;
  }

  private mmio(e: EventOf<'mmio_read'> | EventOf<'mmio_write'>, ctx: ReplayContext): void {
    const r = e.device ? ctx.region(e.device) : undefined;
    if (r !== undefined) {
      if (r.role === 'ram') return;
      if (r.role === 'virtio' && e.kind === 'mmio_read' && e.addr - r.base === VIRTIO_MMIO_REG.DeviceID && e.value === CONSOLE_ID)
        this.virtioConsole = true;
      // Fast path: a handled access to a region whose base the DT describes is fine.
      if (e.outcome === 'handled') {
        if (r === this.lastDescribed) return;
        if (this.describedRegions.size > 0 && this.describedRegions.has(r.name)) {
          this.lastDescribed = r;
          return;
        }
      }
    }
    if (this.dt === null) this.dt = readDt(ctx.blob('dtb'));
    const dt = this.dt && !this.dt.error ? this.dt : undefined;
    const unassigned = e.outcome === 'unassigned' || (!r && e.outcome !== 'handled');
    // Without a DT only unassigned accesses can be findings (and nothing is learnt).
    if (!dt && !unassigned) return;
    const page = blockOf(e.addr);
    if (this.reportedPages.has(page) || this.reportedPages.size >= 4096) return;
    const described = dt ? this.describedAt(dt, e.addr) : undefined;
    if (
      r &&
      described &&
      !unassigned &&
      this.describedRegions.size < 4096 &&
      [...described.reg, ...described.windows].some((g) => g.base <= r.base && g.base + g.size >= r.base + r.size)
    )
      this.describedRegions.add(r.name);
    if (dt && !described) {
      this.sink.report(
        VM_SPEC_RULES.undescribedMmio,
        this.key(page),
        `the guest accessed ${hex(e.addr)}${r ? ` (${r.name})` : ''}, which no DT node describes; a guest must find every device in the DT (describe the device, or fix the guest's hard-coded address).`,
        [e],
      );
      this.reportedPages.add(page);
    } else if (!dt && unassigned) {
      this.sink.report(
        VM_SPEC_RULES.undescribedMmio,
        this.key(page),
        `the guest accessed ${hex(e.addr)}, where the platform has no device (unassigned); the guest relies on an address no hardware description gives it.`,
        [e],
      );
      this.reportedPages.add(page);
    } else if (described && unassigned) {
      this.sink.report(
        VM_SPEC_RULES.describedAbsent,
        described.path,
        `the DT node ${described.path} (${described.compatible.join(', ') || 'no compatible'}) covers ${hex(e.addr)}, but the platform has no device there (access ${e.outcome}); fix the node's reg to the device's real address.`,
        [e],
      );
      this.reportedPages.add(page);
    }
  }

  private key(page: number): string {
    return this.reportedPages.size >= MAX_KEYS ? 'more' : hex(page * 0x200000);
  }

  /** Regions seen handled inside a DT node (their later handled accesses skip the DT lookup). */
  private readonly describedRegions = new Set<string>();
  /** The last region found in describedRegions (which only grows). */
  private lastDescribed: DeviceRegion | undefined;

  finish(ctx: ReplayContext): void {
    const R = VM_SPEC_RULES;
    if (this.dt === null) this.dt = readDt(ctx.blob('dtb'));
    // Absence is only evidence when the trace describes the whole platform: the emulator's region
    // table or a DTB. An import without a DTB lists only the devices its log mentions.
    if (ctx.meta.source.type === 'import' && !this.dt) return;
    const xen = ctx.meta.source.name === 'xen' || ctx.regionsByRole('xen_grant_table').length > 0;
    if (!ctx.regionsByRole('uart').length && !this.virtioConsole && !this.pvConsole && !xen) {
      this.sink.report(
        R.console,
        'console',
        'the platform provides no console: no UART region, no virtio-console and no Xen PV console. Give the VM a PL011 (or SBSA UART) or a virtio-console.',
        this.consoleEvent ? [this.consoleEvent] : [],
      );
    }
    const gic = ctx.state.gic;
    const n = Math.max(vcpuCount(ctx), ctx.state.psci.power.size);
    if (gic.version === 0)
      this.sink.report(R.gic, 'gic', 'the trace has no GIC distributor region; the spec requires a GICv2 or newer.', []);
    else if (gic.version === 2 && n > 8)
      this.sink.report(R.gic, 'gic', `GICv2 with ${n} vCPUs; GICv2 addresses at most 8 CPUs. Use GICv3 or at most 8 vCPUs.`, []);
    if (this.dt === null) this.dt = readDt(ctx.blob('dtb'));
    const dt = this.dt && !this.dt.error ? this.dt : undefined;
    const timerNode = dt?.devices.find((d) => d.compatible.includes('arm,armv8-timer') || d.compatible.includes('arm,armv7-timer'));
    if (dt && !timerNode)
      this.sink.report(
        R.vtimer,
        'dt',
        'the DT has no arm,armv8-timer node, so the guest cannot find the virtual timer interrupt; add a timer node with the secure/non-secure/virtual/hyp PPIs.',
        [],
      );
    else if (this.otherTimerEvent && !ctx.state.timer.used.has('virt')) {
      this.sink.report(
        R.vtimer,
        'usage',
        'the guest armed the EL1 physical timer but never the virtual timer; in a VM the virtual timer is the one the spec guarantees (the physical one may trap or be unavailable).',
        [this.otherTimerEvent],
      );
    }
    const pcie = ctx.regionsByRole('pcie').length > 0 || !!dt?.devices.some((d) => d.compatible.includes('pci-host-ecam-generic'));
    if (!pcie && !xen)
      this.sink.report(
        R.hotplugBus,
        'bus',
        'the platform has no hotpluggable bus (no PCIe host bridge; virtio-mmio is not hotpluggable); block and network devices cannot be added at run time. Provide a virtual PCIe host bridge.',
        [],
      );
  }
}

export const vmSpecFamily: RuleFamily = {
  family: 'vm-spec',
  rules: Object.values(VM_SPEC_RULES),
  create: (sink) => new VmSpecRules(sink),
};
