// Counts per kind, device, register, INTID, hypercall and vCPU, gathered chunk by chunk from
// the column data (no event objects), plus the per-chunk facts the chunk index records.

import { KIND_BY_CODE, CONDUITS } from '../model.ts';
import { KIND_LAYOUTS, STREAM_BY_KEY, DEVICE_FIELD_BY_KIND } from './layout.ts';
import type { IntColumn } from './bytes.ts';

/** The columns a summary needs: a ChunkBuilder or a DecodedChunk both provide them. */
export interface ColumnView {
  readonly count: number;
  readonly kind: Uint8Array;
  readonly vcpu: Int32Array;
  readonly time: Float64Array;
  stream(index: number): { readonly num: IntColumn; readonly u8: Uint8Array; readonly entries: (string | number)[] } | undefined;
}

/** What the chunk index stores about one chunk. */
export interface ChunkFacts {
  timeMin: number;
  timeMax: number;
  kinds: number;
  vcpus: number[];
  devices: string[];
  registers: string[];
  intids: number[];
}

const sIdx = (key: string): number => STREAM_BY_KEY.get(key)!.index;
const S_DEVICE = sIdx('device:str');
const S_REGISTER = sIdx('register:str');
const S_INTID = sIdx('intid:u32');
const S_CONDUIT = sIdx('conduit:enum');
const S_FUNC = sIdx('func:u53');
const S_NAME = sIdx('name:str');
const S_SUBOP = sIdx('subop:str');

const DEVICE_STREAMS = KIND_LAYOUTS.flatMap((k) => {
  const f = DEVICE_FIELD_BY_KIND[k.kind];
  return f ? [k.fields.find((x) => x.name === f)!.stream.index] : [];
});
const READ_STREAMS = new Set([S_DEVICE, S_REGISTER, S_INTID, S_CONDUIT, S_FUNC, S_NAME, S_SUBOP, ...DEVICE_STREAMS]);

/** Per kind code: which streams its events advance, and where the interesting ones sit. */
const KIND_PLAN = KIND_LAYOUTS.map((k) => {
  // Only the streams the summary reads need cursors; a kind advances those it has.
  const streams = Int32Array.from(k.fields.map((f) => f.stream.index).filter((i) => READ_STREAMS.has(i)));
  const deviceField = DEVICE_FIELD_BY_KIND[k.kind];
  const deviceStream = deviceField ? k.fields.find((f) => f.name === deviceField)!.stream.index : -1;
  return {
    streams,
    deviceStream,
    isMmio: k.kind === 'mmio_read' || k.kind === 'mmio_write',
    hasIntid: k.fields.some((f) => f.stream.index === S_INTID),
    isHypercall: k.kind === 'hypercall',
  };
});

const KSHIFT = 32;

const F_MMIO = 1;
const F_DEVICE = 2;
const F_INTID = 4;
const F_HYPERCALL = 8;
const F_ADVANCE = 16; // has streams the summary reads (cursor must move) but counts nothing else
const KIND_FLAGS = Uint8Array.from(
  KIND_PLAN.map(
    (p) =>
      (p.isMmio ? F_MMIO : 0) |
      (!p.isMmio && p.deviceStream >= 0 ? F_DEVICE : 0) |
      (p.hasIntid ? F_INTID : 0) |
      (p.isHypercall ? F_HYPERCALL : 0) |
      (p.streams.length > 0 ? F_ADVANCE : 0),
  ),
); // kind code multiplier in numeric keys (codes < 32)

function bump<K>(m: Map<K, number>, k: K, by = 1): void {
  m.set(k, (m.get(k) ?? 0) + by);
}

export class Summary {
  readonly kinds = new Map<string, number>();
  readonly devices = new Map<string, number>(); //   device \0 kind
  readonly registers = new Map<string, number>(); // device \0 register \0 kind
  readonly intids = new Map<string, number>(); //    intid \0 kind
  readonly hypercalls = new Map<string, number>(); // conduit \0 func \0 name \0 subop
  readonly vcpus = new Map<string, number>(); //     vcpu \0 kind
  events = 0;

  /** Add one chunk's events; returns the facts for its index row. */
  add(v: ColumnView): ChunkFacts {
    const n = v.count;
    const cur = new Int32Array(STREAM_BY_KEY.size);
    const perKind = new Float64Array(KIND_LAYOUTS.length);
    const dev = new Map<number, number>(); //  (stream << 20 | dict) * 32 + kind
    const intid = new Map<number, number>(); // intid * 32 + kind
    let timeMin = Infinity;
    let timeMax = -Infinity;
    const devS = v.stream(S_DEVICE);
    const regS = v.stream(S_REGISTER);
    const intS = v.stream(S_INTID);
    // Dense counters for the hot dimensions (MMIO register, vCPU); Maps for the rest.
    const nDev = devS ? devS.entries.length : 0;
    const nReg = regS ? regS.entries.length : 0;
    const dense = nDev * nReg <= 65536;
    const regCounts = new Float64Array(dense ? nDev * nReg * KSHIFT : 0);
    const reg = new Map<number, number>(); // (devIdx * 2^21 + regIdx) * 32 + kind, when not dense
    let maxVcpu = 0;
    for (let i = 0; i < n; i++) if (v.vcpu[i]! > maxVcpu) maxVcpu = v.vcpu[i]!;
    const vcpuCounts = new Float64Array((maxVcpu + 2) * KSHIFT);
    const kinds = v.kind;
    const vcpus = v.vcpu;
    const times = v.time;
    for (let i = 0; i < n; i++) {
      const k = kinds[i]!;
      perKind[k]!++;
      const t = times[i]!;
      if (t < timeMin) timeMin = t;
      if (t > timeMax) timeMax = t;
      vcpuCounts[(vcpus[i]! + 1) * KSHIFT + k]!++;
      const flags = KIND_FLAGS[k]!;
      if (flags === 0) {
        // Nothing but the kind/vCPU/time counters.
      } else if (flags & F_MMIO) {
        const d = devS!.num[cur[S_DEVICE]!]!;
        const r = regS!.num[cur[S_REGISTER]!]!;
        if (dense) regCounts[(d * nReg + r) * KSHIFT + k]!++;
        else {
          const rk = (d * 2097152 + r) * KSHIFT + k;
          reg.set(rk, (reg.get(rk) ?? 0) + 1);
        }
      } else {
        if (flags & F_DEVICE) {
          const s = KIND_PLAN[k]!.deviceStream;
          const dk = (s * 1048576 + v.stream(s)!.num[cur[s]!]!) * KSHIFT + k;
          dev.set(dk, (dev.get(dk) ?? 0) + 1);
        }
        if (flags & F_INTID) {
          const ik = intS!.num[cur[S_INTID]!]! * KSHIFT + k;
          intid.set(ik, (intid.get(ik) ?? 0) + 1);
        }
        if (flags & F_HYPERCALL) this.addHypercall(v, cur);
      }
      if (flags !== 0) {
        const adv = KIND_PLAN[k]!.streams;
        for (let j = 0; j < adv.length; j++) cur[adv[j]!]!++;
      }
    }
    if (dense)
      for (let d = 0; d < nDev; d++)
        for (let r = 0; r < nReg; r++)
          for (let k = 0; k < KSHIFT; k++) {
            const c = regCounts[(d * nReg + r) * KSHIFT + k]!;
            if (c) reg.set((d * 2097152 + r) * KSHIFT + k, c);
          }
    const vcpu = new Map<number, number>();
    for (let x = 0; x < vcpuCounts.length; x++) if (vcpuCounts[x]) vcpu.set(x, vcpuCounts[x]!);

    // Fold the numeric per-chunk keys into the named totals.
    const facts: ChunkFacts = {
      timeMin: n ? timeMin : 0,
      timeMax: n ? timeMax : 0,
      kinds: 0,
      vcpus: [],
      devices: [],
      registers: [],
      intids: [],
    };
    perKind.forEach((c, k) => {
      if (c > 0) {
        facts.kinds |= 1 << k;
        bump(this.kinds, KIND_BY_CODE[k]!, c);
      }
    });
    const devSet = new Set<string>();
    const regSet = new Set<string>();
    for (const [key, c] of reg) {
      const kc = key % KSHIFT;
      const pair = (key - kc) / KSHIFT;
      const r = pair % 2097152;
      const d = (pair - r) / 2097152;
      const dname = devS!.entries[d] as string;
      const rname = regS!.entries[r] as string;
      const kind = KIND_BY_CODE[kc]!;
      bump(this.registers, `${dname}\0${rname}\0${kind}`, c);
      bump(this.devices, `${dname}\0${kind}`, c);
      devSet.add(dname);
      if (rname) regSet.add(rname);
    }
    for (const [key, c] of dev) {
      const kc = key % KSHIFT;
      const pair = (key - kc) / KSHIFT;
      const d = pair % 1048576;
      const s = (pair - d) / 1048576;
      const dname = v.stream(s)!.entries[d] as string;
      bump(this.devices, `${dname}\0${KIND_BY_CODE[kc]!}`, c);
      devSet.add(dname);
    }
    const intidSet = new Set<number>();
    for (const [key, c] of intid) {
      const kc = key % KSHIFT;
      const id = (key - kc) / KSHIFT;
      bump(this.intids, `${id}\0${KIND_BY_CODE[kc]!}`, c);
      intidSet.add(id);
    }
    const vcpuSet = new Set<number>();
    for (const [key, c] of vcpu) {
      const kc = key % KSHIFT;
      const id = (key - kc) / KSHIFT - 1;
      bump(this.vcpus, `${id}\0${KIND_BY_CODE[kc]!}`, c);
      vcpuSet.add(id);
    }
    devSet.delete('');
    facts.devices = [...devSet].sort();
    facts.registers = [...regSet].sort();
    facts.intids = [...intidSet].sort((a, b) => a - b);
    facts.vcpus = [...vcpuSet].sort((a, b) => a - b);
    this.events += n;
    return facts;
  }

  private addHypercall(v: ColumnView, cur: Int32Array): void {
    const conduit = CONDUITS[v.stream(S_CONDUIT)!.u8[cur[S_CONDUIT]!]!]!;
    const fs = v.stream(S_FUNC)!;
    const func = fs.entries[fs.num[cur[S_FUNC]!]!] as number;
    const ns = v.stream(S_NAME)!;
    const name = ns.entries[ns.num[cur[S_NAME]!]!] as string;
    const ss = v.stream(S_SUBOP)!;
    const subop = ss.entries[ss.num[cur[S_SUBOP]!]!] as string;
    bump(this.hypercalls, `${conduit}\0${func}\0${name}\0${subop}`);
  }
}
