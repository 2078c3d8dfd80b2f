// PCI rules (PCI Local Bus Specification 3.0; PCI Express Base Specification 5.0): the BAR sizing
// protocol of §6.2.5.1 (decode off, save, write all-ones, read back, restore, then decode on), the
// Command register's decode enables (§6.2.2) before a BAR is used, and configuration writes to
// functions that are not there. Read from the decoded configuration accesses (`pci_config`) and
// from the MMIO accesses of the host bridge's windows: the emulator names an access a function's
// BAR answered after the function ('virtio-blk@00:02.0', 'BAR4+0x14 …'); one that no BAR answered
// keeps the window's name (model 'pcie-mmio', 'pcie-mmio-high' or 'pcie-pio'), and those are the
// ones these rules look at. Traces without configuration accesses (QEMU log imports) are not judged.

import type { EventOf, TraceEvent } from '../../capture/model.ts';
import type { Analysis, ReplayContext } from '../analysis.ts';
import type { FindingSink, RuleDef, RuleFamily } from './rule.ts';

const LB = 'PCI Local Bus 3.0';
const PCIE = 'PCIe Base 5.0';

export const PCI_RULES = {
  sizingDecodeOn: {
    id: 'pci.bar-sizing-decode-on',
    severity: 'warning',
    clause: `${LB} §6.2.5.1 implementation note (decode is disabled in the Command register before a BAR is sized); ${PCIE} §7.5.1.2.1`,
    title: 'BAR sized while its decode is enabled',
    trigger:
      'all-ones written to an implemented BAR (the read-back is not 0) while the Command register has Memory Space (or, for an I/O BAR, I/O Space) enabled',
  },
  sizingNotRestored: {
    id: 'pci.bar-sizing-not-restored',
    severity: 'error',
    clause: `${LB} §6.2.5.1 implementation note (the original BAR value is restored before decode is re-enabled in the Command register)`,
    title: 'decode enabled on a BAR left at its sizing value',
    trigger: 'the Command register enables Memory (I/O) Space while a BAR of that space still holds the all-ones written to size it',
  },
  decodeDisabled: {
    id: 'pci.bar-access-decode-off',
    severity: 'error',
    clause: `${LB} §6.2.2 Command register (Memory Space / I/O Space: 0 disables the device's response); ${PCIE} §7.5.1.1.3`,
    title: "access to a BAR whose function's decode is disabled",
    trigger:
      "an MMIO access in a PCIe window at an address one of a function's BARs holds, while that function's Command register has Memory (I/O) Space clear",
  },
  noFunction: {
    id: 'pci.bar-access-no-function',
    severity: 'error',
    clause: `${LB} §6.2.5.1 (a function claims only the ranges its BARs decode); ${PCIE} §2.3.1 (a request no function claims is an Unsupported Request)`,
    title: 'access to a PCIe window where no function has a BAR',
    trigger:
      'an MMIO access in a PCIe window at an address no sized BAR of any function holds (judged only when every assigned BAR of the trace was sized)',
  },
  writeAbsent: {
    id: 'pci.config-write-absent',
    severity: 'error',
    clause: `${LB} §6.1 (only a read of an absent function's Vendor ID is defined: FFFFh, how enumeration finds it absent); ${PCIE} §2.3.1 (Unsupported Request)`,
    title: 'configuration write to a function that does not exist',
    trigger: 'a configuration write to a bus/device/function the host reports absent (reads of absent functions are enumeration and fine)',
  },
} as const satisfies Record<string, RuleDef>;

/** Command register decode enables (§6.2.2). */
const CMD_IO = 1,
  CMD_MEM = 2;
const COMMAND = 0x04;
const BAR0 = 0x10,
  BAR_END = 0x28,
  ROM = 0x30;
/** Window models (emulator/devices/pci-host.ts) and how a CPU address maps to a bus address. */
const WINDOWS: Readonly<Record<string, 'mem' | 'io'>> = { 'pcie-mmio': 'mem', 'pcie-mmio-high': 'mem', 'pcie-pio': 'io' };

interface Dword {
  /** The register's value: last written (not a sizing write) or read (not a sizing read-back). */
  value: number | undefined;
  /** The sizing write not yet followed by another write. */
  sizing: EventOf<'pci_config'> | undefined;
  /** Decode of the BAR's space was on at the sizing write (undefined: Command not known). */
  decodeAtSizing: boolean | undefined;
  /** What the BAR read back after the last sizing write (its writable bits). */
  readback: number | undefined;
}

interface Fn {
  bdf: string;
  name: string;
  /** Command register, once read or written. */
  command: number | undefined;
  dwords: Map<number, Dword>;
}

interface Bar {
  base: number;
  /** Undefined when the BAR holds an address but was never sized in the trace. */
  size: number | undefined;
  space: 'mem' | 'io';
  index: number;
}

const isSizing = (off: number, v: number): boolean => (off === ROM ? (v & 0xfffff800) >>> 0 === 0xfffff800 : v >>> 0 === 0xffffffff);

class PciRules implements Analysis<void> {
  readonly name = 'rules.pci';
  readonly kinds = ['pci_config', 'mmio_read', 'mmio_write'] as const;
  private readonly sink: FindingSink;
  private readonly fns = new Map<string, Fn>();

  constructor(sink: FindingSink) {
    this.sink = sink;
  }

  onEvent(e: TraceEvent, ctx: ReplayContext): void {
    if (e.kind === 'pci_config') this.config(e);
    else if (e.kind === 'mmio_read' || e.kind === 'mmio_write') {
      const model = ctx.region(e.device)?.model;
      const space = model === undefined ? undefined : WINDOWS[model];
      if (space && this.fns.size) this.windowAccess(e, space, space === 'io' ? e.addr - ctx.region(e.device)!.base : e.addr);
    }
  }

  private config(e: EventOf<'pci_config'>): void {
    if (e.outcome === 'absent') {
      if (e.write)
        this.sink.report(
          PCI_RULES.writeAbsent,
          e.bdf,
          `${e.bdf}: configuration write to offset 0x${e.offset.toString(16)} of a function that is not there (its Vendor ID reads FFFFh); the write goes nowhere.`,
          [e],
        );
      return;
    }
    let f = this.fns.get(e.bdf);
    if (!f) this.fns.set(e.bdf, (f = { bdf: e.bdf, name: e.device || e.bdf, command: undefined, dwords: new Map() }));
    const v = Number(e.value);
    if (e.offset === COMMAND && e.size >= 2) {
      if (e.write) this.commandWrite(e, f, v & 0xffff);
      else f.command = v & 0xffff;
      return;
    }
    const off = e.offset & ~3;
    if (e.size !== 4 || e.offset !== off || !((off >= BAR0 && off < BAR_END) || off === ROM)) return;
    let d = f.dwords.get(off);
    if (!d) f.dwords.set(off, (d = { value: undefined, sizing: undefined, decodeAtSizing: undefined, readback: undefined }));
    if (e.write) {
      if (isSizing(off, v)) {
        const cmd = f.command;
        d.sizing = e;
        d.readback = undefined;
        d.decodeAtSizing = cmd === undefined ? undefined : (cmd & (this.spaceOf(f, off) === 'io' ? CMD_IO : CMD_MEM)) !== 0;
      } else {
        d.sizing = undefined;
        d.value = v;
      }
      return;
    }
    if (!d.sizing) {
      d.value = v;
      return;
    }
    d.readback = v;
    // A read-back of 0 is a BAR the function does not implement: nothing was sized.
    if (v !== 0 && d.decodeAtSizing)
      this.sink.report(
        PCI_RULES.sizingDecodeOn,
        `${f.bdf} ${off}`,
        `${f.name}: ${barName(off)} sized (all-ones written) while the Command register enabled its ${this.spaceOf(f, off) === 'io' ? 'I/O' : 'Memory'} Space decode; the function decodes the sizing pattern as an address until the BAR is restored.`,
        [d.sizing, e],
      );
  }

  private commandWrite(e: EventOf<'pci_config'>, f: Fn, v: number): void {
    const added = v & ~(f.command ?? 0);
    f.command = v;
    if (!(added & (CMD_IO | CMD_MEM))) return;
    for (const [off, d] of f.dwords) {
      if (!d.sizing || d.readback === 0) continue;
      const bit = this.spaceOf(f, off) === 'io' ? CMD_IO : CMD_MEM;
      if (!(added & bit)) continue;
      this.sink.report(
        PCI_RULES.sizingNotRestored,
        `${f.bdf} ${off}`,
        `${f.name}: COMMAND = 0x${v.toString(16)} enables decode while ${barName(off)} still holds its sizing value 0x${Number(d.sizing.value).toString(16)}; restore the BAR (or assign it) first.`,
        [d.sizing, e],
      );
    }
  }

  /** The space of the BAR at `off`: the upper half of a 64-bit BAR and the ROM are memory. */
  private spaceOf(f: Fn, off: number): 'mem' | 'io' {
    if (off === ROM) return 'mem';
    const below = off > BAR0 ? f.dwords.get(off - 4)?.value : undefined;
    if (below !== undefined && (below & 7) === 4) return 'mem';
    const own = f.dwords.get(off)?.value;
    return own !== undefined && own & 1 ? 'io' : 'mem';
  }

  /** The function's BARs that hold an address (base ≠ 0, as Linux and firmware treat 0 as unassigned). */
  private bars(f: Fn): Bar[] {
    const out: Bar[] = [];
    for (let off = BAR0; off < BAR_END; off += 4) {
      const d = f.dwords.get(off);
      const lo = d?.value;
      if (lo === undefined || d!.sizing) continue;
      const io = (lo & 1) === 1;
      const is64 = !io && (lo & 7) === 4;
      const hiD = is64 ? f.dwords.get(off + 4) : undefined;
      const base = (io ? lo & ~3 : lo & ~15) >>> 0;
      const full = base + (is64 ? (hiD?.value ?? 0) * 2 ** 32 : 0);
      const rbLo = d!.readback;
      let size: number | undefined;
      if (rbLo !== undefined && rbLo !== 0) {
        const mask =
          BigInt((io ? rbLo & ~3 : rbLo & ~15) >>> 0) | (is64 && hiD?.readback !== undefined ? BigInt(hiD.readback >>> 0) << 32n : 0n);
        size = mask ? Number(mask & -mask) : undefined;
      }
      if (full !== 0) out.push({ base: full, size, space: io ? 'io' : 'mem', index: (off - BAR0) / 4 });
      if (is64) off += 4;
    }
    return out;
  }

  private windowAccess(e: EventOf<'mmio_read'> | EventOf<'mmio_write'>, space: 'mem' | 'io', bus: number): void {
    let unsized = false;
    for (const f of this.fns.values()) {
      for (const b of this.bars(f)) {
        if (b.space !== space) continue;
        if (b.size === undefined) {
          unsized = true;
          continue;
        }
        if (bus < b.base || bus >= b.base + b.size) continue;
        const bit = space === 'io' ? CMD_IO : CMD_MEM;
        if (f.command !== undefined && !(f.command & bit))
          this.sink.report(
            PCI_RULES.decodeDisabled,
            `${f.bdf} ${b.index}`,
            `${f.name}: ${e.kind === 'mmio_read' ? 'read' : 'write'} at 0x${e.addr.toString(16)} (BAR${b.index} + 0x${(bus - b.base).toString(16)}) while COMMAND = 0x${f.command.toString(16)} has ${space === 'io' ? 'I/O' : 'Memory'} Space disabled; the function does not respond (enable decode first, as pci_enable_device does).`,
            [e],
          );
        return;
      }
    }
    if (unsized) return;
    this.sink.report(
      PCI_RULES.noFunction,
      `${e.device} ${Math.floor(e.addr / 0x100000)}`,
      `${e.kind === 'mmio_read' ? 'read' : 'write'} at 0x${e.addr.toString(16)} in ${e.device}: no function has a BAR there; nothing answers (reads return what the host bridge makes up).`,
      [e],
    );
  }

  finish(): void {}
}

const barName = (off: number): string => (off === ROM ? 'the expansion ROM BAR' : `BAR${(off - BAR0) / 4}`);

export const pciFamily: RuleFamily = {
  family: 'pci',
  rules: Object.values(PCI_RULES),
  create: (sink) => new PciRules(sink),
};
