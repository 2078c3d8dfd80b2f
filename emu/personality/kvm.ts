// The kvm personality: what a guest sees in QEMU's virt machine under KVM (hw/arm/virt.c memory
// and interrupt map, the DTB of emu/dt/virt.ts, PSCI 1.1 and SMCCC 1.1 answered as Linux 6.1's
// KVM answers them). Devices: GICv2 or GICv3, PL011 (SPI 1 → INTID 33), PL031 (SPI 2 → 34),
// 32 empty virtio-mmio transports (SPI 16+i → 48+i), EL1 generic timers (PPI 30 / 27).

import type { DeviceRegion } from '../../capture/model.ts';
import { buildVirtDtb, VIRT } from '../dt/virt.ts';
import { GenericTimer, LinearTimeBase, type TimeBase } from '../devices/generic-timer.ts';
import type { GicV2 } from '../devices/gicv2.ts';
import type { GicV3 } from '../devices/gicv3.ts';
import type { DeviceEnv, InterruptController } from '../devices/irq.ts';
import { CfiFlash, FLASH_BANK_SIZE, FLASH_BASE } from '../devices/cfi-flash.ts';
import { Pflash } from '../devices/pflash.ts';
import { FwCfg, type FwCfgContent } from '../devices/fw-cfg.ts';
import { Pl011 } from '../devices/pl011.ts';
import { DEFAULT_RTC_EPOCH, Pl031 } from '../devices/pl031.ts';
import { Pl061 } from '../devices/pl061.ts';
import { VirtioMmio } from '../devices/virtio-mmio.ts';
import type { MmioDevice, SysregProvider } from '../types.ts';
import { intxSpi, PciHost } from '../devices/pci-host.ts';
import { VirtioPci } from '../devices/virtio-pci.ts';
import { VirtioBlk } from '../devices/virtio-blk.ts';
import { VirtioNet } from '../devices/virtio-net.ts';
import { VirtioConsole } from '../devices/virtio-console.ts';
import type { VirtioBackend } from '../devices/virtio-pci.ts';
import { GicV2m, GICV2M } from '../devices/gicv2m.ts';
import { GicV3Its } from '../devices/gicv3-its.ts';
import { GITS } from '../../arch/regmaps/gicv3.ts';
import type { GuestMemory } from '../devices/virtqueue.ts';
import type { DiskImage } from '../storage/disk.ts';
import { macOf, type NicSpec } from '../net/nic.ts';
import { KVM_SMCCC_DEFAULTS, kvmSmcccCall, type KvmSmcccOptions } from './kvm-smccc.ts';
import { buildGic, REDIST_STRIDE, region } from './gic.ts';
import { recordHypercall } from './record.ts';
import {
  HYPERCALL,
  type DtbOptions,
  type HypercallCpu,
  type HypercallOutcome,
  type Personality,
  type CpuHooks,
  type PlatformControl,
  type RamRegion,
} from './types.ts';

/** QEMU 7.2's generic timer frequency for Cortex-A57 (GTIMER_SCALE = 16 ns). */
export const DEFAULT_COUNTER_HZ = 62_500_000;
const GiB = 0x40000000;

export interface KvmConfig {
  smp: number;
  /** Guest RAM in bytes at 0x40000000 (QEMU's default is 128 MiB). */
  memBytes: number;
  gic: 2 | 3;
  /** Counter frequency and how it follows the instruction count (default 62.5 MHz, 1 count per instruction). */
  timeBase?: TimeBase;
  /** RTC seconds since 1970 at virtual time 0. */
  rtcEpoch?: number;
  /** virtio-mmio Version register: 1 (QEMU's legacy default) or 2. */
  virtioVersion?: 1 | 2;
  /** PL011 identification bytes (QEMU's by default). */
  pl011Id?: readonly number[];
  cpuCompatible?: string;
  /** Where console bytes go as the guest writes them (stdout in the CLI). */
  onConsole?: (byte: number) => void;
  /** Size the DTB is padded to (default 1 MiB, as QEMU's virt machine loads it; 0 for none). */
  dtbPadTo?: number;
  /** KVM answers that depend on the host (see docs/emulator-platform.md). */
  smccc?: Partial<KvmSmcccOptions>;
  /**
   * Seed of the entropy the SMCCC TRNG hands out (KVM gives host randomness). Part of the run's
   * configuration, so a replay hands out the same bytes; each call's bits are in its hypercall
   * event's results.
   */
  entropySeed?: bigint;
  /** Disk images: one virtio-blk-pci function each. */
  disks?: DiskImage[];
  /** Network interfaces: one virtio-net-pci function each. */
  nics?: NicSpec[];
  /** 'virtio': a virtio-console-pci function (hvc0) besides the PL011. */
  console?: 'uart' | 'virtio';
  /** GICv3: an ITS for MSIs (QEMU virt's default its=on; default true). false: INTx only. */
  its?: boolean;
  /**
   * --bios: the firmware in flash bank 0 (run from the reset vector), the variable store in bank 1
   * (zero-filled as QEMU leaves an unbacked bank, or the --efi-vars contents), and fw_cfg.
   */
  firmware?: KvmFirmware;
}

export interface KvmFirmware {
  /** Bank 0's contents (at most 64 MiB; the rest of the bank reads as zeros, as in QEMU). */
  bios: Uint8Array;
  /** Bank 1's contents (the UEFI variable store), or undefined for an empty store. */
  vars?: Uint8Array;
  fwCfg: FwCfgContent;
}

/** MPIDR affinity QEMU virt gives vCPU i: clusters of 16 (GICv3) or 8 (GICv2) in Aff0. */
export function virtAffinity(i: number, gic: 2 | 3): number {
  const cluster = gic === 3 ? 16 : 8;
  return (Math.floor(i / cluster) << 8) | (i % cluster);
}

export class KvmPersonality implements Personality {
  readonly name = 'kvm';
  readonly regions: DeviceRegion[];
  readonly devices: MmioDevice[];
  readonly sysregs: SysregProvider[];
  readonly intc: InterruptController;
  readonly timer: GenericTimer;
  readonly ram: RamRegion[];
  readonly counterHz: number;
  readonly gicv3: boolean;
  readonly uart: Pl011;
  readonly rtc: Pl031;
  readonly gpio: Pl061;
  readonly extraRam: RamRegion[];
  readonly gicDevice: GicV2 | GicV3;
  /** --bios: the two flash banks and fw_cfg. */
  readonly flash?: [Pflash, Pflash];
  readonly fwCfg?: FwCfg;
  private readonly cfg: KvmConfig;
  private readonly env: DeviceEnv;
  private readonly platform: PlatformControl;
  private readonly smcccOpts: KvmSmcccOptions;
  private readonly timeBase: TimeBase;
  private readonly entropy: SplitMix64;
  readonly pci: PciHost;
  /** Guest RAM for the PCI devices' DMA (the bus hands it over in attachMemory). */
  private phys: { mem: Uint8Array; memOffset(pa: number): number } = { mem: new Uint8Array(0), memOffset: () => -1 };

  constructor(cfg: KvmConfig, env: DeviceEnv, platform: PlatformControl) {
    validate(cfg);
    this.cfg = cfg;
    this.env = env;
    this.platform = platform;
    this.smcccOpts = { ...KVM_SMCCC_DEFAULTS, ...cfg.smccc };
    this.gicv3 = cfg.gic === 3;
    const its = this.gicv3 && (cfg.its ?? true);
    const timeBase = cfg.timeBase ?? new LinearTimeBase(DEFAULT_COUNTER_HZ);
    this.timeBase = timeBase;
    this.counterHz = timeBase.frequency;
    this.ram = [{ base: VIRT.MEM, size: cfg.memBytes }];
    // QEMU's stolen-time records: plain memory the guest reads, one 64-byte record per vCPU.
    this.extraRam = this.smcccOpts.stealTime ? [{ base: VIRT.PVTIME, size: VIRT.PVTIME_SIZE }] : [];
    this.entropy = new SplitMix64(cfg.entropySeed ?? DEFAULT_ENTROPY_SEED);

    const regions: DeviceRegion[] = [];
    const built = buildGic(
      {
        version: cfg.gic,
        numCpu: cfg.smp,
        distBase: VIRT.GIC_DIST,
        distSize: 0x10000,
        redistBase: VIRT.GIC_REDIST,
        cpuBase: VIRT.GIC_CPU,
        cpuSize: 0x10000,
        affinity: (c) => virtAffinity(c, 3),
        uniprocessorTargets: 'kvm',
        lpis: its,
        v3Ids: 'kvm',
      },
      env,
    );
    this.gicDevice = built.gic;
    this.intc = built.gic;
    this.sysregs = built.sysregs;
    const devices: MmioDevice[] = built.devices;
    this.timer = new GenericTimer({ numCpu: cfg.smp, irq: this.intc, env, timeBase });
    this.sysregs.push(this.timer);

    this.uart = new Pl011({
      region: region('pl011', 'uart', VIRT.UART, 0x1000, { intid: 32 + VIRT.UART_SPI, compatible: ['arm,pl011', 'arm,primecell'] }),
      irq: this.intc,
      env,
      ...(cfg.pl011Id ? { id: cfg.pl011Id } : {}),
      ...(cfg.onConsole ? { onTx: cfg.onConsole } : {}),
    });
    this.rtc = new Pl031({
      region: region('pl031', 'rtc', VIRT.RTC, 0x1000, { intid: 32 + VIRT.RTC_SPI, compatible: ['arm,pl031', 'arm,primecell'] }),
      irq: this.intc,
      env,
      timeBase,
      ...(cfg.rtcEpoch !== undefined ? { epochSeconds: cfg.rtcEpoch } : {}),
    });
    this.gpio = new Pl061({
      region: region('pl061', 'gpio', VIRT.GPIO, 0x1000, { intid: 32 + VIRT.GPIO_SPI, compatible: ['arm,pl061', 'arm,primecell'] }),
      irq: this.intc,
      env,
      timeBase,
    });
    devices.push(this.uart, this.rtc, this.gpio);
    if (cfg.firmware) {
      // Each bank's contents are a ROM window of the bus while in read-array mode (pflash.ts).
      const bank = (i: number, data?: Uint8Array): Pflash =>
        new Pflash({
          region: region('cfi-flash', 'flash', FLASH_BASE + i * FLASH_BANK_SIZE, FLASH_BANK_SIZE, { compatible: ['cfi-flash'] }),
          ...(data ? { storage: data } : {}),
        });
      this.flash = [bank(0, cfg.firmware.bios), bank(1, cfg.firmware.vars)];
      this.extraRam.push(...this.flash.map((f) => ({ base: f.region.base, size: FLASH_BANK_SIZE, rom: f })));
      this.fwCfg = new FwCfg({
        region: region('fw-cfg', 'fw_cfg', VIRT.FW_CFG, VIRT.FW_CFG_SIZE, { compatible: ['qemu,fw-cfg-mmio'] }),
        content: cfg.firmware.fwCfg,
        memory: this.guestMemory(),
      });
      devices.push(...this.flash, this.fwCfg);
    } else {
      // QEMU virt's two flash banks (read as erased; no DT node, as before): U-Boot reads its
      // environment there (docs/real-guests.md).
      devices.push(new CfiFlash(region('cfi-flash', 'flash', FLASH_BASE, 2 * FLASH_BANK_SIZE, { compatible: ['cfi-flash'] })));
    }
    for (let i = 0; i < 32; i++) {
      const base = VIRT.VIRTIO + i * VIRT.VIRTIO_SIZE;
      devices.push(
        new VirtioMmio({
          region: region('virtio-mmio', 'virtio', base, VIRT.VIRTIO_SIZE, { intid: 32 + VIRT.VIRTIO_SPI + i, compatible: ['virtio,mmio'] }),
          version: cfg.virtioVersion ?? 1,
        }),
      );
    }
    this.pci = new PciHost({ irq: this.intc, env });
    const memory = this.guestMemory();
    // GICv2: QEMU virt always adds a GICv2m frame, so PCI functions get MSI-X (QEMU gives them
    // MSI-X only when the machine has an MSI controller). GICv3: the ITS (its=on, QEMU's default);
    // without it INTx only.
    if (its) {
      const unit = new GicV3Its({
        region: region('gicv3-its', 'gic_its', VIRT.GIC_ITS, VIRT.GIC_ITS_SIZE, { compatible: ['arm,gic-v3-its'] }),
        gic: built.gic as GicV3,
        memory,
        env,
      });
      devices.push(unit);
      this.pci.msiTarget = (addr, data, source, dryRun, rid) => {
        // msi-map's identity mapping: the DeviceID is the requester ID, the EventID the data.
        if (addr === VIRT.GIC_ITS + GITS.TRANSLATER) return unit.translate(rid, data >>> 0, source, dryRun);
        this.plainMsiWrite(addr, data, dryRun);
        return 0;
      };
    } else if (cfg.gic === 2) {
      const frame = new GicV2m(
        region('gicv2m', 'gic_its', GICV2M.BASE, GICV2M.SIZE, { compatible: ['arm,gic-v2m-frame'] }),
        this.intc,
        env,
      );
      devices.push(frame);
      this.pci.msiTarget = (addr, data, source, dryRun) => {
        if (addr === GICV2M.BASE + GICV2M.MSI_SETSPI_NS) return dryRun ? frame.intidFor(data) : frame.setSpi(data, source);
        this.plainMsiWrite(addr, data, dryRun);
        return 0;
      };
    }
    this.plugPciDevices(cfg);
    devices.push(...this.pci.devices);
    devices.sort((a, b) => a.region.base - b.region.base);
    for (const d of devices) regions.push(d.region);
    regions.push(...this.pci.regions().filter((r) => r.size === 0));
    this.devices = devices;
    this.regions = regions;
  }

  /**
   * PCI functions in QEMU's order for the equivalent command line: NICs (-nic) first, then the
   * disks and the console (-device …, in that order), each in the next free slot from 00:01.0.
   */
  /** Guest RAM as devices doing DMA see it (attached later, in attachMemory). */
  private guestMemory(): GuestMemory {
    const phys = () => this.phys;
    return {
      get mem() {
        return phys().mem;
      },
      memOffset: (pa) => phys().memOffset(pa),
      written: (off, len) => this.cpuHooks.invalidateCode(off, len),
    };
  }

  /** What the machine lets devices do to its CPUs (set in setCpuHooks). */
  private cpuHooks: CpuHooks = { flushTlbs() {}, invalidateCode() {} };

  setCpuHooks(h: CpuHooks): void {
    this.cpuHooks = h;
    for (const f of this.flash ?? []) f.onModeChange = () => h.flushTlbs();
  }

  /** A message to no doorbell is a plain DMA write (to RAM, or lost). */
  private plainMsiWrite(addr: number, data: number, dryRun: boolean): void {
    const off = this.phys.memOffset(addr);
    if (!dryRun && off >= 0 && this.phys.memOffset(addr + 3) === off + 3)
      new DataView(this.phys.mem.buffer, this.phys.mem.byteOffset).setUint32(off, data >>> 0, true);
  }

  private plugPciDevices(cfg: KvmConfig): void {
    const memory = this.guestMemory();
    const msi = this.pci.msiTarget !== undefined;
    const plug = (kind: string, backend: VirtioBackend, vectors: number): void => {
      const dev = this.pci.nextSlot();
      const fn = new VirtioPci(`${kind}@00:${dev.toString(16).padStart(2, '0')}.0`, `${kind}-pci`, dev, backend, memory, this.env, {
        msixVectors: msi ? vectors : 0,
      });
      fn.intxIntid = 32 + intxSpi(dev, 1);
      this.pci.plug(fn);
    };
    // Vectors as QEMU 7.2 sizes them: net 2 × queue pairs + config + control queue; blk one per
    // queue + config; the console 2.
    (cfg.nics ?? []).forEach((nic, i) => plug('virtio-net', new VirtioNet(macOf(nic, i)), 4));
    // QEMU's virtio-blk-pci default num-queues is the vCPU count.
    for (const disk of cfg.disks ?? []) plug('virtio-blk', new VirtioBlk(disk, { queues: cfg.smp }), cfg.smp + 1);
    if (cfg.console === 'virtio') plug('virtio-console', new VirtioConsole(cfg.onConsole), 2);
  }

  attachMemory(phys: { readonly mem: Uint8Array; memOffset(pa: number): number }): void {
    this.phys = phys;
  }

  mpidr(vcpu: number): bigint {
    return 0x80000000n | BigInt(virtAffinity(vcpu, this.cfg.gic));
  }

  pushInput(bytes: Uint8Array): void {
    this.uart.pushInput(bytes);
  }

  buildDtb(opts: DtbOptions = {}): Uint8Array {
    return buildVirtDtb({
      smp: this.cfg.smp,
      memBase: VIRT.MEM,
      memSize: this.cfg.memBytes,
      gic: this.cfg.gic,
      affinity: (c) => virtAffinity(c, this.cfg.gic),
      padTo: this.cfg.dtbPadTo ?? 0x100000,
      v2m: true,
      its: this.cfg.gic === 3 && (this.cfg.its ?? true),
      ...(this.cfg.firmware ? { firmware: true } : {}),
      ...(this.cfg.cpuCompatible ? { cpuCompatible: this.cfg.cpuCompatible } : {}),
      ...(opts.bootargs !== undefined ? { bootargs: opts.bootargs } : {}),
      ...(opts.initrd ? { initrd: opts.initrd } : {}),
    });
  }

  nextDeadline(): number {
    return Math.min(this.timer.nextDeadline(), this.rtc.nextDeadline(), this.gpio.nextDeadline());
  }

  tick(now: number): void {
    this.timer.tick(now);
    this.rtc.tick(now);
    this.gpio.tick(now);
  }

  /** Firmware boots: what the flash and fw_cfg saw (stored in the trace's extra). */
  runSummary(): Record<string, unknown> {
    if (!this.flash || !this.fwCfg) return {};
    return { firmware: { varsFlash: { ...this.flash[1].counts }, fwCfgSelects: this.fwCfg.selected.length } };
  }

  /** QEMU's system_powerdown: the virt power button (PL061 line 3) is pressed for 100 ms. */
  pressPowerButton(): void {
    this.gpio.pressPowerButton();
  }

  /** emu/cpu's Hypervisor interface: the personality can be handed to the CPUs as is. */
  call(cpu: HypercallCpu, conduit: 'hvc' | 'smc', imm: number): HypercallOutcome {
    return this.handleHypercall(cpu, conduit, imm);
  }

  handleHypercall(cpu: HypercallCpu, conduit: 'hvc' | 'smc', imm: number): HypercallOutcome {
    const x0 = cpu.getX(0);
    const fid = Number(x0 & 0xffffffffn);
    if (conduit === 'smc') {
      // Linux 6.1 KVM: an SMC from the guest is not forwarded; x0 = ~0 and the PC moves on.
      cpu.setX(0, 0xffffffffffffffffn);
      this.record(cpu, conduit, imm, fid, '', [], [0xffffffffffffffffn]);
      return HYPERCALL.CONTINUE;
    }
    // KVM ignores the HVC immediate: every HVC is an SMCCC call.
    const out = kvmSmcccCall(
      fid,
      {
        vcpu: cpu.id,
        arg: (n) => cpu.getX(n),
        platform: this.platform,
        affinity: (c) => BigInt(virtAffinity(c, this.cfg.gic)),
        entropy: () => this.entropy.next(),
        stolenTimeRecord: (vcpu) => BigInt(VIRT.PVTIME + PVTIME_RECORD_SIZE * vcpu),
        ptpSnapshot: () => this.ptpSnapshot(),
      },
      this.smcccOpts,
    );
    out.results.forEach((v, i) => cpu.setX(i, v));
    this.record(cpu, conduit, imm, fid, out.name, out.args, out.results);
    return out.outcome;
  }

  /**
   * KVM_PTP's clocks: the guest's wall clock is the RTC's epoch plus the virtual time elapsed (what
   * PL031 counts), and the counter has no offset here, so virtual and physical read the same.
   */
  private ptpSnapshot(): { realNs: bigint; counter: bigint } {
    const counter = this.timeBase.counterAt(this.env.now());
    const hz = BigInt(this.timeBase.frequency);
    const realNs = BigInt(this.cfg.rtcEpoch ?? DEFAULT_RTC_EPOCH) * 1_000_000_000n + (BigInt(Math.floor(counter)) * 1_000_000_000n) / hz;
    return { realNs, counter: BigInt(Math.floor(counter)) };
  }

  private record(
    cpu: HypercallCpu,
    conduit: 'hvc' | 'smc',
    imm: number,
    func: number,
    name: string,
    args: bigint[],
    results: bigint[],
  ): void {
    recordHypercall(this.env, cpu, { conduit, imm, func, name, subop: '', args, results });
  }
}

/** `data` in a zero-filled buffer of `size` bytes (a flash bank holding a shorter image). */
/** Bytes of one vCPU's stolen-time record (Arm DEN0057 §3.1; QEMU's PVTIME_SIZE_PER_CPU). */
const PVTIME_RECORD_SIZE = 64;

/** The TRNG's entropy when the configuration gives no seed: 'bootscop'. */
export const DEFAULT_ENTROPY_SEED = 0x626f6f7473636f70n;

/** SplitMix64: 64-bit outputs from a seed, the same sequence on every run (deterministic entropy). */
class SplitMix64 {
  private state: bigint;
  constructor(seed: bigint) {
    this.state = BigInt.asUintN(64, seed);
  }
  next(): bigint {
    this.state = BigInt.asUintN(64, this.state + 0x9e3779b97f4a7c15n);
    let z = this.state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  }
}

function validate(cfg: KvmConfig): void {
  if (!Number.isInteger(cfg.smp) || cfg.smp < 1) throw new RangeError(`--smp must be a positive integer, got ${cfg.smp}`);
  if (cfg.gic === 2 && cfg.smp > 8) throw new RangeError(`GICv2 supports at most 8 vCPUs (got --smp ${cfg.smp}); use --gic 3`);
  if (cfg.gic === 3 && cfg.smp > VIRT.GIC_REDIST_SIZE / REDIST_STRIDE)
    throw new RangeError(`the virt redistributor region holds at most 123 vCPUs (got --smp ${cfg.smp})`);
  if (cfg.gic !== 2 && cfg.gic !== 3) throw new RangeError(`--gic must be 2 or 3, got ${String(cfg.gic)}`);
  if (!Number.isInteger(cfg.memBytes) || cfg.memBytes < 0x100000 || cfg.memBytes % 4096 !== 0) {
    throw new RangeError(`memory size must be a multiple of 4 KiB and at least 1 MiB, got ${cfg.memBytes}`);
  }
  if (cfg.memBytes > 255 * GiB) throw new RangeError(`memory size ${cfg.memBytes} exceeds the 255 GiB virt RAM window`);
}
