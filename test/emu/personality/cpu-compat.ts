// Compile-time check (npx tsc): emu/cpu's Cpu is a HypercallCpu and a personality is a Hypervisor.
import type { Cpu, Hypervisor } from '../../../emu/cpu/cpu.ts';
import type { KvmPersonality } from '../../../emu/personality/kvm.ts';

export function asHypervisor(p: KvmPersonality): Hypervisor {
  return p;
}
export function callFromCpu(c: Cpu, p: KvmPersonality): number {
  return p.call(c, 'hvc', 0);
}
