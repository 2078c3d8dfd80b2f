// Helpers for the analyzer tests: hand-made traces written through the real store.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DeviceRegion, NewEvent, TraceSource } from '../../capture/model.ts';
import { createTrace, openTrace, type TraceReader } from '../../capture/store/index.ts';

export const PL011: DeviceRegion = {
  name: 'pl011@9000000',
  model: 'pl011',
  role: 'uart',
  base: 0x9000000,
  size: 0x1000,
  intid: 33,
  compatible: ['arm,pl011', 'arm,primecell'],
};
export const SBSA: DeviceRegion = {
  name: 'sbsa-uart@22000000',
  model: 'sbsa-uart',
  role: 'uart',
  base: 0x22000000,
  size: 0x1000,
  intid: 32,
  compatible: ['arm,sbsa-uart'],
};
export const GICD3: DeviceRegion = {
  name: 'gicv3-dist@8000000',
  model: 'gicv3-dist',
  role: 'gic_dist',
  base: 0x8000000,
  size: 0x10000,
  compatible: ['arm,gic-v3'],
};
export const GICR3: DeviceRegion = {
  name: 'gicv3-redist@80a0000',
  model: 'gicv3-redist',
  role: 'gic_redist',
  base: 0x80a0000,
  size: 0x40000,
  compatible: ['arm,gic-v3'],
};
export const GICD2: DeviceRegion = {
  name: 'gicv2-dist@8000000',
  model: 'gicv2-dist',
  role: 'gic_dist',
  base: 0x8000000,
  size: 0x10000,
  compatible: ['arm,cortex-a15-gic'],
};
export const GICC2: DeviceRegion = {
  name: 'gicv2-cpu@8010000',
  model: 'gicv2-cpu',
  role: 'gic_cpu',
  base: 0x8010000,
  size: 0x10000,
  compatible: ['arm,cortex-a15-gic'],
};
export const PCIE: DeviceRegion = { name: 'pcie@10000000', model: 'pcie-ecam', role: 'pcie', base: 0x10000000, size: 0x2eff0000 };

export interface TmpTraces {
  dir: string;
  file(name: string): string;
  cleanup(): void;
}

export function tmpTraces(): TmpTraces {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bootscope-analyze-'));
  return { dir, file: (n) => path.join(dir, n), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Event builders (times increase by one per call through `at`). */
let t = 0;
export const at = () => ++t;

export function mmio(
  kind: 'mmio_read' | 'mmio_write',
  r: DeviceRegion,
  off: number,
  value: bigint | number,
  register: string,
  size = 4,
  vcpu = 0,
): NewEvent {
  return {
    kind,
    time: at(),
    vcpu,
    pc: 0x40080000n + BigInt(off),
    addr: r.base + off,
    size,
    value: BigInt(value),
    device: r.name,
    register,
    outcome: 'handled',
  };
}

export function call(
  name: string,
  func: number,
  args: bigint[] = [],
  results: bigint[] = [0n],
  imm = 0,
  conduit: 'hvc' | 'smc' = 'hvc',
  subop = '',
): NewEvent {
  return { kind: 'hypercall', time: at(), vcpu: 0, conduit, imm, func, name, subop, args, results };
}

export function writeTrace(
  file: string,
  regions: DeviceRegion[],
  events: NewEvent[],
  opts: { source?: Partial<TraceSource>; extra?: Record<string, unknown> } = {},
): TraceReader {
  const w = createTrace(file, {
    source: { type: 'synthetic', name: 'kvm', config: { smp: 2 }, ...opts.source },
    clock: { kind: 'instructions', counterHz: 62_500_000, instructionsPerSecond: 1e9 },
    devices: regions,
    ...(opts.extra ? { extra: opts.extra } : {}),
    overwrite: true,
  });
  for (const e of events) w.append(e);
  w.close();
  return openTrace(file);
}
