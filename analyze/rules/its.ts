// GICv3 ITS rules (Arm IHI 0069H, GICv3/v4 architecture specification: chapter 5, LPIs and the ITS;
// §5.3 the commands; §12.19 the GITS_* registers). Read from the commands as the ITS consumed them
// from its queue (`its_command`: name, operands, queue offset, the ITS's own error if it refused),
// from the messages it translated (`its_translate`: DeviceID, EventID, the LPI or why it was
// dropped, and the LPI's configuration byte as cached next to the byte in the configuration table),
// and from the MMIO writes to GITS_CBASER, GITS_CWRITER and GICR_INVLPIR / GICR_INVALLR.
// The rules keep their own picture of the mappings the guest made (MAPD, MAPC, MAPTI/MAPI) rather
// than trusting the device's, so they judge the guest against the specification. Traces without
// ITS events (QEMU log imports, GICv2, GICv3 without an ITS) are not judged.

import type { EventOf, TraceEvent } from '../../capture/model.ts';
import type { Analysis, ReplayContext } from '../analysis.ts';
import type { FindingSink, RuleDef, RuleFamily } from './rule.ts';

const SPEC = 'Arm IHI 0069H';

export const ITS_RULES = {
  unmappedDevice: {
    id: 'its.unmapped-device',
    severity: 'error',
    clause: `${SPEC} §5.3 (MAPTI, MAPI, INV, INT, CLEAR, DISCARD and MOVI need the DeviceID mapped by MAPD: command error otherwise) and §5.2 (a message from an unmapped DeviceID is not translated)`,
    title: 'DeviceID used before MAPD',
    trigger: 'a command naming a DeviceID, or a message from one, with no MAPD (V=1) for it before (or after a MAPD with V=0)',
  },
  unmappedEvent: {
    id: 'its.unmapped-event',
    severity: 'error',
    clause: `${SPEC} §5.2 (translation needs an interrupt translation table entry for the EventID) and §5.3 MAPTI / MAPI (the command that makes one)`,
    title: 'LPI signalled or named with no MAPTI translation',
    trigger:
      'a message, or an INV, INT, CLEAR, DISCARD or MOVI, for a DeviceID/EventID that MAPD mapped but no MAPTI/MAPI translated (since that MAPD)',
  },
  unmappedCollection: {
    id: 'its.unmapped-collection',
    severity: 'error',
    clause: `${SPEC} §5.3 MAPC (a collection is mapped to a redistributor before INVALL, MOVI or a translation targets it)`,
    title: 'collection used before MAPC',
    trigger: 'an INVALL or MOVI naming an ICID, or a message translated to an ICID, with no MAPC (V=1) for that ICID before',
  },
  configNotInvalidated: {
    id: 'its.lpi-config-not-invalidated',
    severity: 'error',
    clause: `${SPEC} §5.1.1 (a change to an LPI configuration table entry is guaranteed visible only after INV, INVALL, or GICR_INVLPIR / GICR_INVALLR for that LPI)`,
    title: 'LPI configuration changed without INV',
    trigger:
      'an LPI translated while its configuration table byte differs from the one the redistributor holds, and no INV, INVALL, GICR_INVLPIR or GICR_INVALLR for it follows before the trace ends',
  },
  cwriterOutsideQueue: {
    id: 'its.cwriter-outside-queue',
    severity: 'error',
    clause: `${SPEC} §12.19.5 GITS_CWRITER (Offset is into the command queue) and §12.19.2 GITS_CBASER (the queue is Size + 1 4 KiB pages)`,
    title: 'GITS_CWRITER points outside the command queue',
    trigger: 'a GITS_CWRITER write whose offset is at or past the end of the queue GITS_CBASER describes (the commands are never read)',
  },
} as const satisfies Record<string, RuleDef>;

const CBASER = 0x80,
  CWRITER = 0x88;
/** Commands that name a DeviceID/EventID through an existing translation. */
const NEED_EVENT = new Set(['INV', 'INT', 'CLEAR', 'DISCARD', 'MOVI']);

/** A configuration difference seen on a translation, waiting for an invalidation. */
interface Stale {
  event: EventOf<'its_translate'>;
  count: number;
}

class ItsRules implements Analysis<void> {
  readonly name = 'rules.its';
  readonly kinds = ['its_command', 'its_translate', 'mmio_write'] as const;
  private readonly sink: FindingSink;
  /** DeviceIDs with a valid MAPD. */
  private readonly devices = new Set<number>();
  /** Translations made: 'devid:eventid' → { LPI, ICID }. */
  private readonly events = new Map<string, { intid: number; icid: number }>();
  /** ICIDs with a valid MAPC. */
  private readonly collections = new Set<number>();
  /** LPIs whose cached configuration differed from the table, not yet invalidated. */
  private readonly stale = new Map<number, Stale>();
  /** GITS_CBASER per ITS region (as written). */
  private readonly cbaser = new Map<string, bigint>();

  constructor(sink: FindingSink) {
    this.sink = sink;
  }

  onEvent(e: TraceEvent, ctx: ReplayContext): void {
    if (e.kind === 'its_command') this.command(e);
    else if (e.kind === 'its_translate') this.translate(e);
    else if (e.kind === 'mmio_write') {
      const role = ctx.region(e.device)?.role;
      if (role === 'gic_its') this.itsRegister(e, ctx);
      else if (role === 'gic_redist') this.redistRegister(e);
    }
  }

  private command(e: EventOf<'its_command'>): void {
    const R = ITS_RULES;
    const key = `${e.devid}:${e.eventid}`;
    switch (e.cmd) {
      case 'MAPD':
        // A new (or no) interrupt translation table: the old translations are gone.
        for (const k of [...this.events.keys()]) if (k.startsWith(`${e.devid}:`)) this.events.delete(k);
        if (e.valid) this.devices.add(e.devid);
        else this.devices.delete(e.devid);
        return;
      case 'MAPC':
        if (e.valid) this.collections.add(e.icid);
        else this.collections.delete(e.icid);
        return;
      case 'MAPTI':
      case 'MAPI':
        if (!this.deviceMapped(e)) return;
        this.events.set(key, { intid: e.intid, icid: e.icid });
        this.stale.delete(e.intid);
        return;
      case 'INVALL':
        if (!this.collectionMapped(e, e.icid)) return;
        for (const [intid, s] of this.stale) if (s.event.icid === e.icid) this.stale.delete(intid);
        return;
      default:
        if (!NEED_EVENT.has(e.cmd) || !this.deviceMapped(e)) return;
    }
    const ite = this.events.get(key);
    if (!ite) {
      this.sink.report(
        R.unmappedEvent,
        key,
        `${e.cmd} names DeviceID ${e.devid} EventID ${e.eventid}, which no MAPTI/MAPI translated; the ITS refuses the command.`,
        [e],
      );
      return;
    }
    if (e.cmd === 'INV') this.stale.delete(ite.intid);
    if (e.cmd === 'DISCARD') this.events.delete(key);
    if (e.cmd === 'MOVI' && this.collectionMapped(e, e.icid)) ite.icid = e.icid;
  }

  private deviceMapped(e: EventOf<'its_command'>): boolean {
    if (this.devices.has(e.devid)) return true;
    this.sink.report(
      ITS_RULES.unmappedDevice,
      String(e.devid),
      `${e.cmd} names DeviceID ${e.devid}, which no MAPD mapped; the ITS refuses the command (map the device first).`,
      [e],
    );
    return false;
  }

  private collectionMapped(e: EventOf<'its_command'>, icid: number): boolean {
    if (this.collections.has(icid)) return true;
    this.sink.report(
      ITS_RULES.unmappedCollection,
      String(icid),
      `${e.cmd} names collection ${icid}, which no MAPC mapped to a redistributor; the ITS refuses the command.`,
      [e],
    );
    return false;
  }

  private translate(e: EventOf<'its_translate'>): void {
    const R = ITS_RULES;
    const from = `${e.source || 'a device'} (DeviceID ${e.devid}, EventID ${e.eventid})`;
    if (!this.devices.has(e.devid)) {
      this.sink.report(R.unmappedDevice, String(e.devid), `message from ${from}: no MAPD mapped the DeviceID; the interrupt is lost.`, [e]);
      return;
    }
    const ite = this.events.get(`${e.devid}:${e.eventid}`);
    if (!ite) {
      this.sink.report(
        R.unmappedEvent,
        `${e.devid}:${e.eventid}`,
        `message from ${from}: no MAPTI/MAPI translates the EventID; the interrupt is lost.`,
        [e],
      );
      return;
    }
    if (!this.collections.has(ite.icid)) {
      this.sink.report(
        R.unmappedCollection,
        String(ite.icid),
        `message from ${from} translates to LPI ${ite.intid} in collection ${ite.icid}, which no MAPC mapped; the interrupt has no redistributor.`,
        [e],
      );
      return;
    }
    if (e.intid && e.lpi_config >= 0 && e.table_config >= 0 && e.lpi_config !== e.table_config) {
      const s = this.stale.get(e.intid);
      if (s) s.count++;
      else this.stale.set(e.intid, { event: e, count: 1 });
    }
  }

  private itsRegister(e: EventOf<'mmio_write'>, ctx: ReplayContext): void {
    const off = e.addr - ctx.region(e.device)!.base;
    const old = this.cbaser.get(e.device) ?? 0n;
    if (off === CBASER) this.cbaser.set(e.device, e.size === 8 ? e.value : (old & ~0xffffffffn) | (e.value & 0xffffffffn));
    else if (off === CBASER + 4 && e.size === 4) this.cbaser.set(e.device, (old & 0xffffffffn) | ((e.value & 0xffffffffn) << 32n));
    else if (off === CWRITER && this.cbaser.has(e.device)) {
      const offset = Number(e.value & 0xf_ffe0n);
      const size = (Number(old & 0xffn) + 1) * 4096;
      if (offset >= size)
        this.sink.report(
          ITS_RULES.cwriterOutsideQueue,
          e.device,
          `${e.device}: GITS_CWRITER = 0x${e.value.toString(16)} points 0x${offset.toString(16)} into a command queue of 0x${size.toString(16)} bytes (GITS_CBASER.Size ${Number(old & 0xffn)}); the ITS never reads the commands.`,
          [e],
        );
    }
  }

  /** GICR_INVLPIR (one LPI) and GICR_INVALLR (all), where the redistributor has them (GICR_CTLR.IR). */
  private redistRegister(e: EventOf<'mmio_write'>): void {
    if (e.register.endsWith('GICR_INVLPIR')) this.stale.delete(Number(e.value & 0xffffffffn));
    else if (e.register.endsWith('GICR_INVALLR')) this.stale.clear();
  }

  finish(): void {
    for (const [intid, s] of this.stale) {
      const e = s.event;
      this.sink.report(
        ITS_RULES.configNotInvalidated,
        String(intid),
        `LPI ${intid} (from ${e.source || 'a device'}) was translated ${s.count} time(s) with configuration 0x${e.lpi_config.toString(16)} while its table entry held 0x${e.table_config.toString(16)}; no INV, INVALL or GICR_INVLPIR made the change visible.`,
        [e],
      );
    }
  }
}

export const itsFamily: RuleFamily = {
  family: 'its',
  rules: Object.values(ITS_RULES),
  create: (sink) => new ItsRules(sink),
};
