import { defineConfig } from 'vitest/config';

// Three tiers, all run by `./bootscope test` (CI); `npm run test:unit` is the quick loop.
// A test file belongs to `real` if it boots a real guest (Debian's kernels, U-Boot, nested KVM or
// Xen), else to `oracle` if it runs QEMU, Unicorn or our cross-built guests, else to `unit`.

/** Boots real guests: pinned Debian packages (guests/inputs.lock). */
const REAL = [
  'test/real/**/*.test.ts',
  'test/analyze/*-linux.test.ts',
  'test/analyze/explain-uart-qemu.test.ts',
  'test/cli/cli.test.ts',
  'test/emu/dt/loader.test.ts',
];

/** Differential tests against real QEMU and Unicorn, and runs of the guests built from guests/. */
const ORACLE = [
  'test/analyze/diff-qemu.test.ts',
  'test/analyze/rules-xen-guest.test.ts',
  'test/capture/import/{fixtures,ftrace,memmap}.test.ts',
  'test/cli/writes.test.ts',
  'test/emu/{cli,determinism,differential,guests}.test.ts',
  'test/emu/cpu/{diff-unicorn,diff-unicorn-fp,jit}.test.ts',
  'test/emu/devices/qemu-*.test.ts',
  'test/emu/dt/*.test.ts',
  'test/emu/personality/qemu-*.test.ts',
  'test/emu/personality/xen/{dtb-replay,guests,oracle-log,pvbus-guest}.test.ts',
  'test/emu/storage/disk.test.ts',
  'test/gdb/**/*.test.ts',
  'test/guests/**/*.test.ts',
];

const ALL = ['test/**/*.test.ts', 'test/**/*.test.tsx'];

export default defineConfig({
  test: {
    testTimeout: 600_000,
    // Set-up hooks build oracles on a fresh machine (the nested-KVM corpus: six runs of 1.5–2 min
    // each, which the kvm tests wait for under one lock); this bounds a hang, it does not time work.
    hookTimeout: 2_400_000,
    pool: 'forks',
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'unit', include: ALL, exclude: [...ORACLE, ...REAL] } },
      { extends: true, test: { name: 'oracle', include: ORACLE, exclude: REAL } },
      { extends: true, test: { name: 'real', include: REAL } },
    ],
  },
});
