// Layering rules for bootscope, checked by dependency-cruiser (test/layers.test.ts runs them in CI;
// `npx depcruise arch capture emu analyze tui cli` prints the same report). Data flows one way:
//
//   arch ← capture ← analyze ← tui ← cli        arch ← emu, capture ← emu, emu ← cli
//
// arch holds architecture facts (register maps, hypercall numbers, system-register encodings, FDT)
// and imports nothing of ours; capture (trace model, store, importers) never imports emu or analyze;
// analyze never imports emu; only cli ties the emulator and the analyzers together. Type-only imports
// count: a layer that needs a type from above does not sit below it.

import type { IConfiguration, IForbiddenRuleType } from 'dependency-cruiser';

/** Each layer and the layers it may import (besides itself). */
export const LAYERS: Readonly<Record<string, readonly string[]>> = {
  arch: [],
  capture: ['arch'],
  emu: ['arch', 'capture'],
  analyze: ['arch', 'capture'],
  tui: ['arch', 'capture', 'analyze'],
  cli: ['arch', 'capture', 'emu', 'analyze', 'tui'],
};

/** Top-level folders that are not layers: nothing in a layer may import them. */
const OUTSIDE = ['bench', 'test', 'scripts', 'guests'];

/** One rule per layer: a module in it may import only its own layer and the layers below. */
function layerRules(layers: Readonly<Record<string, readonly string[]>>): IForbiddenRuleType[] {
  const all = [...Object.keys(layers), ...OUTSIDE];
  return Object.entries(layers).map(([layer, below]) => ({
    name: `layer-${layer}`,
    comment: `${layer}/ may import only ${[layer, ...below].join(', ')}`,
    severity: 'error',
    from: { path: `^${layer}/` },
    to: { path: `^(${all.join('|')})/`, pathNot: `^(${[layer, ...below].join('|')})/` },
  }));
}

/** No import cycles, in any layer. */
const NO_CYCLES: IForbiddenRuleType = {
  name: 'no-circular',
  comment: 'modules must not import each other, directly or through others',
  severity: 'error',
  from: {},
  to: { circular: true },
};

/** The rule set for a tree laid out as `layers` (tests pass their own to show the rules bite). */
export function layerConfig(layers = LAYERS): IConfiguration {
  return {
    forbidden: [...layerRules(layers), NO_CYCLES],
    options: {
      // Count `import type` too: a type from an upper layer is still an upward dependency.
      tsPreCompilationDeps: true,
      doNotFollow: { path: 'node_modules' },
      exclude: { path: '^node_modules/' },
    },
  };
}

export default layerConfig();
