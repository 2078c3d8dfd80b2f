// `--jit [js|wasm]` / `--no-jit` of run and replay, as the emulator's jit option.

import type { JitOptions } from '../emu/cpu/jit.ts';
import { UserError } from './errors.ts';

export const JIT_HELP = 'compile hot blocks: js (JavaScript, the default) or wasm (WebAssembly, experimental); same trace';

/** The commander value of --jit (true: bare flag; a string: the back end; false: --no-jit) as RunConfig.jit. */
export function jitOption(v: boolean | string | undefined): { jit?: boolean | JitOptions } {
  if (v === false) return { jit: false };
  if (v === undefined || v === true) return {};
  if (v === 'js' || v === 'wasm') return { jit: { backend: v } };
  throw new UserError(`--jit: unknown back end '${v}' (available: js, wasm)`);
}
