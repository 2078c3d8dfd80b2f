// Saving and restoring the state of an object graph in place: the machine's vCPUs, devices,
// scheduler and recorder are plain objects, arrays, Maps, Sets and typed arrays reachable from a
// few roots, so one generic walk captures them all (no per-device code to keep in step with the
// devices). Restoring writes the saved values back into the same objects, so references held
// elsewhere (closures, the personality's hooks, the gdb server) stay valid.
//
// What is left out: functions (their closures are not reachable), objects the caller excludes
// (caches that are rebuilt, the trace sinks, the debugger's breakpoints), and typed arrays over
// guest RAM (ram.ts keeps RAM as copy-on-write pages). A typed array whose contents did not change
// since the previous capture shares that capture's copy, so large images held by devices (flash,
// firmware, fw_cfg files) cost their size once, not once per snapshot.

/** One object's saved state. */
type Saved =
  | { kind: 'obj'; o: Record<string, unknown>; keys: string[]; values: unknown[] }
  | { kind: 'arr'; o: unknown[]; values: unknown[] }
  | { kind: 'map'; o: Map<unknown, unknown>; entries: [unknown, unknown][] }
  | { kind: 'set'; o: Set<unknown>; values: unknown[] }
  | { kind: 'bytes'; src: object; o: Uint8Array; copy: Uint8Array };

export interface GraphCapture {
  readonly saved: Saved[];
  /** Bytes this capture added (copies not shared with the previous one, plus a per-object estimate). */
  readonly bytes: number;
}

export interface GraphOptions {
  /** Objects never walked into (a reference to one is saved and restored as a reference). */
  exclude: ReadonlySet<object>;
  /** ArrayBuffers whose views are not saved (guest RAM: kept as pages elsewhere). */
  skipBuffers: ReadonlySet<ArrayBufferLike>;
}

/** Estimated V8 cost of a saved object or array slot (for the memory bound, not exact). */
const OBJECT_COST = 64,
  SLOT_COST = 16;

/** The bytes of a typed array or DataView, as a Uint8Array over the same memory. */
function bytesOf(v: ArrayBufferView): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * Save every object reachable from `roots`. `previous` is the last capture of the same graph: a
 * typed array equal to its copy there reuses that copy.
 */
export function captureGraph(roots: readonly object[], opts: GraphOptions, previous?: GraphCapture): GraphCapture {
  const prevCopy = new Map<object, Uint8Array>();
  if (previous) for (const s of previous.saved) if (s.kind === 'bytes') prevCopy.set(s.src, s.copy);
  const seen = new Set<object>();
  const saved: Saved[] = [];
  let bytes = 0;
  const stack: unknown[] = [...roots];
  const visit = (v: unknown): void => {
    if (v !== null && (typeof v === 'object' || Array.isArray(v))) stack.push(v);
  };
  while (stack.length) {
    const v = stack.pop() as object;
    if (seen.has(v) || opts.exclude.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (opts.skipBuffers.has(v.buffer)) continue;
      const cur = bytesOf(v);
      const prev = prevCopy.get(v);
      let copy: Uint8Array;
      if (prev && sameBytes(prev, cur)) copy = prev;
      else {
        copy = cur.slice();
        bytes += copy.length;
      }
      saved.push({ kind: 'bytes', src: v, o: cur, copy });
      continue;
    }
    if (v instanceof ArrayBuffer || typeof v === 'function' || v instanceof WebAssembly.Memory || v instanceof Promise) continue;
    if (Object.isFrozen(v)) {
      // immutable: nothing to save, but what it refers to may not be
      for (const x of Object.values(v)) visit(x);
      continue;
    }
    bytes += OBJECT_COST;
    if (Array.isArray(v)) {
      const values = v.slice();
      bytes += SLOT_COST * values.length;
      saved.push({ kind: 'arr', o: v, values });
      for (const x of values) visit(x);
    } else if (v instanceof Map) {
      const entries = [...v.entries()];
      bytes += 2 * SLOT_COST * entries.length;
      saved.push({ kind: 'map', o: v, entries });
      for (const [k, x] of entries) {
        visit(k);
        visit(x);
      }
    } else if (v instanceof Set) {
      const values = [...v];
      bytes += SLOT_COST * values.length;
      saved.push({ kind: 'set', o: v, values });
      for (const x of values) visit(x);
    } else {
      const o = v as Record<string, unknown>;
      const keys: string[] = [];
      const values: unknown[] = [];
      // own data properties only: accessors (object literals' getters) are computed, not state
      for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(o))) {
        if (!('value' in d) || !d.writable) {
          if ('value' in d) visit(d.value); // a read-only field may still hold mutable objects
          continue;
        }
        keys.push(k);
        values.push(d.value);
        visit(d.value);
      }
      bytes += SLOT_COST * keys.length;
      saved.push({ kind: 'obj', o, keys, values });
    }
  }
  return { saved, bytes };
}

/** Write a capture back into its objects. */
export function restoreGraph(c: GraphCapture): void {
  for (const s of c.saved) {
    switch (s.kind) {
      case 'bytes':
        s.o.set(s.copy);
        break;
      case 'arr': {
        const a = s.o;
        a.length = s.values.length;
        for (let i = 0; i < s.values.length; i++) a[i] = s.values[i];
        break;
      }
      case 'map':
        s.o.clear();
        for (const [k, x] of s.entries) s.o.set(k, x);
        break;
      case 'set':
        s.o.clear();
        for (const x of s.values) s.o.add(x);
        break;
      case 'obj': {
        const o = s.o;
        for (let i = 0; i < s.keys.length; i++) o[s.keys[i]!] = s.values[i];
        // a field first set after the capture did not exist then
        if (Object.keys(o).length !== s.keys.length) {
          const had = new Set(s.keys);
          for (const k of Object.keys(o)) {
            const d = Object.getOwnPropertyDescriptor(o, k)!;
            if ('value' in d && d.writable && d.configurable && !had.has(k)) delete o[k];
          }
        }
        break;
      }
    }
  }
}
