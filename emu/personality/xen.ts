// The xen personality: what an arm64 domU sees under Xen 4.17, built either by the xl toolstack
// (the default) or by Xen's own dom0less builder. Guest memory map of public/arch-arm.h (GIC at
// 0x03001000, RAM at 0x40000000, grant-table region at 0x38000000, magic pages at 0x39000000,
// optional SBSA vUART at 0x22000000 / SPI 32), the DTB libxl or Xen writes (emu/dt/xen.ts), HVC #0
// answered as vsmc.c/vpsci.c (xen-smccc.ts), HVC #0xEA1 hypercalls (xen-hypercalls.ts) with event
// channels, shared_info and vcpu_info in guest memory (xen-events.ts). An xl domU has the PV
// console ring (xen-console.ts) and the PV bus (xen/); a dom0less domU has neither, but is the
// console domain, so console_io is its console. Any other HVC immediate is UNDEFINED.
// docs/xen.md describes every answer and every deliberate difference.

import type { DeviceRegion } from '../../capture/model.ts';
import { decodeXen, XEN_HYPERCALL_IMM } from '../../arch/hypercalls/xen.ts';
import { buildXenDtb, MAGIC_PAGE, XEN_GUEST, type XenToolstack } from '../dt/xen.ts';
import { GenericTimer, LinearTimeBase, type TimeBase } from '../devices/generic-timer.ts';
import type { GicV2 } from '../devices/gicv2.ts';
import type { GicV3 } from '../devices/gicv3.ts';
import { IrqLine, type DeviceEnv, type InterruptController } from '../devices/irq.ts';
import { SbsaUart } from '../devices/sbsa-uart.ts';
import type { MmioDevice, SysregProvider } from '../types.ts';
import { DEFAULT_COUNTER_HZ } from './kvm.ts';
import { buildGic, region } from './gic.ts';
import { recordHypercall } from './record.ts';
import {
  HYPERCALL,
  type DtbOptions,
  type HypercallCpu,
  type HypercallOutcome,
  type Personality,
  type PlatformControl,
  type RamRegion,
} from './types.ts';
import { XenPvConsole } from './xen-console.ts';
import { XenEvents } from './xen-events.ts';
import { GuestAccess, type GuestPhysMemory } from './xen-guest-memory.ts';
import { HVM_PARAM, HVM_NR_PARAMS, xenHypercall, type XenCpu, type XenDomain } from './xen-hypercalls.ts';
import { xenSmcccCall } from './xen-smccc.ts';
import { InterdomainChannels } from './xen/evtchn.ts';
import { BlkBack, type BlockBacking } from './xen/blkback.ts';
import { GrantTable } from './xen/grant-table.ts';
import { NetBack } from './xen/netback.ts';
import { devicePaths, populateDomain } from './xen/toolstack.ts';
import { XenBus } from './xen/xenbus.ts';
import { xvdVirtualDevice } from '../../arch/hypercalls/xen-io.ts';
import { formatMac, macOf, type NicSpec } from '../net/nic.ts';

/** Xen's default max_grant_frames (libxl 4.17). */
export const XEN_MAX_GRANT_FRAMES = 64;
/** Wallclock at virtual time 0 (the same epoch as the kvm machine's PL031). */
const EPOCH_SECONDS = 1704067200;
/** The domain id the guest is given (the first domU xl creates). */
export const XEN_DOMID = 1;
/**
 * The release the machine models: Xen 4.17 as Debian's pinned xen-hypervisor-4.17-arm64 builds it
 * (XENVER_extraversion ".7", the point release).
 */
export const XEN_EXTRAVERSION = '.7';
/** The domain's name and UUID in xenstore (xl's `name`, a fixed UUID so traces are reproducible). */
export const XEN_DOMAIN_NAME = 'bootscope';
export const XEN_DOMAIN_UUID = '00000000-0000-4000-8000-000000000001';

export interface XenConfig {
  smp: number;
  /** Who built the domain: 'xl' (libxl, the default) or 'dom0less' (Xen's boot-time builder). */
  toolstack?: XenToolstack;
  memBytes: number;
  gic: 2 | 3;
  /** The SBSA vUART: 'sbsa' (xl `vuart = "sbsa_uart"`), or 'none' (default). */
  vuart?: 'sbsa' | 'none';
  /** How the DT describes the vUART: 'sbsa' (libxl) or 'pl011' (a hand-written misdescription). */
  uartDt?: 'sbsa' | 'pl011';
  /** Xen version the guest is told about (default 4.17; 4.18 and later answer SMCCC 1.2). */
  version?: { major: number; minor: number };
  timeBase?: TimeBase;
  onConsole?: (byte: number) => void;
  /** PV disks (xl `disk = [...]`), in order: xvda, xvdb… */
  disks?: XenDisk[];
  /** PV network interfaces (xl `vif = [...]`), in order: vif 0, 1… */
  nics?: NicSpec[];
  /** Virtual time at which the toolstack asks the guest to power off (xl shutdown). */
  shutdownAt?: number;
}

/** A disk image behind a vbd (emu/storage's DiskImage): its blocks and the file `params` names. */
export interface XenDisk extends BlockBacking {
  readonly file: string;
}

/** Default MACs: Xen's OUI (00:16:3e, what xl draws random MACs from) with a fixed tail, so runs repeat. */
export const XEN_DEFAULT_MAC = Uint8Array.of(0x00, 0x16, 0x3e, 0x12, 0x34, 0x56);

/** Xen's vMPIDR affinity (vcpuid_to_vaffinity): Aff0 = id[3:0], Aff1 = id[11:4]. */
export function xenAffinity(vcpu: number): number {
  return ((vcpu >> 4) << 8) | (vcpu & 15);
}

export class XenPersonality implements Personality {
  readonly name = 'xen';
  readonly regions: DeviceRegion[];
  readonly devices: MmioDevice[];
  readonly sysregs: SysregProvider[];
  readonly intc: InterruptController;
  readonly timer: GenericTimer;
  readonly ram: RamRegion[];
  /** Memory outside RAM the guest can use: grant-table frames and the magic pages. */
  readonly extraRam: RamRegion[];
  readonly counterHz: number;
  readonly gicv3: boolean;
  readonly gicDevice: GicV2 | GicV3;
  readonly uart: SbsaUart | undefined;
  readonly events: XenEvents;
  readonly channels: InterdomainChannels;
  /** xenstore, the toolstack's tree and the backends' connection (docs/xen.md "xenstore"); xl only. */
  readonly xenbus: XenBus | undefined;
  readonly toolstack: XenToolstack;
  readonly grants: GrantTable;
  /** The PV backends, in device order: blkback per disk, then netback per NIC. */
  readonly backends: (BlkBack | NetBack)[] = [];
  readonly domain: XenDomain;
  /** When the toolstack writes control/shutdown (Infinity: never, or done). */
  private shutdownAt: number;
  private readonly cfg: XenConfig;
  private readonly env: DeviceEnv;
  private readonly platform: PlatformControl;
  private readonly upcallLines: IrqLine[];
  private phys: GuestPhysMemory | undefined;
  /** The PV console and dom0's end of its channel (typed input notifies through it); xl only. */
  private readonly pvConsole: { ring: XenPvConsole; dom0Port: number } | undefined;

  constructor(cfg: XenConfig, env: DeviceEnv, platform: PlatformControl) {
    validate(cfg);
    this.cfg = cfg;
    this.env = env;
    this.platform = platform;
    this.gicv3 = cfg.gic === 3;
    const timeBase = cfg.timeBase ?? new LinearTimeBase(DEFAULT_COUNTER_HZ);
    this.counterHz = timeBase.frequency;
    this.ram = [{ base: XEN_GUEST.RAM0, size: cfg.memBytes }];
    this.extraRam = [
      { base: XEN_GUEST.GNTTAB, size: XEN_MAX_GRANT_FRAMES * 4096 },
      { base: XEN_GUEST.MAGIC, size: 4 * 4096 },
    ];

    const built = buildGic(
      {
        version: cfg.gic === 3 ? 3 : 2,
        numCpu: cfg.smp,
        distBase: XEN_GUEST.GICD,
        distSize: cfg.gic === 3 ? XEN_GUEST.GICD_SIZE_V3 : XEN_GUEST.GICD_SIZE_V2,
        redistBase: XEN_GUEST.GICR,
        cpuBase: XEN_GUEST.GICC,
        cpuSize: XEN_GUEST.GICC_SIZE,
        affinity: xenAffinity,
        uniprocessorTargets: 'xen',
        registers: 'xen',
        numSpis: xenSpis(cfg),
      },
      env,
    );
    this.gicDevice = built.gic;
    this.intc = built.gic;
    this.sysregs = built.sysregs;
    const devices: MmioDevice[] = built.devices;
    this.timer = new GenericTimer({ numCpu: cfg.smp, irq: this.intc, env, timeBase });
    this.sysregs.push(this.timer);
    if (vuartOf(cfg) === 'sbsa') {
      const pl011 = cfg.uartDt === 'pl011';
      this.uart = new SbsaUart({
        region: region('sbsa-uart', 'uart', XEN_GUEST.VPL011, XEN_GUEST.VPL011_SIZE, {
          intid: XEN_GUEST.VPL011_SPI,
          compatible: pl011 ? ['arm,pl011', 'arm,primecell'] : ['arm,sbsa-uart'],
        }),
        irq: this.intc,
        env,
        ...(cfg.onConsole ? { onTx: cfg.onConsole } : {}),
      });
      devices.push(this.uart);
    }
    devices.sort((a, b) => a.region.base - b.region.base);
    this.devices = devices;
    this.regions = devices.map((d) => d.region);

    this.upcallLines = Array.from(
      { length: cfg.smp },
      (_, i) => new IrqLine(this.intc, XEN_GUEST.EVTCHN_PPI, 'xen-evtchn', env, { trigger: 'edge', vcpu: i }),
    );
    const access = new GuestAccess(this.physProxy());
    this.events = new XenEvents({
      canBack: (gfn) => this.canBack(gfn),
      numCpu: cfg.smp,
      access,
      epochSeconds: EPOCH_SECONDS,
      upcall: (v) => this.upcallLines[v]?.inject(),
    });
    this.channels = new InterdomainChannels(this.events, XEN_DOMID, env);
    this.toolstack = cfg.toolstack ?? 'xl';
    const onConsole = cfg.onConsole ?? (() => {});
    // Xen's own dom0less builder sets no HVM parameter for a domU without xenstore (not even the
    // callback IRQ, which only libxl writes: Linux takes the PPI from the DT); xl's are set below.
    const params = new Array<bigint>(HVM_NR_PARAMS).fill(0n);
    if (this.toolstack === 'xl') {
      const pv = this.buildPvBus(cfg, access, params, onConsole);
      this.xenbus = pv.xenbus;
      this.pvConsole = pv.console;
    } else {
      this.xenbus = undefined;
      this.pvConsole = undefined;
    }
    this.shutdownAt = cfg.shutdownAt ?? Infinity;
    const v = cfg.version ?? { major: 4, minor: 17 };
    const self = this;
    this.domain = {
      numCpu: cfg.smp,
      domid: XEN_DOMID,
      version: { ...v, extra: XEN_EXTRAVERSION },
      access,
      events: this.events,
      platform,
      env,
      params,
      grant: { nrFrames: 1, maxFrames: XEN_MAX_GRANT_FRAMES, gfn: [], version: 1 },
      canBack: (gfn) => self.canBack(gfn),
      // xsm_console_io: only the console domain may use console_io; Xen's dom0less builder makes
      // every domU it creates one, xl does not (a CONFIG_VERBOSE_DEBUG build would let it write).
      isConsoleDomain: this.toolstack === 'dom0less',
      hasDom0: this.toolstack === 'xl',
      consoleIo: (bytes, vcpu) => {
        for (const b of bytes) onConsole(b);
        const r = env.recorder;
        if (r.enabled) r.record({ kind: 'console', time: env.now(), vcpu, port: 'xen_console_io', bytes });
      },
      channels: this.channels,
      runstate: new Array<bigint>(cfg.smp).fill(0n),
      vm_assist: 0,
      nowNs: () => env.now(),
    };
    this.grants = new GrantTable(this.domain, access, env, XEN_DOMID);
    if (this.xenbus) this.startBackends(cfg, this.xenbus);
  }

  /**
   * What xl sets up around the domain before it runs: the xenstore and console channels (unbound
   * for dom0 until xenstored and xenconsoled bind them), the console ring, the HVM parameters
   * naming both, and the xenstore tree libxl writes (xen/toolstack.ts).
   */
  private buildPvBus(
    cfg: XenConfig,
    access: GuestAccess,
    params: bigint[],
    onConsole: (byte: number) => void,
  ): { xenbus: XenBus; console: { ring: XenPvConsole; dom0Port: number } } {
    const env = this.env;
    const consolePa = XEN_GUEST.MAGIC + MAGIC_PAGE.CONSOLE * 4096;
    const storePa = XEN_GUEST.MAGIC + MAGIC_PAGE.XENSTORE * 4096;
    const ring = new XenPvConsole(consolePa, access, env, onConsole);
    // libxl__build_pre: the xenstore channel, then the console's.
    const storePort = this.channels.allocForDom0();
    const consolePort = this.channels.allocForDom0();
    const channels = this.channels;
    let storeDom0 = -1;
    const xenbus: XenBus = new XenBus({
      domid: XEN_DOMID,
      env,
      page: () => access.physView(storePa, 4096),
      notifyGuest: () => channels.notifyGuest(storeDom0, xenbus.vcpu),
    });
    storeDom0 = channels.bind(storePort, { name: 'xenstored', onNotify: (vcpu) => xenbus.guestNotified(vcpu) });
    const consoleDom0: number = channels.bind(consolePort, {
      name: 'console',
      onNotify: (vcpu) => {
        // xenconsoled: take the bytes, then notify the guest back
        ring.drain(vcpu);
        channels.notifyGuest(consoleDom0, vcpu);
      },
    });
    params[HVM_PARAM.CALLBACK_IRQ] = (2n << 56n) | (2n << 8n) | BigInt(XEN_GUEST.EVTCHN_PPI);
    params[HVM_PARAM.CONSOLE_PFN] = BigInt(consolePa / 4096);
    params[HVM_PARAM.CONSOLE_EVTCHN] = BigInt(consolePort);
    params[HVM_PARAM.STORE_PFN] = BigInt(storePa / 4096);
    params[HVM_PARAM.STORE_EVTCHN] = BigInt(storePort);
    const disks = (cfg.disks ?? []).map((d, i) => ({
      vdev: `xvd${String.fromCharCode(97 + i)}`,
      devid: xvdVirtualDevice(i),
      target: d.file,
      readonly: d.readOnly,
    }));
    const nics = (cfg.nics ?? []).map((n, i) => ({ devid: i, mac: formatMac(macOf(n, i, XEN_DEFAULT_MAC)) }));
    populateDomain(xenbus, {
      domid: XEN_DOMID,
      name: XEN_DOMAIN_NAME,
      uuid: XEN_DOMAIN_UUID,
      memKb: cfg.memBytes / 1024,
      vcpus: cfg.smp,
      storePort,
      storeGfn: storePa / 4096,
      consolePort,
      consoleGfn: consolePa / 4096,
      disks,
      nics,
    });
    return { xenbus, console: { ring, dom0Port: consoleDom0 } };
  }

  /** Backends for the configured devices, probed (InitWait) before the guest's first instruction. */
  private startBackends(cfg: XenConfig, bus: XenBus): void {
    const ctx = { bus, channels: this.channels, grants: this.grants, env: this.env, domid: XEN_DOMID };
    (cfg.disks ?? []).forEach((d, i) => {
      const devid = xvdVirtualDevice(i);
      this.backends.push(new BlkBack(ctx, devid, d, devicePaths(XEN_DOMID, 'vbd', devid)));
    });
    (cfg.nics ?? []).forEach((n, i) =>
      this.backends.push(new NetBack(ctx, i, formatMac(macOf(n, i, XEN_DEFAULT_MAC)), devicePaths(XEN_DOMID, 'vif', i))),
    );
    for (const b of this.backends) b.start();
  }

  /** The PV devices at the end of the run, and the PV bus's traffic (trace extra: pvDevices, pvBus). */
  runSummary(): Record<string, unknown> {
    const bus = this.xenbus;
    if (!bus) return {};
    const pvDevices = this.backends.map((b) => {
      const common = {
        device: b.name,
        frontend: b.frontend,
        backend: b.backend,
        frontendStates: bus.statesOf(b.name, 'frontend'),
        backendStates: bus.statesOf(b.name, 'backend'),
      };
      return b instanceof BlkBack
        ? {
            ...common,
            vdev: `xvd${String.fromCharCode(97 + ((b.devid >> 4) & 15))}`,
            sectors: b.disk.sectors,
            readOnly: b.disk.readOnly,
            requests: b.stats.requests,
            errors: b.stats.errors,
          }
        : { ...common, mac: b.mac, framesSent: b.stats.frames, errors: b.stats.errors };
    });
    return {
      pvDevices,
      pvBus: { xenstoreRequests: bus.stats.requests, watchEvents: bus.stats.watchEvents, notifications: this.channels.counts },
    };
  }

  /** The machine hands over guest-physical memory once its bus exists. */
  attachMemory(phys: GuestPhysMemory): void {
    this.phys = phys;
  }

  private physProxy(): GuestPhysMemory {
    const self = this;
    const none = new Uint8Array(0);
    return {
      get mem() {
        return self.phys?.mem ?? none;
      },
      memOffset: (pa) => self.phys?.memOffset(pa) ?? -1,
    };
  }

  private canBack(gfn: number): boolean {
    const pa = gfn * 4096;
    return [...this.ram, ...this.extraRam].some((r) => pa >= r.base && pa + 4096 <= r.base + r.size);
  }

  mpidr(vcpu: number): bigint {
    return 0x80000000n | BigInt(xenAffinity(vcpu));
  }

  pushInput(bytes: Uint8Array): void {
    if (this.uart) {
      this.uart.pushInput(bytes);
      return;
    }
    const r = this.env.recorder;
    if (!this.pvConsole) {
      // A dom0less domU without a vUART has no console input (Xen sends the serial line's input
      // to dom0, to Xen itself or to a domain's vpl011): the bytes are recorded and dropped.
      if (r.enabled && bytes.length)
        r.record({ kind: 'input', time: this.env.now(), vcpu: -1, port: 'xen_console_io', bytes: bytes.slice() });
      return;
    }
    if (r.enabled && bytes.length) r.record({ kind: 'input', time: this.env.now(), vcpu: -1, port: 'hvc0', bytes: bytes.slice() });
    if (this.pvConsole.ring.feed(bytes) > 0) this.channels.notifyGuest(this.pvConsole.dom0Port);
  }

  buildDtb(opts: DtbOptions = {}): Uint8Array {
    const vuart = vuartOf(this.cfg) === 'sbsa' ? (this.cfg.uartDt ?? 'sbsa') : 'none';
    return buildXenDtb({
      toolstack: this.toolstack,
      smp: this.cfg.smp,
      memSize: this.cfg.memBytes,
      gic: this.cfg.gic,
      vuart,
      affinity: xenAffinity,
      ...(this.cfg.version ? { version: this.cfg.version } : {}),
      ...(opts.bootargs !== undefined ? { bootargs: opts.bootargs } : {}),
      ...(opts.initrd ? { initrd: opts.initrd } : {}),
    });
  }

  nextDeadline(): number {
    return Math.min(this.timer.nextDeadline(), this.shutdownAt);
  }

  tick(now: number): void {
    this.timer.tick(now);
    if (now >= this.shutdownAt) {
      this.shutdownAt = Infinity;
      // xl shutdown: the toolstack writes the request; the guest's watch on control/shutdown fires.
      const bus = this.xenbus;
      bus?.fromDom0(() => bus.dom0.write(`/local/domain/${XEN_DOMID}/control/shutdown`, 'poweroff'));
    }
  }

  call(cpu: HypercallCpu, conduit: 'hvc' | 'smc', imm: number): HypercallOutcome {
    return this.handleHypercall(cpu, conduit, imm);
  }

  handleHypercall(cpu: HypercallCpu, conduit: 'hvc' | 'smc', imm: number): HypercallOutcome {
    const xcpu = cpu as XenCpu;
    if (conduit === 'hvc' && imm === XEN_HYPERCALL_IMM) return this.xenCall(xcpu);
    if (imm !== 0) {
      // Not an SMCCC call and not the Xen tag: Xen injects UNDEFINED.
      this.record(cpu, conduit, imm, 0, '', '', [], []);
      return HYPERCALL.UNDEFINED;
    }
    const fid = Number(cpu.getX(0) & 0xffffffffn);
    const v = this.cfg.version ?? { major: 4, minor: 17 };
    const out = xenSmcccCall(
      fid,
      {
        vcpu: cpu.id,
        arg: (n) => cpu.getX(n),
        platform: this.platform,
        affinity: (c) => BigInt(xenAffinity(c)),
        vcpuOf: (aff) => Number(aff & 0xffn) | (Number((aff >> 8n) & 0xffn) << 4),
        eventPending: (c) => this.events.upcallPending(c),
      },
      { smcccMinor: v.major > 4 || (v.major === 4 && v.minor >= 18) ? 2 : 1 },
    );
    out.results.forEach((r, i) => cpu.setX(i, r));
    this.record(cpu, conduit, imm, fid, out.name, '', out.args, out.results);
    return out.outcome;
  }

  private xenCall(cpu: XenCpu): HypercallOutcome {
    const nr = Number(cpu.getX(16) & 0xffffffffn);
    const r = xenHypercall(this.domain, nr, cpu);
    const x0 = BigInt.asUintN(64, r.ret);
    cpu.setX(0, x0);
    const names = decodeXen(nr, r.subop);
    this.record(cpu, 'hvc', XEN_HYPERCALL_IMM, nr, names.name, names.subop || (r.subop !== undefined ? String(r.subop) : ''), r.args, [x0]);
    return r.outcome;
  }

  private record(
    cpu: HypercallCpu,
    conduit: 'hvc' | 'smc',
    imm: number,
    func: number,
    name: string,
    subop: string,
    args: bigint[],
    results: bigint[],
  ): void {
    recordHypercall(this.env, cpu, { conduit, imm, func, name, subop, args, results });
  }
}

function validate(cfg: XenConfig): void {
  if (!Number.isInteger(cfg.smp) || cfg.smp < 1) throw new RangeError(`--smp must be a positive integer, got ${cfg.smp}`);
  if (cfg.gic !== 2 && cfg.gic !== 3) throw new RangeError(`--gic must be 2 or 3, got ${String(cfg.gic)}`);
  if (cfg.gic === 2 && cfg.smp > 8) throw new RangeError(`GICv2 supports at most 8 vCPUs (got --smp ${cfg.smp}); use --gic 3`);
  if (cfg.smp > 128) throw new RangeError(`Xen supports at most 128 vCPUs per guest (GUEST_MAX_VCPUS; got --smp ${cfg.smp})`);
  if (!Number.isInteger(cfg.memBytes) || cfg.memBytes < 0x100000 || cfg.memBytes % 4096 !== 0) {
    throw new RangeError(`memory size must be a multiple of 4 KiB and at least 1 MiB, got ${cfg.memBytes}`);
  }
  if (cfg.memBytes > XEN_GUEST.RAM0_SIZE) throw new RangeError(`memory size ${cfg.memBytes} exceeds Xen's 3 GiB GUEST_RAM0 bank`);
  if (cfg.uartDt !== undefined && cfg.vuart === 'none')
    throw new RangeError(`--uart-dt ${cfg.uartDt} describes the vUART, which --no-vuart removes`);
  if (cfg.toolstack !== undefined && cfg.toolstack !== 'xl' && cfg.toolstack !== 'dom0less')
    throw new RangeError(`--xen-toolstack must be xl or dom0less, not '${String(cfg.toolstack)}'`);
  if (cfg.toolstack === 'dom0less') {
    // These need xenstore, which a dom0less domU without dom0 does not have.
    if (cfg.disks?.length) throw new RangeError('--disk needs the xl toolstack: a dom0less domU has no xenstore, so no PV disk');
    if (cfg.nics?.length) throw new RangeError('--nic needs the xl toolstack: a dom0less domU has no xenstore, so no PV network');
    if (cfg.shutdownAt !== undefined)
      throw new RangeError('--shutdown-after needs the xl toolstack (it writes control/shutdown in xenstore)');
  }
}

/**
 * The SPIs the domain's vGIC has (Xen rounds the request up to 32). xl asks for as many as the
 * highest SPI a device of the domain uses: the vpl011's SPI 32, else none. Xen's dom0less builder
 * gives a domU the host GIC's SPIs: QEMU virt's GICv3 reports 256 lines (224 SPIs), its GICv2
 * 288 (256 SPIs).
 */
export function xenSpis(cfg: Pick<XenConfig, 'toolstack' | 'gic' | 'vuart' | 'uartDt'>): number {
  if (cfg.toolstack === 'dom0less') return cfg.gic === 3 ? 224 : 256;
  return vuartOf(cfg) === 'sbsa' ? 32 : 0;
}

/** The vUART is there with --vuart sbsa, or when --uart-dt asks how to describe it. */
function vuartOf(cfg: Pick<XenConfig, 'vuart' | 'uartDt'>): 'sbsa' | 'none' {
  return cfg.vuart ?? (cfg.uartDt !== undefined ? 'sbsa' : 'none');
}
