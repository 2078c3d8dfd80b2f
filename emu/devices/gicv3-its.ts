// The GICv3 Interrupt Translation Service as KVM's vgic-its presents it to a guest (QEMU virt puts
// it at 0x0808_0000, 128 KiB): GITS_CTLR/IIDR/TYPER, the command queue (GITS_CBASER, CWRITER,
// CREADR) in guest memory, GITS_BASER0 (device table) and GITS_BASER1 (collection table), and
// GITS_TRANSLATER, the doorbell a PCI function's MSI writes its EventID to. A message from
// DeviceID d with EventID e is translated through the tables (device table entry → interrupt
// translation table entry → collection table entry) into an LPI made pending on the collection's
// redistributor. Arm IHI 0069H chapter 5 (LPIs and the ITS, §5.2 translation, §5.3 commands) and
// §12.19 (GITS_* registers).
//
// The tables live in guest memory, as the architecture has it, in the entry formats KVM's ITS
// ABI revision 0 uses (8 bytes each, little-endian):
//   device table entry:      Valid [63], ITT address >> 8 [48:5], Size (EventID bits − 1) [4:0]
//   collection table entry:  Valid [63], RDbase (processor number, GITS_TYPER.PTA = 0) [51:16], ICID [15:0]
//   interrupt translation:   pINTID [47:16] (0: no entry), ICID [15:0]
// The redistributor side keeps what KVM keeps: each LPI's configuration byte (read at MAPTI/MAPI,
// re-read on INV/INVALL) and its pending state.
// Bad commands are ignored, as KVM ignores them (GITS_TYPER.SEIS = 0: no error is reported to the
// guest), and recorded as device_error events; a command queue outside RAM stalls the ITS.

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { GITS, ITS_CMD, itsRegisterName } from '../../arch/regmaps/gicv3.ts';
import type { MmioDevice } from '../types.ts';
import type { DeviceEnv } from './irq.ts';
import type { GicV3State } from './gicv3-state.ts';
import { readBytes, readU64, readU8, sanitiseTableAttrs, writeU64 } from './gicv3-tables.ts';
import type { GuestMemory } from './virtqueue.ts';

/** KVM's GITS_IIDR: ProductID 0x4b ('K'), Implementer Arm (0x43b), revision 0 (ITS ABI 0). */
export const ITS_IIDR = 0x4b00_043b;
const DEV_BITS = 16;
const ID_BITS = 16;
const ENTRY_SIZE = 8;
/** GITS_TYPER: Physical, ITT_entry_size − 1 [7:4], IDbits − 1 [12:8], Devbits − 1 [17:13] (PTA = 0, CIL = 0). */
export const ITS_TYPER = 1n | (BigInt(ENTRY_SIZE - 1) << 4n) | (BigInt(ID_BITS - 1) << 8n) | (BigInt(DEV_BITS - 1) << 13n);

const CTLR_ENABLED = 1;
const CTLR_QUIESCENT = 0x8000_0000;
const VALID = 1n << 63n;
const INDIRECT = 1n << 62n;
const TYPE_DEVICE = 1n;
const TYPE_COLLECTION = 4n;
/** GITS_BASER Type [58:56] and Entry_Size [52:48] are read-only. */
const BASER_RO = (7n << 56n) | (0x1fn << 48n);
const BASER_PAGE_64K = 2n << 8n;
const BASER_PAGE_MASK = 3n << 8n;
const PAGE = 0x10000;
/** GITS_BASER / GITS_CBASER attributes: InnerCache [61:59], OuterCache [55:53], Shareability [11:10]. */
const ITS_TABLE_FIELDS = { inner: 59n, outer: 53n, shareability: 10n } as const;
/** GITS_CBASER: Valid, InnerCache, OuterCache, Physical_Address [51:12], Shareability, Size [7:0]. */
const CBASER_MASK = VALID | (7n << 59n) | (7n << 53n) | 0x000f_ffff_ffff_f000n | (3n << 10n) | 0xffn;
const CMD_SIZE = 32;
const ADDR_51_16 = 0x000f_ffff_ffff_0000n;
const ADDR_47_16 = 0x0000_ffff_ffff_0000n;
const ITS_IDS: Readonly<Record<number, number>> = {
  0xffd0: 0x40,
  0xffe0: 0x92,
  0xffe4: 0xb4,
  0xffe8: 0x3b,
  0xfff0: 0x0d,
  0xfff4: 0xf0,
  0xfff8: 0x05,
  0xfffc: 0xb1,
};

export interface GicV3ItsOptions {
  region: DeviceRegion;
  gic: GicV3State;
  /** Guest RAM, where the command queue and the tables are. */
  memory: GuestMemory;
  env: DeviceEnv;
}

/** An interrupt translation table entry found for (DeviceID, EventID). */
interface Ite {
  addr: number;
  intid: number;
  icid: number;
}

/** A command the ITS cannot carry out: what was wrong, for the device_error event. */
class ItsCommandError extends Error {}

export class GicV3Its implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly gic: GicV3State;
  private readonly memory: GuestMemory;
  private readonly env: DeviceEnv;
  private enabled = false;
  private cbaser = 0n;
  private cwriter = 0;
  private creadr = 0;
  private readonly baser: bigint[] = [];
  /** The vCPU whose register write made the ITS process commands (for the its_command events). */
  private vcpu = -1;
  /** The collection each mapped LPI belongs to (KVM's per-LPI collection pointer), for MOVI/MAPC/INVALL. */
  private readonly lpiCollection = new Map<number, number>();

  constructor(opts: GicV3ItsOptions) {
    this.region = opts.region;
    this.gic = opts.gic;
    this.memory = opts.memory;
    this.env = opts.env;
    this.gic.reloadLpiConfig = (intid) => this.reloadConfig(intid);
    this.reset();
  }

  /** GICR_INVLPIR / GICR_INVALLR (KVM's vGICv3 has them): the LPI's configuration re-read, as INV / INVALL do. */
  private reloadConfig(intid?: number): void {
    if (intid === undefined) for (const i of this.lpiCollection.keys()) this.loadConfig(i);
    else if (this.lpiCollection.has(intid)) this.loadConfig(intid);
    this.gic.updateAll();
  }

  reset(): void {
    this.enabled = false;
    this.cbaser = 0n;
    this.cwriter = this.creadr = 0;
    this.baser.length = 0;
    this.baser.push(baserRo(TYPE_DEVICE), baserRo(TYPE_COLLECTION), 0n, 0n, 0n, 0n, 0n, 0n);
    this.lpiCollection.clear();
  }

  registerName(offset: number): string {
    return itsRegisterName(offset);
  }

  // ---- registers (32-bit halves or whole 64-bit accesses) -------------------------------------

  read(offset: number, size: number, _vcpu: number): number {
    if (size !== 4 || offset & 3) {
      this.lastOutcome = 'raz_wi';
      return 0;
    }
    if (offset === GITS.CTLR) return ((this.enabled ? CTLR_ENABLED : 0) | (this.creadr === this.cwriter ? CTLR_QUIESCENT : 0)) >>> 0;
    if (offset === GITS.IIDR) return ITS_IIDR;
    if (offset === GITS.TRANSLATER) return 0; // write-only doorbell
    const id = ITS_IDS[offset];
    if (id !== undefined) return id;
    if (offset >= GITS.PIDR4 && offset < GITS.SIZE / 2) return 0;
    const v = this.read64Reg(offset & ~7);
    if (v === undefined) {
      this.lastOutcome = 'raz_wi';
      return 0;
    }
    return Number(offset & 4 ? v >> 32n : v & 0xffffffffn);
  }

  write(offset: number, size: number, value: number, vcpu: number): void {
    this.vcpu = vcpu;
    if (offset === GITS.TRANSLATER && (size === 4 || size === 2)) return; // a CPU's write names no device: KVM ignores it
    if (size !== 4 || offset & 3) {
      this.lastOutcome = 'raz_wi';
      return;
    }
    if (offset === GITS.CTLR) return this.writeCtlr(value);
    const old = this.read64Reg(offset & ~7);
    if (old === undefined) {
      this.lastOutcome = 'raz_wi';
      return;
    }
    const v = BigInt(value >>> 0);
    this.write64Reg(offset & ~7, offset & 4 ? (old & 0xffffffffn) | (v << 32n) : (old & ~0xffffffffn) | v);
  }

  read64(offset: number, _vcpu: number): bigint {
    const v = offset & 7 ? undefined : this.read64Reg(offset);
    if (v === undefined) {
      this.lastOutcome = 'raz_wi';
      return 0n;
    }
    return v;
  }

  write64(offset: number, value: bigint, vcpu: number): void {
    this.vcpu = vcpu;
    if (offset & 7 || this.read64Reg(offset) === undefined) {
      this.lastOutcome = 'raz_wi';
      return;
    }
    this.write64Reg(offset, value & 0xffff_ffff_ffff_ffffn);
  }

  private read64Reg(off: number): bigint | undefined {
    switch (off) {
      case GITS.TYPER:
        return ITS_TYPER;
      case GITS.CBASER:
        return this.cbaser;
      case GITS.CWRITER:
        return BigInt(this.cwriter);
      case GITS.CREADR:
        return BigInt(this.creadr);
      default:
        if (off >= GITS.BASER && off < GITS.BASER + 64) return this.baser[(off - GITS.BASER) >> 3];
        return undefined;
    }
  }

  private write64Reg(off: number, v: bigint): void {
    switch (off) {
      case GITS.CBASER:
        // Only while the ITS is off (KVM); a new queue starts empty.
        if (this.enabled) return;
        this.cbaser = sanitiseTableAttrs(v & CBASER_MASK, ITS_TABLE_FIELDS);
        this.cwriter = this.creadr = 0;
        return;
      case GITS.CWRITER: {
        const w = Number(v & 0xf_ffe0n);
        if (w >= this.queueSize()) return; // beyond the queue: ignored, as KVM does
        this.cwriter = w;
        this.processCommands();
        return;
      }
      case GITS.TYPER:
      case GITS.CREADR:
        return; // read-only
      default: {
        const n = (off - GITS.BASER) >> 3;
        const ro = this.baser[n]!;
        if (ro === 0n || this.enabled) return; // unimplemented table, or the ITS is on: WI
        // Type and Entry_Size stay; one ITS page size (64 KiB), as KVM.
        let nv = (v & ~BASER_RO) | (ro & BASER_RO);
        nv = (sanitiseTableAttrs(nv, ITS_TABLE_FIELDS) & ~BASER_PAGE_MASK) | BASER_PAGE_64K;
        this.baser[n] = nv;
        if (!(nv & VALID) && n === 1) this.lpiCollection.clear();
      }
    }
  }

  private writeCtlr(value: number): void {
    const on = (value & CTLR_ENABLED) !== 0;
    // KVM refuses to enable the ITS before its queue and both tables are valid.
    if (on && !this.enabled && (!(this.cbaser & VALID) || !(this.baser[0]! & VALID) || !(this.baser[1]! & VALID))) return;
    this.enabled = on;
    if (on) this.processCommands();
  }

  private queueSize(): number {
    return (Number(this.cbaser & 0xffn) + 1) * 4096;
  }

  // ---- the command queue (Arm IHI 0069H §5.3) -------------------------------------------------

  /** Execute commands from GITS_CREADR up to GITS_CWRITER (synchronously: the queue drains at once). */
  private processCommands(): void {
    if (!this.enabled || !(this.cbaser & VALID)) return;
    const base = Number(this.cbaser & 0x000f_ffff_ffff_f000n);
    const size = this.queueSize();
    while (this.creadr !== this.cwriter) {
      const bytes = readBytes(this.memory, base + this.creadr, CMD_SIZE);
      if (!bytes) {
        this.deviceError(`command queue at 0x${(base + this.creadr).toString(16)} is outside guest RAM; the ITS stalls`);
        return;
      }
      const dv = new DataView(bytes.buffer, bytes.byteOffset, CMD_SIZE);
      const dw = [0, 1, 2, 3].map((i) => dv.getBigUint64(i * 8, true)) as [bigint, bigint, bigint, bigint];
      let error = '';
      let lpi = 0;
      try {
        lpi = this.execute(dw) ?? 0;
      } catch (e) {
        if (!(e instanceof ItsCommandError)) throw e;
        error = e.message;
        this.deviceError(`${e.message}; command ignored`);
      }
      this.recordCommand(dw, lpi, error);
      this.creadr = (this.creadr + CMD_SIZE) % size;
    }
  }

  /** Carries a command out; returns the LPI it concerned, where it names one through an existing mapping. */
  private execute(dw: [bigint, bigint, bigint, bigint]): number | void {
    const cmd = Number(dw[0] & 0xffn);
    const devid = Number(dw[0] >> 32n);
    const eventid = Number(dw[1] & 0xffffffffn);
    const icid = Number(dw[2] & 0xffffn);
    switch (cmd) {
      case ITS_CMD.MAPD:
        return this.mapd(devid, Number(dw[1] & 0x1fn), Number(dw[2] & 0x000f_ffff_ffff_ff00n), (dw[2] & VALID) !== 0n);
      case ITS_CMD.MAPC:
        return this.mapc(icid, Number((dw[2] >> 16n) & 0xf_ffff_ffffn), (dw[2] & VALID) !== 0n);
      case ITS_CMD.MAPTI:
        return this.mapti(devid, eventid, Number(dw[1] >> 32n), icid, 'MAPTI');
      case ITS_CMD.MAPI:
        return this.mapti(devid, eventid, eventid, icid, 'MAPI');
      case ITS_CMD.INV: {
        const ite = this.findIte(devid, eventid, 'INV');
        this.loadConfig(ite.intid);
        this.gic.updateAll();
        return ite.intid;
      }
      case ITS_CMD.INVALL: {
        this.targetOf(icid, 'INVALL');
        for (const [intid, c] of this.lpiCollection) if (c === icid) this.loadConfig(intid);
        this.gic.updateAll();
        return;
      }
      case ITS_CMD.SYNC:
        this.checkRd(Number((dw[2] >> 16n) & 0xf_ffff_ffffn), 'SYNC');
        return; // every command has taken effect when it is read
      case ITS_CMD.DISCARD: {
        const ite = this.findIte(devid, eventid, 'DISCARD');
        this.gic.clearLpiPending(ite.intid);
        this.writeEntry(ite.addr, 0n, 'DISCARD');
        this.lpiCollection.delete(ite.intid);
        this.gic.lpiConfig.delete(ite.intid);
        return ite.intid;
      }
      case ITS_CMD.CLEAR: {
        const ite = this.findIte(devid, eventid, 'CLEAR');
        this.gic.clearLpiPending(ite.intid);
        return ite.intid;
      }
      case ITS_CMD.INT: {
        const ite = this.findIte(devid, eventid, 'INT');
        this.raise(ite, this.region.name);
        return ite.intid;
      }
      case ITS_CMD.MOVI: {
        const ite = this.findIte(devid, eventid, 'MOVI');
        const to = this.targetOf(icid, 'MOVI');
        this.writeEntry(ite.addr, (BigInt(ite.intid) << 16n) | BigInt(icid), 'MOVI');
        this.lpiCollection.set(ite.intid, icid);
        this.gic.moveLpi(ite.intid, to);
        return ite.intid;
      }
      case ITS_CMD.MOVALL: {
        const from = this.checkRd(Number((dw[2] >> 16n) & 0xf_ffff_ffffn), 'MOVALL');
        const to = this.checkRd(Number((dw[3] >> 16n) & 0xf_ffff_ffffn), 'MOVALL');
        for (const intid of [...this.gic.cpus[from]!.lpiPending]) this.gic.moveLpi(intid, to);
        return;
      }
      default:
        throw new ItsCommandError(`unknown ITS command 0x${cmd.toString(16)}`);
    }
  }

  private mapd(devid: number, size: number, itt: number, valid: boolean): void {
    const addr = this.entryAddr(0, devid);
    if (addr === undefined) throw new ItsCommandError(`MAPD: DeviceID ${devid} is outside the device table`);
    if (valid && size + 1 > ID_BITS)
      throw new ItsCommandError(`MAPD: DeviceID ${devid}: ${size + 1} EventID bits exceed GITS_TYPER.IDbits (${ID_BITS})`);
    // Remapping or unmapping a device discards the interrupts of its old table.
    const old = readU64(this.memory, addr);
    if (old !== undefined && old & VALID) this.discardAll(old);
    const dte = valid ? VALID | ((BigInt(itt) >> 8n) << 5n) | BigInt(size) : 0n;
    this.writeEntry(addr, dte, 'MAPD');
  }

  private discardAll(dte: bigint): void {
    const { itt, events } = dteFields(dte);
    for (let e = 0; e < events; e++) {
      const ite = readU64(this.memory, itt + e * ENTRY_SIZE);
      if (ite === undefined) return;
      const intid = Number((ite >> 16n) & 0xffffffffn);
      if (!intid) continue;
      this.gic.clearLpiPending(intid);
      this.lpiCollection.delete(intid);
      this.gic.lpiConfig.delete(intid);
      writeU64(this.memory, itt + e * ENTRY_SIZE, 0n);
    }
  }

  private mapc(icid: number, rd: number, valid: boolean): void {
    const addr = this.entryAddr(1, icid);
    if (addr === undefined) throw new ItsCommandError(`MAPC: ICID ${icid} is outside the collection table`);
    if (valid) this.checkRd(rd, 'MAPC');
    this.writeEntry(addr, valid ? VALID | (BigInt(rd) << 16n) | BigInt(icid) : 0n, 'MAPC');
    // A collection moved: its pending interrupts follow it (KVM's update_affinity_collection).
    if (valid) for (const [intid, c] of this.lpiCollection) if (c === icid) this.gic.moveLpi(intid, rd);
  }

  private mapti(devid: number, eventid: number, intid: number, icid: number, name: string): void {
    const dte = this.readDte(devid, name);
    const { itt, events } = dteFields(dte);
    if (eventid >= events) throw new ItsCommandError(`${name}: EventID ${eventid} is beyond DeviceID ${devid}'s ${events} events`);
    if (!this.gic.lpiInRange(intid)) throw new ItsCommandError(`${name}: pINTID ${intid} is not an LPI of the configuration table`);
    if (this.entryAddr(1, icid) === undefined) throw new ItsCommandError(`${name}: ICID ${icid} is outside the collection table`);
    const addr = itt + eventid * ENTRY_SIZE;
    const cur = readU64(this.memory, addr);
    if (cur === undefined)
      throw new ItsCommandError(`${name}: DeviceID ${devid}'s interrupt translation table at 0x${itt.toString(16)} is outside guest RAM`);
    if ((cur >> 16n) & 0xffffffffn) return; // already mapped: KVM keeps the old mapping
    this.writeEntry(addr, (BigInt(intid) << 16n) | BigInt(icid), name);
    this.lpiCollection.set(intid, icid);
    this.loadConfig(intid);
  }

  // ---- tables -------------------------------------------------------------------------------

  /** Guest address of entry `id` of the table GITS_BASER<n> describes (flat or two-level), or undefined. */
  private entryAddr(n: number, id: number): number | undefined {
    const b = this.baser[n]!;
    if (!(b & VALID) || id >= 2 ** (n === 0 ? DEV_BITS : 16)) return undefined;
    const base = Number(b & ADDR_47_16);
    const bytes = (Number(b & 0xffn) + 1) * PAGE;
    if (!(b & INDIRECT)) return id < bytes / ENTRY_SIZE ? base + id * ENTRY_SIZE : undefined;
    const perPage = PAGE / ENTRY_SIZE;
    const index = Math.floor(id / perPage);
    if (index >= bytes / 8) return undefined;
    const l1 = readU64(this.memory, base + index * 8);
    if (l1 === undefined || !(l1 & VALID)) return undefined;
    return Number(l1 & ADDR_51_16) + (id % perPage) * ENTRY_SIZE;
  }

  private readDte(devid: number, name: string): bigint {
    const addr = this.entryAddr(0, devid);
    const dte = addr === undefined ? undefined : readU64(this.memory, addr);
    if (dte === undefined || !(dte & VALID)) throw new ItsCommandError(`${name}: DeviceID ${devid} is not mapped`);
    return dte;
  }

  private findIte(devid: number, eventid: number, name: string): Ite {
    const { itt, events } = dteFields(this.readDte(devid, name));
    if (eventid >= events) throw new ItsCommandError(`${name}: EventID ${eventid} is beyond DeviceID ${devid}'s ${events} events`);
    const addr = itt + eventid * ENTRY_SIZE;
    const ite = readU64(this.memory, addr);
    const intid = ite === undefined ? 0 : Number((ite >> 16n) & 0xffffffffn);
    if (ite === undefined || !intid) throw new ItsCommandError(`${name}: DeviceID ${devid} EventID ${eventid} is not mapped`);
    return { addr, intid, icid: Number(ite & 0xffffn) };
  }

  /** The processor number collection `icid` is mapped to. */
  private targetOf(icid: number, name: string): number {
    const addr = this.entryAddr(1, icid);
    const cte = addr === undefined ? undefined : readU64(this.memory, addr);
    if (cte === undefined || !(cte & VALID)) throw new ItsCommandError(`${name}: collection ${icid} is not mapped`);
    return Number((cte >> 16n) & 0xf_ffff_ffffn);
  }

  private checkRd(rd: number, name: string): number {
    if (rd >= this.gic.numCpu) throw new ItsCommandError(`${name}: target redistributor ${rd} does not exist`);
    return rd;
  }

  private writeEntry(addr: number, v: bigint, name: string): void {
    if (!writeU64(this.memory, addr, v)) throw new ItsCommandError(`${name}: table entry at 0x${addr.toString(16)} is outside guest RAM`);
  }

  /** Read LPI `intid`'s configuration byte from the table GICR_PROPBASER names (0: outside RAM, disabled). */
  private loadConfig(intid: number): void {
    const base = Number(this.gic.propbaser & 0x000f_ffff_ffff_f000n);
    this.gic.lpiConfig.set(intid, readU8(this.memory, base + intid - 8192) ?? 0);
  }

  // ---- translation (Arm IHI 0069H §5.2) -----------------------------------------------------

  /**
   * A message write of `eventid` to GITS_TRANSLATER from `devid`: the LPI it raises (0 when the ITS
   * is off or the tables do not translate it: the message is dropped). `dryRun` only looks.
   */
  translate(devid: number, eventid: number, source: string, dryRun = false): number {
    const drop = (why: string, ite?: Ite): number => {
      if (!dryRun) this.recordTranslate(devid, eventid, source, ite, why);
      return 0;
    };
    if (!this.enabled) return drop('the ITS is disabled (GITS_CTLR.Enabled = 0)');
    let ite: Ite;
    let target: number;
    try {
      ite = this.findIte(devid, eventid, 'translation');
    } catch (e) {
      if (!(e instanceof ItsCommandError)) throw e;
      return drop(e.message.replace(/^translation: /, ''));
    }
    try {
      target = this.targetOf(ite.icid, 'translation');
    } catch (e) {
      if (!(e instanceof ItsCommandError)) throw e;
      return drop(e.message.replace(/^translation: /, ''), ite);
    }
    if (target >= this.gic.numCpu) return drop(`redistributor ${target} does not exist`, ite);
    if (!this.gic.cpus[target]!.lpiEnabled) return drop(`redistributor ${target} has LPIs disabled (GICR_CTLR.EnableLPIs = 0)`, ite);
    if (!dryRun) {
      this.recordTranslate(devid, eventid, source, ite, '');
      this.raise(ite, source, target);
    }
    return ite.intid;
  }

  private raise(ite: Ite, source: string, target = this.targetOf(ite.icid, 'INT')): void {
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'irq_line', time: this.env.now(), vcpu: -1, intid: ite.intid, level: 1, trigger: 'edge', source });
    this.gic.setLpiPending(target, ite.intid);
  }

  /** The its_command event of a command read from the queue at GITS_CREADR (Arm IHI 0069H §5.3 layouts). */
  private recordCommand(dw: [bigint, bigint, bigint, bigint], lpi: number, error: string): void {
    const r = this.env.recorder;
    if (!r.enabled) return;
    const cmd = Number(dw[0] & 0xffn);
    const name = ITS_CMD_NAMES[cmd] ?? `unknown 0x${cmd.toString(16).padStart(2, '0')}`;
    const withDev = !['MAPC', 'INVALL', 'SYNC', 'MOVALL'].includes(name);
    const withEvent = withDev && name !== 'MAPD';
    const withIcid = ['MAPC', 'MAPTI', 'MAPI', 'INVALL', 'MOVI'].includes(name);
    const withRd = ['MAPC', 'SYNC', 'MOVALL'].includes(name);
    const eventid = Number(dw[1] & 0xffffffffn);
    const intid = name === 'MAPTI' ? Number(dw[1] >> 32n) : name === 'MAPI' ? eventid : lpi;
    r.record({
      kind: 'its_command',
      time: this.env.now(),
      vcpu: this.vcpu,
      device: this.region.name,
      cmd: name,
      offset: this.creadr,
      devid: withDev && !name.startsWith('unknown') ? Number(dw[0] >> 32n) : 0,
      eventid: withEvent && !name.startsWith('unknown') ? eventid : 0,
      intid,
      icid: withIcid ? Number(dw[2] & 0xffffn) : 0,
      rdbase: withRd ? Number((dw[2] >> 16n) & 0xf_ffff_ffffn) : 0,
      valid: name === 'MAPD' || name === 'MAPC' ? (dw[2] & VALID) !== 0n : true,
      error,
    });
  }

  /** The its_translate event: what a message became, and whether the LPI's cached configuration is the table's. */
  private recordTranslate(devid: number, eventid: number, source: string, ite: Ite | undefined, error: string): void {
    const r = this.env.recorder;
    if (!r.enabled) return;
    const intid = error ? 0 : (ite?.intid ?? 0);
    const cached = ite ? this.gic.lpiConfig.get(ite.intid) : undefined;
    const base = Number(this.gic.propbaser & 0x000f_ffff_ffff_f000n);
    const table = ite ? readU8(this.memory, base + ite.intid - 8192) : undefined;
    r.record({
      kind: 'its_translate',
      time: this.env.now(),
      vcpu: -1,
      device: this.region.name,
      source,
      devid,
      eventid,
      intid,
      icid: ite?.icid ?? 0,
      lpi_config: cached ?? -1,
      table_config: table ?? -1,
      error,
    });
  }

  private deviceError(detail: string): void {
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'device_error', time: this.env.now(), vcpu: -1, device: this.region.name, detail });
  }
}

/** Command names by number (Arm IHI 0069H §5.3, Table 5-4). */
const ITS_CMD_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(ITS_CMD).map(([k, v]) => [v, k]));

function baserRo(type: bigint): bigint {
  return (type << 56n) | (BigInt(ENTRY_SIZE - 1) << 48n) | BASER_PAGE_64K;
}

function dteFields(dte: bigint): { itt: number; events: number } {
  return { itt: Number(((dte >> 5n) & 0xfff_ffff_ffffn) << 8n), events: 2 ** (Number(dte & 0x1fn) + 1) };
}
