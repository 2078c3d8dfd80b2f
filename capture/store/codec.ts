// zstd for chunk payloads. Node's built-in zstd (Node >= 22.15 / 23.8) when present, else the
// zstd-codec WebAssembly build. Both write standard frames with the content size in the header,
// so frames from either decode with the other.

import zlib from 'node:zlib';
import { createRequire } from 'node:module';

export interface ZstdCodec {
  readonly name: 'node' | 'zstd-codec';
  compress(data: Uint8Array, level: number): Uint8Array;
  /**
   * Throws on a damaged frame. With `expectedSize` (what the chunk index says the payload is), a
   * frame whose header declares another size, or none, is refused before anything is inflated: a
   * damaged or hostile frame cannot make the reader allocate gigabytes.
   */
  decompress(frame: Uint8Array, expectedSize?: number): Uint8Array;
}

const ZSTD_MAGIC = 0xfd2fb528;

/**
 * The content size a zstd frame header declares (RFC 8878 §3.1.1.1): a number, undefined when
 * the header has no Frame_Content_Size field, or null when this is not a zstd frame header.
 */
export function zstdContentSize(frame: Uint8Array): number | undefined | null {
  if (frame.length < 5) return null;
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (dv.getUint32(0, true) !== ZSTD_MAGIC) return null;
  const fhd = frame[4]!;
  if (fhd & 0x08) return null; // reserved bit: must be zero
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = fcsFlag === 0 ? (single ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
  const at = 5 + (single ? 0 : 1) + dictBytes;
  if (fcsBytes === 0) return undefined;
  if (frame.length < at + fcsBytes) return null;
  switch (fcsBytes) {
    case 1:
      return frame[at]!;
    case 2:
      return dv.getUint16(at, true) + 256;
    case 4:
      return dv.getUint32(at, true);
    default:
      return Number(dv.getBigUint64(at, true));
  }
}

/** Refuse a frame that does not declare exactly `expected` bytes (before inflating it). */
function checkDeclared(frame: Uint8Array, expected: number): void {
  const declared = zstdContentSize(frame);
  if (declared === null) throw new Error('not a zstd frame (bad magic or header)');
  if (declared === undefined) throw new Error(`zstd frame does not declare its size (the chunk index says ${expected} bytes)`);
  if (declared !== expected)
    throw new Error(`zstd frame declares ${declared} bytes, the chunk index says ${expected}: refused before inflating`);
}

export const DEFAULT_LEVEL = 3;

/**
 * Largest payload a chunk may inflate to: the writer caps a chunk at 2^20 events and flushes early
 * past 1 MiB of held bytes, so real chunks stay far below; a larger claim is damage.
 */
export const MAX_CHUNK_RAW_BYTES = 256 << 20;

type NodeZstd = {
  zstdCompressSync(data: Uint8Array, opts: object): Buffer;
  zstdDecompressSync(data: Uint8Array, opts?: { maxOutputLength?: number }): Buffer;
};

function nodeZstd(): NodeZstd | undefined {
  const z = zlib as unknown as Partial<NodeZstd>;
  if (typeof z.zstdCompressSync !== 'function' || typeof z.zstdDecompressSync !== 'function') return undefined;
  return z as NodeZstd;
}

export function hasNodeZstd(): boolean {
  return nodeZstd() !== undefined;
}

function makeNodeCodec(z: NodeZstd): ZstdCodec {
  const levelKey = (zlib.constants as Record<string, number>)['ZSTD_c_compressionLevel']!;
  return {
    name: 'node',
    compress(data, level) {
      return z.zstdCompressSync(data, { params: { [levelKey]: level }, pledgedSrcSize: data.length });
    },
    decompress(frame, expectedSize) {
      if (expectedSize === undefined) return z.zstdDecompressSync(frame);
      checkDeclared(frame, expectedSize);
      // The bound holds even if more frames follow the first.
      const out = z.zstdDecompressSync(frame, { maxOutputLength: Math.max(1, expectedSize) });
      if (out.length !== expectedSize) throw new Error(`zstd frame inflated to ${out.length} bytes, it declares ${expectedSize}`);
      return out;
    },
  };
}

interface WasmSimple {
  compress(data: Uint8Array, level: number): Uint8Array | null;
  decompress(data: Uint8Array): Uint8Array | null;
}
interface WasmStreaming {
  decompress(data: Uint8Array): Uint8Array | null;
}
interface WasmGeneric {
  contentSize(data: Uint8Array): number | null;
}
interface WasmZstd {
  Generic: new () => WasmGeneric;
  Simple: new () => WasmSimple;
  Streaming: new () => WasmStreaming;
}

let wasmPromise: Promise<ZstdCodec> | undefined;

function loadWasmCodec(): Promise<ZstdCodec> {
  wasmPromise ??= new Promise((resolve, reject) => {
    try {
      const req = createRequire(import.meta.url);
      const mod = req('zstd-codec') as { ZstdCodec: { run(cb: (z: WasmZstd) => void): void } };
      mod.ZstdCodec.run((z) => {
        const generic = new z.Generic();
        const simple = new z.Simple();
        const streaming = new z.Streaming();
        resolve({
          name: 'zstd-codec',
          compress(data, level) {
            const out = simple.compress(data, level);
            if (!out) throw new Error(`zstd-codec could not compress ${data.length} bytes`);
            return out;
          },
          decompress(frame, expectedSize) {
            if (expectedSize !== undefined) checkDeclared(frame, expectedSize);
            // With a content size in the header (what both writers produce) the output must
            // have exactly that size; Streaming is only for frames without one.
            const size = frame.length >= 6 ? generic.contentSize(frame) : null;
            if (size === 0) return new Uint8Array(0);
            const out = size !== null ? simple.decompress(frame) : streaming.decompress(frame);
            if (!out || (size !== null && out.length !== size)) throw new Error('zstd frame is damaged');
            return out;
          },
        });
      });
    } catch (err) {
      reject(err);
    }
  });
  return wasmPromise;
}

// Without built-in zstd, load the WebAssembly codec once at import so every later call is sync.
let fallback: ZstdCodec | undefined;
if (!nodeZstd()) fallback = await loadWasmCodec();

/** The default codec, synchronously: Node's built-in zstd, else zstd-codec (preloaded). */
export function defaultCodec(): ZstdCodec {
  const z = nodeZstd();
  return z ? makeNodeCodec(z) : fallback!;
}

/** A specific codec (tests use this to cross-check the two). 'auto' prefers Node's built-in zstd. */
export async function loadCodec(which: 'auto' | 'node' | 'zstd-codec' = 'auto'): Promise<ZstdCodec> {
  const z = nodeZstd();
  if (which === 'node') {
    if (!z) throw new Error(`this Node (${process.version}) has no built-in zstd`);
    return makeNodeCodec(z);
  }
  if (which === 'auto' && z) return makeNodeCodec(z);
  return loadWasmCodec();
}
