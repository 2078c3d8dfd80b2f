// vCPU power states (vcpu_state events) and what PSCI/SMCCC said about itself (PSCI_VERSION,
// PSCI_FEATURES / SMCCC_ARCH_FEATURES answers). Bounded by vCPUs and function ids.

import type { EventOf } from '../../capture/model.ts';

export const PSCI_NOT_SUPPORTED = -1;

export class PsciState {
  /** Power state per vCPU index ('on', 'off', …); vCPUs never mentioned are absent. */
  readonly power = new Map<number, string>();
  /** PSCI_FEATURES answers: function id → returned value (signed 32-bit). */
  readonly features = new Map<number, number>();
  /** SMCCC_ARCH_FEATURES answers. */
  readonly archFeatures = new Map<number, number>();
  version = -1;
  smcccVersion = -1;
  psciCalls = 0;

  applyVcpu(e: EventOf<'vcpu_state'>): void {
    this.power.set(e.target, e.state);
  }

  applyCall(e: EventOf<'hypercall'>): void {
    const r0 = e.results.length ? Number(BigInt.asIntN(32, e.results[0]!)) : undefined;
    if (e.name.startsWith('PSCI_')) this.psciCalls++;
    if (r0 === undefined) return;
    const a0 = e.args.length ? Number(e.args[0]! & 0xffffffffn) : undefined;
    switch (e.name) {
      case 'PSCI_VERSION':
        this.version = r0;
        break;
      case 'SMCCC_VERSION':
        this.smcccVersion = r0;
        break;
      case 'PSCI_FEATURES':
        if (a0 !== undefined) this.features.set(a0, r0);
        break;
      case 'SMCCC_ARCH_FEATURES':
        if (a0 !== undefined) this.archFeatures.set(a0, r0);
        break;
    }
  }

  isOn(vcpu: number): boolean {
    const s = this.power.get(vcpu);
    return s === 'on' || s === 'on_pending';
  }
}
