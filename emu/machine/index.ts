// The whole machine: RAM and devices on one bus, the personality (platform, PSCI/SMCCC), N vCPUs,
// the scheduler and virtual time, and the recorder. Loading guests is in load.ts; runGuest()
// (emu/run.ts) wires a machine to the trace store and the console.

import { Cpu, CpuShared, HV, type ExceptionInfo, type Hypervisor } from '../cpu/cpu.ts';
import { LinearTimeBase } from '../devices/generic-timer.ts';
import { CNT } from '../../arch/sysregs.ts';
import type { DeviceEnv } from '../devices/irq.ts';
import { KvmPersonality, type KvmFirmware } from '../personality/kvm.ts';
import { XenPersonality } from '../personality/xen.ts';
import type { Personality, PlatformControl, PsciPowerState } from '../personality/types.ts';
import type { EventRecorder } from '../recorder.ts';
import { DEFAULT_QUANTUM, Scheduler, type StopInfo } from '../scheduler.ts';
import { MachineBus } from './bus.ts';
import type { JitOptions } from '../cpu/jit.ts';
import type { DiskImage } from '../storage/disk.ts';
import type { NicSpec } from '../net/nic.ts';

/**
 * Time: one unit of virtual time per instruction retired (by any vCPU) or skipped while all wait.
 * The system counter advances one count every COUNTER_DIVISOR units, so CNTFRQ is 62.5 MHz as on
 * QEMU 7.2's virt machine, and a nominal 1e9 instructions per second (QEMU's -icount shift=0).
 */
export const COUNTER_HZ = 62_500_000;
export const COUNTER_DIVISOR = 16;
export const INSTRUCTIONS_PER_SECOND = COUNTER_HZ * COUNTER_DIVISOR;

export interface MachineConfig {
  machine: 'kvm' | 'xen';
  /** xen only: who built the domain, the SBSA vUART, how the DT describes it, the Xen version told to the guest. */
  xen?: {
    toolstack?: 'xl' | 'dom0less';
    vuart?: 'sbsa' | 'none';
    uartDt?: 'sbsa' | 'pl011';
    version?: { major: number; minor: number };
    shutdownAt?: number;
  };
  smp: number;
  memBytes: number;
  gic: 2 | 3;
  /** Scheduler slice length in instructions (default 16384). */
  quantum?: number;
  /** Console bytes as the guest writes them. */
  onConsole?: (byte: number) => void;
  /** Block compiler in every vCPU (emu/cpu/jit.ts; default on, false: interpreter only); same
   *  behaviour and trace, only faster. */
  jit?: boolean | JitOptions;
  /** FP/SIMD in every vCPU (emu/cpu/fpsimd.ts; default on); false: ID registers say absent, the instructions are UNDEFINED. */
  fpsimd?: boolean;
  /** Open disk images (--disk), in order: virtio-blk on kvm, Xen virtual disks on xen. */
  disks?: DiskImage[];
  /** Network interfaces (--nic), in order: virtio-net on kvm, Xen vifs on xen. */
  nics?: NicSpec[];
  /** kvm: the console device ('uart': the PL011, the default; 'virtio': a virtio-console as hvc0). */
  console?: 'uart' | 'virtio';
  /** kvm with GICv3: an ITS (default true, as QEMU virt's its=on); false: INTx only. */
  its?: boolean;
  /** kvm: --bios (flash banks, fw_cfg); the boot vCPU starts at the reset vector. */
  firmware?: KvmFirmware;
}

export const MAX_RAM = 2 ** 31;

/** Consecutive synchronous exceptions taken at the vector they were taken to before we give up. */
const EXCEPTION_LOOP_LIMIT = 64;
/** op0=3, op1=3, CRn=14: the EL0-accessible generic timer registers (encoding >>> 7). */
const TIMER_SYSREG_GROUP = (3 << 7) | (3 << 4) | 14;

export class Machine implements PlatformControl, DeviceEnv {
  readonly config: MachineConfig;
  readonly recorder: EventRecorder;
  readonly personality: Personality;
  readonly bus: MachineBus;
  readonly cpus: Cpu[];
  readonly scheduler: Scheduler;
  readonly numCpu: number;
  private lastVector = -1n;
  private vectorRepeats = 0;

  constructor(config: MachineConfig, recorder: EventRecorder) {
    this.config = config;
    this.recorder = recorder;
    this.numCpu = config.smp;
    // The CPU's software TLB keeps RAM offsets in Int32Arrays: RAM must stay below 2 GiB.
    if (config.memBytes > MAX_RAM) throw new RangeError(`--mem ${config.memBytes}: the emulator supports at most 2 GiB of RAM`);
    // The scheduler is created below; devices only ask for time once the machine runs.
    let sched: Scheduler | undefined;
    const now = (): number => (sched ? sched.now() : 0);
    this.now = now;
    const common = {
      smp: config.smp,
      memBytes: config.memBytes,
      gic: config.gic,
      timeBase: new LinearTimeBase(COUNTER_HZ, 1, COUNTER_DIVISOR),
      ...(config.onConsole ? { onConsole: config.onConsole } : {}),
      disks: config.disks ?? [],
      nics: config.nics ?? [],
      ...(config.console ? { console: config.console } : {}),
      ...(config.its !== undefined ? { its: config.its } : {}),
      ...(config.firmware ? { firmware: config.firmware } : {}),
    };
    const kvm: Personality =
      config.machine === 'xen' ? new XenPersonality({ ...common, ...config.xen }, this, this) : new KvmPersonality(common, this, this);
    this.personality = kvm;
    const ram = kvm.ram[0]!;
    this.bus = new MachineBus(ram.base, ram.size, kvm.devices, recorder, now, kvm.extraRam ?? []);
    kvm.attachMemory?.(this.bus);
    const shared = new CpuShared(this.bus.mem.length);
    // The personality records the hypercall when it returns; what the call caused (vCPU power
    // changes) is held and recorded after it, so the trace reads call → consequences.
    const hv: Hypervisor = {
      call: (cpu, conduit, imm) => {
        if (!recorder.enabled) return this.personality.handleHypercall(cpu, conduit, imm);
        recorder.hold();
        try {
          return this.personality.handleHypercall(cpu, conduit, imm);
        } finally {
          recorder.release('hypercall');
        }
      },
    };
    const intc = kvm.intc;
    this.cpus = [];
    for (let i = 0; i < config.smp; i++) {
      const cpu: Cpu = new Cpu({
        bus: this.bus,
        id: i,
        mpidr: kvm.mpidr(i),
        shared,
        hypervisor: hv,
        providers: kvm.sysregs,
        irqPending: () => intc.irqPending(i),
        fiqPending: () => intc.fiqPending(i),
        gicv3: kvm.gicv3,
        jit: config.jit ?? true,
        fpsimd: config.fpsimd !== false,
        hooks: {
          onException: (c, info) => this.onException(c, info),
          onSysregUndefined: (c, enc, name, write) => {
            if (recorder.enabled) recorder.sysreg(now(), c.id, c.pc, name, enc, write, write ? 0n : 0n, 'undefined');
          },
          onSysreg: (c, enc, name, write, value) => {
            // Timer writes may move a deadline: end the slice so the next one is cut there.
            if (write && enc >>> 7 === TIMER_SYSREG_GROUP) sched!.recut();
            // Counter reads are time, not configuration: Linux's delay loops read CNTVCT
            // millions of times, so they are not recorded (everything else providers serve is).
            if (recorder.enabled && !(enc === CNT.CNTVCT_EL0 || enc === CNT.CNTPCT_EL0)) {
              recorder.sysreg(now(), c.id, c.pc, name, enc, write, value, 'handled');
            }
          },
        },
      });
      this.cpus.push(cpu);
    }
    intc.onSignal = (vcpu) => this.cpus[vcpu]?.notifyIrq();
    kvm.setCpuHooks?.({
      flushTlbs: () => {
        for (const c of this.cpus) c.flushTlb();
      },
      invalidateCode: (off, len) => shared.invalidateMem(off, len),
    });
    sched = new Scheduler(this.cpus, kvm, recorder, config.quantum ?? DEFAULT_QUANTUM, (vcpu, t) =>
      eventStreamAfter(kvm.timer.cntkctl[vcpu] ?? 0, t),
    );
    this.scheduler = sched;
  }

  /** Current virtual time (DeviceEnv). */
  readonly now: () => number;

  private onException(c: Cpu, info: ExceptionInfo): void {
    const rec = this.recorder;
    if (info.kind === 'irq' || info.kind === 'fiq') {
      if (rec.enabled) rec.irqDeliver(this.now(), c.id, info.elr, pendingIntid(this.personality, c.id), info.kind === 'fiq');
      this.vectorRepeats = 0;
      return;
    }
    if (rec.enabled) rec.exception(this.now(), c.id, info.elr, info.ec, info.esr, info.far, info.fromEl, info.toEl, info.detail);
    // A fault on the vector itself (no vectors installed, or unmapped) repeats forever.
    if (info.elr === this.lastVector) {
      if (++this.vectorRepeats >= EXCEPTION_LOOP_LIMIT) {
        this.scheduler.stop(
          'exception_loop',
          `guest stuck: cpu${c.id} keeps taking ${info.detail} (ESR 0x${info.esr.toString(16)}) at its vector 0x${info.vector.toString(16)}`,
        );
      }
    } else this.vectorRepeats = 0;
    this.lastVector = info.vector;
  }

  // ---- PlatformControl -------------------------------------------------------------------

  powerState(vcpu: number): PsciPowerState {
    return this.scheduler.state[vcpu] === 'off' ? 'off' : 'on';
  }

  /** Start vCPU `target` at `entry` with x0 = context (also used for the boot vCPU). */
  cpuOn(target: number, entry: bigint, context: bigint, reason: string): void {
    const cpu = this.cpus[target]!;
    cpu.reset();
    cpu.pc = entry;
    cpu.setX(0, context);
    this.scheduler.setState(target, 'run');
    const caller = this.scheduler.current;
    if (this.recorder.enabled) this.recorder.vcpuState(this.now(), caller, target, 'on', entry, context, reason);
  }

  cpuOff(vcpu: number, reason: string): void {
    this.scheduler.setState(vcpu, 'off');
    if (this.recorder.enabled) this.recorder.vcpuState(this.now(), vcpu, vcpu, 'off', 0n, 0n, reason);
  }

  suspend(vcpu: number, reason: string): void {
    if (this.recorder.enabled) this.recorder.vcpuState(this.now(), vcpu, vcpu, 'suspend', 0n, 0n, reason);
    this.scheduler.wait(vcpu, 'wfi');
  }

  systemOff(reason: string): void {
    this.powerDownAll(reason);
    this.scheduler.stop('system_off', reason.replace(/^PSCI_/, 'PSCI '));
  }

  systemReset(reason: string): void {
    this.powerDownAll(reason);
    this.scheduler.stop('system_reset', reason.replace(/^PSCI_/, 'PSCI '));
  }

  private powerDownAll(reason: string): void {
    const caller = this.scheduler.current;
    for (let i = 0; i < this.numCpu; i++) {
      if (this.scheduler.state[i] === 'off') continue;
      if (this.recorder.enabled) this.recorder.vcpuState(this.now(), caller, i, 'off', 0n, 0n, reason);
    }
  }

  /** Run until the guest stops, the instruction limit, or a hang; null when paused at pauseAt. */
  run(maxInsns = Infinity, pauseAt = Infinity): StopInfo | null {
    return this.scheduler.run(maxInsns, pauseAt);
  }
}

/**
 * The generic timer's event stream (CNTKCTL_EL1.EVNTEN/EVNTDIR/EVNTI): an event each time the
 * selected bit of the virtual counter goes 0→1 (EVNTDIR 0) or 1→0 (EVNTDIR 1). Linux enables it
 * and relies on it to wake WFE in udelay(). Returns the virtual time of the next event after t.
 */
export function eventStreamAfter(cntkctl: number, t: number): number {
  if (!(cntkctl & 4)) return Infinity;
  const bit = (cntkctl >>> 4) & 15;
  const period = 2 ** (bit + 1);
  const phase = cntkctl & 8 ? 0 : period / 2;
  const c = Math.floor(t / COUNTER_DIVISOR);
  let next = c - (c % period) + phase;
  if (next <= c) next += period;
  return next * COUNTER_DIVISOR;
}

/** The INTID a vCPU's CPU interface is signalling (for irq_deliver events). */
function pendingIntid(p: Personality, vcpu: number): number {
  const g = (p as KvmPersonality | XenPersonality).gicDevice as unknown as {
    currentPendingIrq?: (cpu: number) => number;
    cpus?: { hppiIrq: number }[];
  };
  if (typeof g.currentPendingIrq === 'function') return g.currentPendingIrq(vcpu);
  if (g.cpus && g.cpus[vcpu]) return g.cpus[vcpu]!.hppiIrq;
  return 1023;
}

export { HV };
