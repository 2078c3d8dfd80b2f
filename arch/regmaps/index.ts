// Register decoding by device model (the `model` of a DeviceRegion).
import * as gicv2 from './gicv2.ts';
import * as gicv3 from './gicv3.ts';
import { registerName as pl011 } from './pl011.ts';
import { registerName as pl031 } from './pl031.ts';
import { registerName as pl061 } from './pl061.ts';
import { registerName as sbsa } from './sbsa-uart.ts';
import type { RegisterLookup } from './table.ts';
import { registerName as virtio } from './virtio-mmio.ts';

export const REGISTER_LOOKUPS: Readonly<Record<string, RegisterLookup>> = {
  pl011,
  'sbsa-uart': sbsa,
  pl031,
  pl061,
  'gicv2-dist': gicv2.distRegisterName,
  'gicv2-cpu': gicv2.cpuRegisterName,
  'gicv3-dist': gicv3.distRegisterName,
  'gicv3-redist': (off) => gicv3.redistRegisterName(off),
  'gicv3-its': gicv3.itsRegisterName,
  'virtio-mmio': virtio,
};

const none: RegisterLookup = () => '';

/** The lookup for a device model ('' for every offset when the model has no table). */
export function lookupFor(model: string): RegisterLookup {
  return REGISTER_LOOKUPS[model] ?? none;
}

/** Decoded register name of `offset` in a device of `model` ('' if unknown). */
export function registerNameFor(model: string, offset: number): string {
  return lookupFor(model)(offset);
}
