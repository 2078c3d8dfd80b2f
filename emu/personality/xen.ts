// The xen personality: what an arm64 domU sees under Xen 4.17 with the xl toolstack. Guest
// memory map of public/arch-arm.h (GIC at 0x03001000, RAM at 0x40000000, grant-table region at
// 0x38000000, magic pages at 0x39000000, optional SBSA vUART at 0x22000000 / SPI 32), the DTB
// libxl writes (emu/dt/xen.ts), HVC #0 answered as vsmc.c/vpsci.c (xen-smccc.ts), HVC #0xEA1
// hypercalls (xen-hypercalls.ts) with event channels, shared_info and vcpu_info in guest memory
// (xen-events.ts) and the PV console ring (xen-console.ts). Any other HVC immediate is
// UNDEFINED. docs/xen.md describes every answer and every deliberate difference.

import type { DeviceRegion } from '../../capture/model.ts';
import { decodeXen, XEN_HYPERCALL_IMM } from '../../arch/hypercalls/xen.ts';
import { buildXenDtb, MAGIC_PAGE, XEN_GUEST } from '../dt/xen.ts';
import { GenericTimer, LinearTimeBase, type TimeBase } from '../devices/generic-timer.ts';
import type { GicV2 } from '../devices/gicv2.ts';
import type { GicV3 } from '../devices/gicv3.ts';
import { IrqLine, type DeviceEnv, type InterruptController } from '../devices/irq.ts';
import { SbsaUart } from '../devices/sbsa-uart.ts';
import type { MmioDevice, SysregProvider } from '../types.ts';
import { DEFAULT_COUNTER_HZ } from './kvm.ts';
import { buildGic, region } from './gic.ts';
import { recordHypercall } from './record.ts';
import { HYPERCALL, type DtbOptions, type HypercallCpu, type HypercallOutcome, type Personality, type PlatformControl, type RamRegion } from './types.ts';
import { XenPvConsole } from './xen-console.ts';
import { XenEvents } from './xen-events.ts';
import { GuestAccess, type GuestPhysMemory } from './xen-guest-memory.ts';
import { HVM_PARAM, HVM_NR_PARAMS, xenHypercall, type XenCpu, type XenDomain } from './xen-hypercalls.ts';
import { xenSmcccCall } from './xen-smccc.ts';

/** Xen's default max_grant_frames (libxl 4.17). */
export const XEN_MAX_GRANT_FRAMES = 64;
/** Wallclock at virtual time 0 (the same epoch as the kvm machine's PL031). */
const EPOCH_SECONDS = 1704067200;
/** The domain id the guest is given (the first domU xl creates). */
export const XEN_DOMID = 1;

export interface XenConfig {
  smp: number;
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
}

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
  readonly domain: XenDomain;
  private readonly cfg: XenConfig;
  private readonly env: DeviceEnv;
  private readonly platform: PlatformControl;
  private readonly upcallLines: IrqLine[];
  private phys: GuestPhysMemory | undefined;

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

    this.upcallLines = Array.from({ length: cfg.smp }, (_, i) => new IrqLine(this.intc, XEN_GUEST.EVTCHN_PPI, 'xen-evtchn', env, { trigger: 'edge', vcpu: i }));
    const access = new GuestAccess(this.physProxy());
    this.events = new XenEvents({ numCpu: cfg.smp, access, epochSeconds: EPOCH_SECONDS, upcall: (v) => this.upcallLines[v]?.inject() });
    const consolePa = XEN_GUEST.MAGIC + MAGIC_PAGE.CONSOLE * 4096;
    const onConsole = cfg.onConsole ?? (() => {});
    const params = new Array<bigint>(HVM_NR_PARAMS).fill(0n);
    // The toolstack's console channel: unbound, its remote end in dom0 (xenconsoled).
    const consolePort = this.events.allocPort({ kind: 'unbound', vcpu: 0, remote: 0 });
    params[HVM_PARAM.CALLBACK_IRQ] = (2n << 56n) | (2n << 8n) | BigInt(XEN_GUEST.EVTCHN_PPI);
    params[HVM_PARAM.CONSOLE_PFN] = BigInt(consolePa / 4096);
    params[HVM_PARAM.CONSOLE_EVTCHN] = BigInt(consolePort);
    // No xenstore: STORE_PFN / STORE_EVTCHN stay 0, as for a domain built without one.
    const v = cfg.version ?? { major: 4, minor: 17 };
    const self = this;
    this.domain = {
      numCpu: cfg.smp,
      domid: XEN_DOMID,
      version: { ...v, extra: '.0' },
      access,
      events: this.events,
      console: new XenPvConsole(consolePa, access, env, onConsole),
      platform,
      env,
      params,
      grant: { nrFrames: 1, maxFrames: XEN_MAX_GRANT_FRAMES, gfn: [], version: 1 },
      canBack: (gfn) => self.canBack(gfn),
      consoleIo: (bytes, vcpu) => {
        for (const b of bytes) onConsole(b);
        const r = env.recorder;
        if (r.enabled) r.record({ kind: 'console', time: env.now(), vcpu, port: 'xen_console_io', bytes });
      },
      consolePort,
      runstate: new Array<bigint>(cfg.smp).fill(0n),
      vm_assist: 0,
      nowNs: () => env.now(),
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
    if (r.enabled && bytes.length) r.record({ kind: 'input', time: this.env.now(), vcpu: -1, port: 'hvc0', bytes: bytes.slice() });
    if (this.domain.console.feed(bytes) > 0) this.events.setPending(this.domain.consolePort);
  }

  buildDtb(opts: DtbOptions = {}): Uint8Array {
    const vuart = vuartOf(this.cfg) === 'sbsa' ? (this.cfg.uartDt ?? 'sbsa') : 'none';
    return buildXenDtb({
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
    return this.timer.nextDeadline();
  }

  tick(now: number): void {
    this.timer.tick(now);
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

  private record(cpu: HypercallCpu, conduit: 'hvc' | 'smc', imm: number, func: number, name: string, subop: string, args: bigint[], results: bigint[]): void {
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
  if (cfg.uartDt !== undefined && cfg.vuart === 'none') throw new RangeError(`--uart-dt ${cfg.uartDt} describes the vUART, which --no-vuart removes`);
}

/** The vUART is there with --vuart sbsa, or when --uart-dt asks how to describe it. */
function vuartOf(cfg: XenConfig): 'sbsa' | 'none' {
  return cfg.vuart ?? (cfg.uartDt !== undefined ? 'sbsa' : 'none');
}
