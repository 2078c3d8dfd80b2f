// What a hypervisor personality gives the machine, and what it needs from it.
//
// A personality owns the guest-visible platform: the memory map (regions), the device models,
// the implementation-defined system registers (GICv3 CPU interface, generic timer), the DTB it
// generates, and its answers to HVC/SMC. The machine owns the vCPUs and time; it hands the
// personality a PlatformControl to power vCPUs on and off and to stop the run.

import type { DeviceRegion } from '../../capture/model.ts';
import type { GenericTimer } from '../devices/generic-timer.ts';
import type { InterruptController } from '../devices/irq.ts';
import type { MmioDevice, RomBacked, SysregProvider } from '../types.ts';

/** Hypercall outcomes, numerically equal to emu/cpu/cpu.ts HV. */
export const HYPERCALL = { CONTINUE: 0, STOP: 1, UNDEFINED: 2 } as const;
export type HypercallOutcome = (typeof HYPERCALL)[keyof typeof HYPERCALL];

/** The calling vCPU as a hypercall handler sees it (emu/cpu/cpu.ts Cpu satisfies this). */
export interface HypercallCpu {
  /** vCPU index. */
  readonly id: number;
  getX(n: number): bigint;
  setX(n: number, v: bigint): void;
  /** Address of the instruction after the HVC/SMC, when known (for events). */
  readonly pc?: bigint;
}

export type PsciPowerState = 'on' | 'off' | 'on_pending';

/**
 * What the machine does for a personality. The machine records vcpu_state events for these
 * transitions (with the reason given); the personality records the hypercall event.
 */
export interface PlatformControl {
  readonly numCpu: number;
  powerState(vcpu: number): PsciPowerState;
  /**
   * Start powered-off `target` at `entry` (physical address, MMU off, same EL and execution state
   * as the caller) with x0 = `context` and other registers reset.
   */
  cpuOn(target: number, entry: bigint, context: bigint, reason: string): void;
  /** The calling vCPU powers itself off (the call then returns STOP and never resumes). */
  cpuOff(vcpu: number, reason: string): void;
  /** The calling vCPU waits as for WFI (PSCI CPU_SUSPEND under KVM). */
  suspend(vcpu: number, reason: string): void;
  /** End the run: PSCI SYSTEM_OFF, Xen SCHEDOP_shutdown poweroff… */
  systemOff(reason: string): void;
  /** End the run as a reset request: PSCI SYSTEM_RESET/RESET2, Xen reboot… */
  systemReset(reason: string): void;
}

/** Switches that shape the generated DTB at boot. */
export interface DtbOptions {
  bootargs?: string;
  /** Physical [start, end) of the initrd, when one is loaded. */
  initrd?: { start: number; end: number };
}

export interface RamRegion {
  base: number;
  size: number;
  /** A device whose contents this window is while it is in ROM mode (flash; see MachineBus). */
  rom?: RomBacked;
}

/** What devices may ask of the machine's CPUs. */
export interface CpuHooks {
  /** Every vCPU drops its cached translations (a flash bank entered or left ROM mode). */
  flushTlbs(): void;
  /** Code decoded from mem [off, off+len) is stale (a device wrote there by DMA). */
  invalidateCode(off: number, len: number): void;
}

export interface Personality {
  readonly name: string;
  /** Every guest-visible region (RAM excluded), in address order, for the trace's region table. */
  readonly regions: DeviceRegion[];
  /** The MMIO device models, one per region they answer. */
  readonly devices: MmioDevice[];
  /** Implementation-defined system registers the CPUs must ask first. */
  readonly sysregs: SysregProvider[];
  readonly intc: InterruptController;
  readonly timer: GenericTimer;
  readonly ram: RamRegion[];
  /**
   * Plain memory outside `ram` (Xen's grant-table frames and magic pages): mapped by the bus
   * like RAM (no MMIO events), not described as RAM to the loader.
   */
  readonly extraRam?: RamRegion[];
  /** Called once the bus exists, for personalities that read and write guest memory (Xen). */
  attachMemory?(phys: { readonly mem: Uint8Array; memOffset(pa: number): number }): void;
  /** Called once the CPUs exist. */
  setCpuHooks?(hooks: CpuHooks): void;
  /** Counter frequency the guest sees in CNTFRQ_EL0. */
  readonly counterHz: number;
  /** Is the GICv3 system-register interface present (ID_AA64PFR0_EL1.GIC)? */
  readonly gicv3: boolean;
  /** MPIDR_EL1 of each vCPU (with RES1 bit 31). */
  mpidr(vcpu: number): bigint;
  /** Bytes typed at the console (the UART records them as input events). */
  pushInput(bytes: Uint8Array): void;
  buildDtb(opts?: DtbOptions): Uint8Array;
  /** HVC/SMC from a vCPU: reads arguments, writes results, records a hypercall event. */
  handleHypercall(cpu: HypercallCpu, conduit: 'hvc' | 'smc', imm: number): HypercallOutcome;
  /** Same as handleHypercall: makes a personality an emu/cpu `Hypervisor`. */
  call(cpu: HypercallCpu, conduit: 'hvc' | 'smc', imm: number): HypercallOutcome;
  /** Facts about the run only the personality knows (Xen: the PV devices), stored in the trace's extra. */
  runSummary?(): Record<string, unknown>;
  /** Devices with deadlines (timers, RTC alarm): the earliest, and a tick to run at it. */
  nextDeadline(): number;
  tick(now: number): void;
}
