// zstd for chunk payloads. Node's built-in zstd (Node >= 22.15 / 23.8) when present, else the
// zstd-codec WebAssembly build. Both write standard frames with the content size in the header,
// so frames from either decode with the other.

import zlib from 'node:zlib';
import { createRequire } from 'node:module';

export interface ZstdCodec {
  readonly name: 'node' | 'zstd-codec';
  compress(data: Uint8Array, level: number): Uint8Array;
  /** Throws on a damaged frame. */
  decompress(frame: Uint8Array): Uint8Array;
}

export const DEFAULT_LEVEL = 3;

type NodeZstd = {
  zstdCompressSync(data: Uint8Array, opts: object): Buffer;
  zstdDecompressSync(data: Uint8Array): Buffer;
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
    decompress(frame) {
      return z.zstdDecompressSync(frame);
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
          decompress(frame) {
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
