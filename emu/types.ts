// Contracts between the CPU, the memory bus, devices, personalities and the recorder.
// Devices know nothing about tracing beyond the Recorder interface.

import type { DeviceRegion, DeviceRole, MmioOutcome, Recorder } from '../capture/model.ts';

/** Where every emulator event goes (the trace model's sink: the store's writer, or nothing). */
export type { Recorder };

export const NULL_RECORDER: Recorder = { enabled: false, record() {} };

/**
 * A memory-mapped device. Values of accesses up to 4 bytes are unsigned 32-bit numbers;
 * 8-byte accesses go to read64/write64 when the device has them, else the bus splits them
 * into two 4-byte accesses (low word first), as QEMU does for devices limited to 32 bits.
 */
export interface MmioDevice {
  readonly region: DeviceRegion;
  read(offset: number, size: number, vcpu: number): number;
  write(offset: number, size: number, value: number, vcpu: number): void;
  read64?(offset: number, vcpu: number): bigint;
  write64?(offset: number, value: bigint, vcpu: number): void;
  /** Decoded register name at an offset ('' when none). */
  registerName(offset: number): string;
  /**
   * The device an access at this offset concerns, when the region is shared (a PCI window: the
   * function whose BAR is there); region.name when absent.
   */
  deviceName?(offset: number): string;
  /**
   * Outcome of the last access: the bus sets 'handled' before each access and the device
   * overwrites it with 'raz_wi' or 'abort' (the guest then gets a synchronous external abort).
   */
  lastOutcome: MmioOutcome;
  /** Called when virtual time advances, for devices with deadlines (timers, UART TX drain). */
  tick?(now: number): void;
  /** Next virtual time at which tick() must run, or Infinity. */
  nextDeadline?(): number;
  reset?(): void;
}

/**
 * A device whose contents are memory while it is in ROM mode (QEMU's "romd" regions: flash in
 * read-array mode): reads come from mem without MMIO, writes always go to the device.
 */
export interface RomBacked {
  readonly romMode: boolean;
  /** The bus hands the device its window of mem, zero-filled (the device's storage from then on). */
  attachStorage(mem: Uint8Array): void;
}

/** Interrupt controller as devices see it. */
export interface IrqSink {
  /** Drive a line: SPIs by INTID; PPIs/SGIs need the target vCPU. */
  setLine(intid: number, level: boolean, vcpu?: number): void;
}

/**
 * Implementation-provided system registers (GICv3 CPU interface, generic timer): the CPU
 * asks providers before treating an encoding as unknown. Encoding = op0<<14|op1<<11|CRn<<7|CRm<<3|op2.
 */
export interface SysregProvider {
  /** Returns undefined when this provider does not implement the register. */
  readSysreg(vcpu: number, encoding: number): bigint | undefined;
  /** Returns false when this provider does not implement the register. */
  writeSysreg(vcpu: number, encoding: number, value: bigint): boolean;
}

/** Role shortcuts used when building regions. */
export function region(
  name: string,
  model: string,
  role: DeviceRole,
  base: number,
  size: number,
  extra: Partial<DeviceRegion> = {},
): DeviceRegion {
  return { name, model, role, base, size, ...extra };
}
