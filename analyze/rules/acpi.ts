// ACPI hardware-description rules: the tables a firmware boot gave the guest (meta.extra.acpi,
// written by `run --bios`) checked against the platform the trace shows — table headers, the
// VM spec's "complete FDT or ACPI, not both, not neither", SPCR against the UART, GTDT against the
// timer interrupts, MADT against the GIC the guest touches.

import type { EventOf, TraceEvent } from '../../capture/model.ts';
import type { Analysis, ReplayContext } from '../analysis.ts';
import type { FindingSink, RuleDef, RuleFamily } from './rule.ts';

const hex = (n: number | bigint) => '0x' + n.toString(16);
const VMSPEC = 'ARM VM System Specification (2014)';

export const ACPI_RULES = {
  header: {
    id: 'acpi.table-header',
    severity: 'error',
    clause: 'ACPI 6.4 §5.2.6 System Description Table Header (Length covers the whole table; the bytes sum to zero)',
    title: 'ACPI table with a wrong length or checksum',
    trigger:
      'a table given to the firmware whose header length is not its size or whose bytes do not sum to 0 (EDK2 does not install such a table: the OS never gets it)',
  },
  description: {
    id: 'acpi.hw-description',
    severity: 'error',
    clause: `${VMSPEC}: "provide through UEFI either a complete FDT or no FDT, and then ACPI reachable from the system table" (not both, not neither)`,
    title: 'the guest got both a DT and ACPI, or neither',
    trigger:
      "the EFI stub used the firmware's DTB while the kernel also found ACPI tables, or it generated an empty DTB and the kernel found no ACPI tables",
  },
  spcr: {
    id: 'acpi.spcr-uart',
    severity: 'error',
    clause: 'Microsoft SPCR (rev 2): Base Address, Interface Type (3 = PL011, 0xE = SBSA UART) and GSI must name the console UART',
    title: 'SPCR does not describe the UART',
    trigger: "SPCR's base is no UART region, its interface type does not fit the UART's model, or its GSI is not the UART's interrupt",
  },
  gtdt: {
    id: 'acpi.gtdt-timer',
    severity: 'error',
    clause: 'ACPI 6.4 §5.2.24 GTDT: the EL1 non-secure and virtual timer GSIVs are the PPIs the timers signal',
    title: 'GTDT names other timer interrupts than the platform uses',
    trigger:
      'a timer interrupt line the platform drove (irq_line from timer:virt or timer:phys) whose INTID is not the GTDT GSIV for that timer',
  },
  madt: {
    id: 'acpi.madt-gic',
    severity: 'error',
    clause: 'ACPI 6.4 §5.2.12 MADT: GICD, GICR, ITS and GICC structures describe the interrupt controller the platform has',
    title: 'MADT describes another GIC than the platform has',
    trigger:
      "the GICD base is not the distributor region's, an ITS structure has no ITS region behind it (QEMU 7.2 with its=off: Linux faults in its_acpi_reset), or the GICC count is not the vCPU count",
  },
} as const satisfies Record<string, RuleDef>;

/** A table of meta.extra.acpi, decoded. */
export interface StoredTable {
  sig: string;
  data: Uint8Array;
}

export function storedTables(extra: Record<string, unknown>): StoredTable[] {
  const raw = extra.acpi;
  if (!Array.isArray(raw)) return [];
  const out: StoredTable[] = [];
  for (const t of raw as { sig?: unknown; base64?: unknown }[]) {
    if (typeof t?.sig === 'string' && typeof t.base64 === 'string')
      out.push({ sig: t.sig, data: Uint8Array.from(Buffer.from(t.base64, 'base64')) });
  }
  return out;
}

const u32 = (b: Uint8Array, o: number): number =>
  o + 4 <= b.length ? new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o, true) : 0;
const u64 = (b: Uint8Array, o: number): bigint =>
  o + 8 <= b.length ? new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(o, true) : 0n;

/** MADT structures (§5.2.12): type, offset. */
function madtEntries(b: Uint8Array): { type: number; at: number }[] {
  const out: { type: number; at: number }[] = [];
  for (let o = 44; o + 2 <= b.length;) {
    const len = b[o + 1]!;
    if (len < 2) break;
    out.push({ type: b[o]!, at: o });
    o += len;
  }
  return out;
}

/** SPCR interface types (Microsoft "Serial Port Console Redirection Table", Table 3) by UART model. */
const SPCR_TYPE: Record<string, readonly number[]> = { pl011: [0x03], 'sbsa-uart': [0x0e, 0x0d] };

class AcpiRules implements Analysis<void> {
  readonly name = 'rules.acpi';
  readonly kinds = ['console', 'irq_line'] as const;
  private readonly sink: FindingSink;
  private line = '';
  private stubDt: TraceEvent | undefined;
  private stubEmpty: TraceEvent | undefined;
  private kernelAcpi: TraceEvent | undefined;
  /** The kernel's "efi:" line naming an ACPI root pointer in the UEFI system table. */
  private efiAcpi: TraceEvent | undefined;
  /** The kernel's command line said acpi=off. */
  private acpiOff: TraceEvent | undefined;
  /** A kernel log line (timestamped) reached the console: the kernel's ACPI lines would have, too. */
  private kernelLog = false;
  /** Signatures in the kernel's table list ("ACPI: SPCR 0x… (v02 …)"), up to 64. */
  private readonly listed = new Set<string>();
  /** First line event per (timer, INTID). */
  private readonly timerLines = new Map<string, EventOf<'irq_line'>>();

  constructor(sink: FindingSink) {
    this.sink = sink;
  }

  onEvent(e: TraceEvent): void {
    if (e.kind === 'irq_line') {
      const m = /^timer:(virt|phys)$/.exec(e.source);
      if (m && this.timerLines.size < 16 && !this.timerLines.has(`${m[1]}/${e.intid}`)) this.timerLines.set(`${m[1]}/${e.intid}`, e);
      return;
    }
    if (e.kind !== 'console') return;
    for (const b of e.bytes) {
      if (b !== 0x0a) {
        if (this.line.length < 256) this.line += String.fromCharCode(b);
        continue;
      }
      const l = this.line;
      this.line = '';
      if (l.includes('EFI stub: Using DTB from configuration table')) this.stubDt ??= e;
      else if (l.includes('EFI stub: Generating empty DTB')) this.stubEmpty ??= e;
      else if (/\] ACPI: (RSDP|XSDT) 0x/.test(l)) this.kernelAcpi ??= e;
      else if (/\] efi: .*\bACPI(?: 2\.0)?=0x/.test(l)) this.efiAcpi ??= e;
      else if (/\] Kernel command line: (?:.* )?acpi=off(?: |$)/.test(l)) this.acpiOff ??= e;
      const listed = /\] ACPI: ([A-Z0-9_]{4}) 0x[0-9A-F]+ [0-9A-F]+ \(v/.exec(l);
      if (listed && this.listed.size < 64) this.listed.add(listed[1]!);
      if (/^\[\s*\d+\.\d+\] /.test(l)) this.kernelLog = true;
    }
  }

  finish(ctx: ReplayContext): void {
    const tables = storedTables(ctx.meta.extra);
    this.description();
    for (const t of tables) this.header(t);
    const get = (sig: string) => tables.find((t) => t.sig === sig)?.data;
    const spcr = get('SPCR');
    if (spcr) this.spcr(spcr, ctx);
    const gtdt = get('GTDT');
    if (gtdt) this.gtdt(gtdt);
    const madt = get('APIC');
    if (madt) this.madt(madt, ctx);
  }

  private description(): void {
    const R = ACPI_RULES.description;
    if (this.stubDt && this.kernelAcpi)
      this.sink.report(
        R,
        'both',
        "the EFI stub passed the firmware's DTB and the kernel also found ACPI tables: give the OS one description.",
        [this.stubDt, this.kernelAcpi],
      );
    // Without a kernel log on the console (an ACPI boot with no SPCR and no console=) the absence
    // of the kernel's ACPI lines says nothing. When the kernel's efi: line shows ACPI in the system
    // table and its command line says acpi=off, the firmware did its part: the guest chose.
    else if (this.stubEmpty && this.kernelLog && !this.kernelAcpi && !(this.efiAcpi && this.acpiOff))
      this.sink.report(
        R,
        'neither',
        'the EFI stub generated an empty DTB (the firmware gave no DT) but the kernel found no ACPI tables: it has no hardware description.',
        [this.stubEmpty],
      );
  }

  private header(t: StoredTable): void {
    const len = u32(t.data, 4);
    let sum = 0;
    for (const x of t.data) sum = (sum + x) & 0xff;
    if (t.data.length >= 36 && len === t.data.length && sum === 0) return;
    // What became of it shows in the kernel's table list: EDK2's QEMU table loader installs only
    // what has a consistent length and a zero sum, so such a table never reaches the OS there.
    const fate = !this.kernelAcpi
      ? ''
      : this.listed.has(t.sig)
        ? ` The kernel lists a ${t.sig} table.`
        : ` The kernel's table list has no ${t.sig}: the firmware did not pass it on.`;
    this.sink.report(
      ACPI_RULES.header,
      t.sig,
      `${t.sig}: header length ${len}, ${t.data.length} bytes stored, bytes sum to ${hex(sum)}; a table must be as long as its header says and sum to 0.${fate}`,
      this.kernelAcpi ? [this.kernelAcpi] : [],
    );
  }

  private spcr(b: Uint8Array, ctx: ReplayContext): void {
    const type = b[36] ?? 0;
    const base = Number(u64(b, 44));
    const gsi = u32(b, 54);
    const uart = ctx.regionsByRole('uart').find((r) => r.base === base);
    const R = ACPI_RULES.spcr;
    if (!uart) {
      const have = ctx.regionsByRole('uart').map((r) => `${r.name} at ${hex(r.base)}`);
      this.sink.report(
        R,
        'base',
        `SPCR names a UART at ${hex(base)}, where the platform has none (${have.join(', ') || 'no UART'}); the kernel's console goes nowhere.`,
        [],
      );
      return;
    }
    const types = SPCR_TYPE[uart.model];
    if (types && !types.includes(type))
      this.sink.report(
        R,
        'type',
        `SPCR says interface type ${hex(type)} for ${uart.name}, a ${uart.model} (expected ${types.map(hex).join(' or ')}); the kernel picks the wrong driver.`,
        [],
      );
    if (uart.intid !== undefined && gsi !== uart.intid)
      this.sink.report(R, 'gsi', `SPCR gives GSI ${gsi} for ${uart.name}, whose interrupt is INTID ${uart.intid}.`, []);
  }

  private gtdt(b: Uint8Array): void {
    const gsiv = { phys: u32(b, 56), virt: u32(b, 64) };
    for (const [key, e] of this.timerLines) {
      const timer = key.split('/')[0] as 'phys' | 'virt';
      if (e.intid !== gsiv[timer])
        this.sink.report(
          ACPI_RULES.gtdt,
          timer,
          `the ${timer === 'virt' ? 'virtual' : 'EL1 physical'} timer signals INTID ${e.intid}, but the GTDT gives GSIV ${gsiv[timer]}: the kernel waits on another interrupt.`,
          [e],
        );
    }
  }

  private madt(b: Uint8Array, ctx: ReplayContext): void {
    const R = ACPI_RULES.madt;
    const entries = madtEntries(b);
    const gicd = entries.find((x) => x.type === 0x0c);
    const dist = ctx.regionsByRole('gic_dist')[0];
    if (gicd && dist && Number(u64(b, gicd.at + 8)) !== dist.base)
      this.sink.report(
        R,
        'gicd',
        `the MADT puts the GIC distributor at ${hex(u64(b, gicd.at + 8))}; the platform's is at ${hex(dist.base)}.`,
        [],
      );
    for (const its of entries.filter((x) => x.type === 0x0f)) {
      const base = Number(u64(b, its.at + 8));
      if (!ctx.regionsByRole('gic_its').some((r) => r.base === base))
        this.sink.report(
          R,
          `its@${hex(base)}`,
          `the MADT lists a GIC ITS at ${hex(base)}, but the platform has none there: Linux tries to probe it (here: 'Unable to locate ITS domain handle'; on QEMU 7.2 TCG with its=off the kernel faults in its_acpi_reset).`,
          [],
        );
    }
    const gicc = entries.filter((x) => x.type === 0x0b).length;
    const vcpus = Number((ctx.meta.source.config as { smp?: unknown }).smp ?? 0);
    if (vcpus > 0 && gicc !== vcpus)
      this.sink.report(R, 'gicc', `the MADT has ${gicc} GIC CPU interface structure(s) for ${vcpus} vCPU(s).`, []);
  }
}

export const acpiFamily: RuleFamily = {
  family: 'acpi',
  rules: Object.values(ACPI_RULES),
  create: (sink) => new AcpiRules(sink),
};
