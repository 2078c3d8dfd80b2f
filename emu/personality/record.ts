// The one way personalities record a hypercall: decoded name, sub-operation, arguments, results.

import type { DeviceEnv } from '../devices/irq.ts';
import type { HypercallCpu } from './types.ts';

export interface HypercallRecord {
  conduit: 'hvc' | 'smc';
  imm: number;
  func: number;
  name: string;
  subop: string;
  args: bigint[];
  results: bigint[];
}

export function recordHypercall(env: DeviceEnv, cpu: HypercallCpu, call: HypercallRecord): void {
  const r = env.recorder;
  if (!r.enabled) return;
  r.record({
    kind: 'hypercall',
    time: env.now(),
    vcpu: cpu.id,
    ...(cpu.pc !== undefined ? { pc: cpu.pc } : {}),
    ...call,
    // Registers as the guest sees them: unsigned 64-bit.
    args: call.args.map((a) => BigInt.asUintN(64, a)),
  });
}
