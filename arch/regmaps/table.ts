// Register tables as data: offset → name lookups shared by importers, emulator devices and
// analyzers. A table lists single registers and register arrays (name + index suffix); the
// lookup resolves any offset inside a register (byte/halfword accesses) to that register.

/** One register, or an array of `count` registers `stride` bytes apart named NAME0, NAME1… */
export interface RegisterDef {
  readonly offset: number;
  readonly name: string;
  /** Bytes covered by one register (default 4). */
  readonly width?: number;
  /** Array registers: number of instances (names get the index appended). */
  readonly count?: number;
  /** Array registers: distance between instances (default width). */
  readonly stride?: number;
  /** Index of the first instance (default 0), e.g. GICD_IROUTER starts at 32. */
  readonly first?: number;
}

export type RegisterLookup = (offset: number) => string;

/** Build a fast lookup: a dense word table for small maps, a sorted range search otherwise. */
export function makeLookup(defs: readonly RegisterDef[]): RegisterLookup {
  interface Range {
    start: number;
    end: number;
    def: RegisterDef;
  }
  const ranges: Range[] = defs
    .map((def) => {
      const width = def.width ?? 4;
      const count = def.count ?? 1;
      const stride = def.stride ?? width;
      return { start: def.offset, end: def.offset + stride * (count - 1) + width, def };
    })
    .sort((a, b) => a.start - b.start);
  const cache = new Map<number, string>();
  const lookup = (offset: number): string => {
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = ranges[mid]!;
      if (offset < r.start) hi = mid - 1;
      else if (offset >= r.end) lo = mid + 1;
      else {
        const d = r.def;
        if (d.count === undefined) return d.name;
        const width = d.width ?? 4;
        const stride = d.stride ?? width;
        const rel = offset - r.start;
        if (rel % stride >= width) return '';
        return d.name + String((d.first ?? 0) + Math.floor(rel / stride));
      }
    }
    return '';
  };
  // Memoize: register decoding sits on the importers' hot path and offsets repeat a lot.
  return (offset: number): string => {
    let name = cache.get(offset);
    if (name === undefined) {
      name = lookup(offset);
      if (cache.size < 65536) cache.set(offset, name);
    }
    return name;
  };
}

/**
 * Standard PrimeCell identification registers at the top of a 4 KiB window: PeriphID0-3 then
 * PCellID0-3, one byte per word (the programmer's model chapter of each PrimeCell TRM, e.g. Arm DDI 0183).
 */
export const PRIMECELL = { PeriphID: 0xfe0, PCellID: 0xff0, END: 0x1000 } as const;

export const PRIMECELL_ID: readonly RegisterDef[] = [
  { offset: PRIMECELL.PeriphID, name: 'PeriphID', count: 4 },
  { offset: PRIMECELL.PCellID, name: 'PCellID', count: 4 },
];
