// Linux arm64 boot protocol (Documentation/arch/arm64/booting.rst), from what the emulator records
// about the boot: meta.extra.boot (image kind, entry, dtbAddr), the DTB and the boot vcpu_state
// event (its context is x0 at entry).

import type { EventOf, TraceEvent } from '../../capture/model.ts';
import type { Analysis, ReplayContext } from '../analysis.ts';
import type { FindingSink, RuleDef, RuleFamily } from './rule.ts';

const hex = (n: number | bigint) => '0x' + n.toString(16);
const BOOTING = 'Linux Documentation/arch/arm64/booting.rst';
const MiB = 1024 * 1024;

export const BOOT_RULES = {
  dtbAlignment: {
    id: 'boot.dtb-alignment',
    severity: 'error',
    clause: `${BOOTING} §2 "the device tree blob must be placed on an 8-byte boundary"`,
    title: 'DTB not 8-byte aligned',
    trigger: 'meta.extra.boot.dtbAddr is not a multiple of 8',
  },
  dtbSize: {
    id: 'boot.dtb-size',
    severity: 'error',
    clause: `${BOOTING} §2 "(the DTB) must not exceed 2 megabytes in size"`,
    title: 'DTB larger than 2 MiB',
    trigger: 'the DTB header totalsize exceeds 2 MiB',
  },
  registers: {
    id: 'boot.registers',
    severity: 'error',
    clause: `${BOOTING} §4 "x0 = physical address of device tree blob, x1..x3 = 0 (reserved)"`,
    title: 'register state at entry',
    trigger: 'a Linux Image entered with x0 (the boot vcpu_state context) other than the DTB address',
  },
  imagePlacement: {
    id: 'boot.image-placement',
    severity: 'error',
    clause: `${BOOTING} §3 "the Image must be placed text_offset bytes from a 2MB aligned base address anywhere in usable system RAM"`,
    title: 'Image placement',
    trigger:
      'a Linux Image whose entry is neither 2 MiB-aligned nor 0x80000 past a 2 MiB boundary (the legacy text_offset), or lies outside RAM',
  },
  secondariesOff: {
    id: 'boot.secondaries-off',
    severity: 'error',
    clause: `${BOOTING} §5 "secondary CPUs … must be brought up with PSCI or spin-table" (only the primary enters the kernel)`,
    title: 'secondary CPU started at boot',
    trigger: 'a vcpu_state event with reason boot for a vCPU other than the first one',
  },
} as const satisfies Record<string, RuleDef>;

interface BootExtra {
  image?: string;
  entry?: number;
  dtbAddr?: number;
}

class BootRules implements Analysis<void> {
  readonly name = 'rules.boot-protocol';
  readonly kinds = ['vcpu_state'] as const;
  private readonly sink: FindingSink;
  private bootEvent: EventOf<'vcpu_state'> | undefined;

  constructor(sink: FindingSink) {
    this.sink = sink;
  }

  onEvent(ev: TraceEvent): void {
    const e = ev as EventOf<'vcpu_state'>;
    if (e.reason !== 'boot' || e.state !== 'on') return;
    if (!this.bootEvent) this.bootEvent = e;
    else if (e.target !== this.bootEvent.target) {
      this.sink.report(
        BOOT_RULES.secondariesOff,
        `vcpu${e.target}`,
        `vCPU ${e.target} was started at boot along with vCPU ${this.bootEvent.target}; secondaries must stay off until the kernel starts them with PSCI CPU_ON.`,
        [e],
      );
    }
  }

  finish(ctx: ReplayContext): void {
    const boot = ctx.meta.extra['boot'] as BootExtra | undefined;
    if (!boot || boot.image !== 'linux') return; // the protocol applies to Linux Images only
    const R = BOOT_RULES;
    const ev = this.bootEvent ? [this.bootEvent] : [];
    if (boot.dtbAddr !== undefined && boot.dtbAddr % 8 !== 0) {
      this.sink.report(
        R.dtbAlignment,
        'dtb',
        `the DTB was placed at ${hex(boot.dtbAddr)}, not 8-byte aligned; place it on an 8-byte boundary.`,
        ev,
      );
    }
    const dtb = ctx.blob('dtb');
    if (dtb && dtb.length >= 8) {
      const total = new DataView(dtb.buffer, dtb.byteOffset, dtb.byteLength).getUint32(4);
      if (total > 2 * MiB) this.sink.report(R.dtbSize, 'dtb', `the DTB is ${total} bytes, over the 2 MiB limit; shrink it.`, ev);
    }
    if (this.bootEvent && boot.dtbAddr !== undefined && this.bootEvent.context !== BigInt(boot.dtbAddr)) {
      this.sink.report(
        R.registers,
        'x0',
        `x0 at entry was ${hex(this.bootEvent.context)}, not the DTB address ${hex(boot.dtbAddr)}; the loader must pass the DTB in x0.`,
        ev,
      );
    }
    if (boot.entry !== undefined) {
      const off = boot.entry % (2 * MiB);
      const ram = ctx.regionsByRole('ram');
      const inRam = !ram.length || ram.some((r) => boot.entry! >= r.base && boot.entry! < r.base + r.size);
      if ((off !== 0 && off !== 0x80000) || !inRam) {
        this.sink.report(
          R.imagePlacement,
          'image',
          `the Image entry ${hex(boot.entry)} ${inRam ? `is ${hex(off)} past a 2 MiB boundary` : 'is outside RAM'}; load it text_offset bytes from a 2 MiB-aligned base in RAM.`,
          ev,
        );
      }
    }
  }
}

export const bootFamily: RuleFamily = {
  family: 'boot-protocol',
  rules: Object.values(BOOT_RULES),
  create: (sink) => new BootRules(sink),
};
