// UART rules: ARM PL011 TRM (DDI 0183) and the SBSA generic UART (DEN0029, appendix B).

import { PRIMECELL } from '../../arch/regmaps/table.ts';
import type { EventOf, MmioEvent, TraceEvent } from '../../capture/model.ts';
import type { Analysis, ReplayContext } from '../analysis.ts';
import { amba, PL011_PID, PRIMECELL_CID, type UartRegs } from '../state/uart.ts';
import type { FindingSink, RuleDef, RuleFamily } from './rule.ts';

const hex = (n: number) => '0x' + (n >>> 0).toString(16);

export const UART_RULES = {
  lcrWhileEnabled: {
    id: 'uart.lcr-while-enabled',
    severity: 'warning',
    clause: 'PL011 TRM DDI 0183 §3.3.7 UARTLCR_H / §3.3.8 UARTCR (disable the UART before changing line control)',
    title: 'line control or baud divisors changed while the UART is enabled',
    trigger: 'a write to LCR_H, IBRD or FBRD while CR.UARTEN is set',
  },
  divisorNotLatched: {
    id: 'uart.divisor-not-latched',
    severity: 'warning',
    clause: 'PL011 TRM DDI 0183 §3.3.6 UARTFBRD (IBRD/FBRD take effect only on a following LCR_H write)',
    title: 'baud divisors written but never latched by a line-control write',
    trigger: 'IBRD/FBRD written with no LCR_H write after them before the UART is enabled or the trace ends',
  },
  txDisabled: {
    id: 'uart.tx-disabled',
    severity: 'warning',
    clause: 'PL011 TRM DDI 0183 §3.3.8 UARTCR (UARTEN and TXE must be set to transmit)',
    title: 'transmit while UARTEN or TXE is clear',
    trigger: 'a DR write while CR.UARTEN or CR.TXE is clear (a real PL011 drops the byte; QEMU/KVM send it)',
  },
  notPl011Id: {
    id: 'uart.not-pl011-id',
    severity: 'error',
    clause: 'PL011 TRM DDI 0183 §3.3.14-3.3.15 (UARTPeriphID/UARTPCellID); Linux AMBA bus match',
    title: 'ID registers do not read as a PrimeCell PL011',
    trigger: `PeriphID/PCellID of a UART described as arm,pl011/arm,primecell read other than cell ${hex(PRIMECELL_CID)}, periph ${hex(PL011_PID)} (masked 0x000fffff)`,
  },
  sbsaFullRegister: {
    id: 'uart.sbsa-full-register',
    severity: 'warning',
    clause: 'SBSA DEN0029 appendix B (generic UART: DR, RSR/ECR, FR, IMSC, RIS, MIS, ICR only)',
    title: 'full-PL011 register used on an SBSA generic UART',
    trigger: 'an access to a register outside the SBSA subset (IBRD, FBRD, LCR_H, CR, IFLS, DMACR, IDs…) on an sbsa-uart region',
  },
  icrRead: {
    id: 'uart.icr-read',
    severity: 'warning',
    clause: 'PL011 TRM DDI 0183 §3.3.13 UARTICR (write-only)',
    title: 'read of the write-only interrupt clear register',
    trigger: 'an ICR read',
  },
  access64: {
    id: 'uart.access-64bit',
    severity: 'error',
    clause: 'PL011 TRM DDI 0183 §3.2 (32-bit APB registers); SBSA DEN0029 B (32-bit accesses)',
    title: '64-bit access to a UART register',
    trigger: 'an 8-byte MMIO access to a UART region',
  },
} as const satisfies Record<string, RuleDef>;

const SBSA_OK = new Set(['DR', 'RSR', 'FR', 'IMSC', 'RIS', 'MIS', 'ICR']);

class UartRules implements Analysis<void> {
  readonly name = 'rules.uart';
  readonly kinds = ['mmio_read', 'mmio_write'] as const;
  private readonly sink: FindingSink;
  /** Last IBRD/FBRD write per region not yet latched (for finish-time evidence). */
  private readonly unlatched = new Map<string, TraceEvent>();
  /** First ID register reads per region (evidence for the ID rule). */
  private readonly idReads = new Map<string, TraceEvent[]>();
  private readonly crSeen = new Set<string>();

  constructor(sink: FindingSink) {
    this.sink = sink;
  }

  onEvent(e: TraceEvent, ctx: ReplayContext): void {
    const m = e as MmioEvent;
    const r = ctx.state.uart.get(m.device);
    if (!r) return;
    const R = UART_RULES;
    const name = r.region.name;
    if (m.register === 'CR') this.crSeen.add(name);
    if (m.size === 8)
      this.sink.report(
        R.access64,
        name,
        `${name}: 8-byte ${m.kind === 'mmio_read' ? 'read' : 'write'} of ${m.register || hex(m.addr - r.region.base)}; UART registers are 32-bit: use 32-bit (or 16/8-bit) accesses.`,
        [e],
      );
    if (r.region.model === 'sbsa-uart' && !SBSA_OK.has(m.register) && !(m.addr - r.region.base >= PRIMECELL.PeriphID)) {
      const off = m.addr - r.region.base;
      this.sink.report(
        R.sbsaFullRegister,
        name,
        `${name} is an SBSA generic UART, which has no register at offset ${hex(off)} (a full-PL011 register): it reads 0 and ignores writes. Describe it as arm,sbsa-uart and let the driver skip baud/line setup.`,
        [e],
      );
    }
    if (m.kind === 'mmio_read') {
      if (m.addr - r.region.base >= PRIMECELL.PeriphID) {
        const list = this.idReads.get(name) ?? [];
        if (list.length < 3) this.idReads.set(name, [...list, e]);
      }
      if (m.register === 'ICR')
        this.sink.report(
          R.icrRead,
          name,
          `${name}: ICR is write-only; the read returns nothing meaningful. Read RIS/MIS for interrupt status.`,
          [e],
        );
      return;
    }
    this.write(m as EventOf<'mmio_write'>, r, ctx);
  }

  private write(e: EventOf<'mmio_write'>, r: UartRegs, ctx: ReplayContext): void {
    const R = UART_RULES;
    const name = r.region.name;
    const reg = e.register;
    const enabled = ctx.state.uart.enabled(r);
    if ((reg === 'LCR_H' || reg === 'IBRD' || reg === 'FBRD') && enabled) {
      this.sink.report(
        R.lcrWhileEnabled,
        name,
        `${name}: ${reg} written while CR.UARTEN=1 (CR=${hex(r.cr)}); the TRM requires disabling the UART (clear UARTEN, wait for BUSY to clear) before changing ${reg}.`,
        [e],
      );
    }
    if (reg === 'IBRD' || reg === 'FBRD') {
      if (!this.unlatched.has(name)) this.unlatched.set(name, e);
    } else if (reg === 'LCR_H') this.unlatched.delete(name);
    else if (reg === 'CR' && Number(e.value) & 1 && this.unlatched.has(name)) {
      this.sink.report(
        R.divisorNotLatched,
        name,
        `${name}: IBRD/FBRD were written but no LCR_H write followed before the UART was enabled, so the new baud rate never takes effect. Write LCR_H after the divisors.`,
        [this.unlatched.get(name), e],
      );
      this.unlatched.delete(name);
    }
    // SBSA UARTs have no CR; imported traces start mid-boot, so CR is unknown until the guest shows it.
    if (reg === 'DR' && r.region.model !== 'sbsa-uart' && this.crKnown(r, ctx) && !ctx.state.uart.canTransmit(r)) {
      const why = !(r.cr & 1) ? 'UARTEN' : 'TXE';
      this.sink.report(
        R.txDisabled,
        name,
        `${name}: DR written while CR.${why} is clear (CR=${hex(r.cr)}); a real PL011 does not transmit (QEMU/KVM do). Set CR.UARTEN|TXE before writing DR.`,
        [e],
      );
    }
  }

  /** CR is known from reset (emulator traces) or once the guest read or wrote it. */
  private crKnown(r: UartRegs, ctx: ReplayContext): boolean {
    if (ctx.meta.source.type === 'emulator') return true;
    if (this.crSeen.has(r.region.name)) return true;
    return false;
  }

  finish(ctx: ReplayContext): void {
    for (const [name, ev] of this.unlatched) {
      this.sink.report(
        UART_RULES.divisorNotLatched,
        name,
        `${name}: IBRD/FBRD were written but never latched by an LCR_H write; the baud rate change never takes effect. Write LCR_H after the divisors.`,
        [ev],
      );
    }
    for (const r of ctx.state.uart.byRegion.values()) this.checkIds(r);
  }

  private checkIds(r: UartRegs): void {
    const compat = r.region.compatible ?? [];
    const describedPl011 = r.region.model === 'pl011' || compat.includes('arm,pl011') || compat.includes('arm,primecell');
    const id = amba(r);
    if (!describedPl011 || !id || id.matches) return;
    this.sink.report(
      UART_RULES.notPl011Id,
      r.region.name,
      `${r.region.name} is described as a PL011 but its IDs read cell ${hex(id.cid)} periph ${hex(id.pid)}; Linux's AMBA bus will not bind the pl011 driver. If this is an SBSA generic UART (e.g. Xen's vpl011), describe it as compatible = "arm,sbsa-uart".`,
      this.idReads.get(r.region.name) ?? [],
    );
  }
}

export const uartFamily: RuleFamily = {
  family: 'uart',
  rules: Object.values(UART_RULES),
  create: (sink) => new UartRules(sink),
};
