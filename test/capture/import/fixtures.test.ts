// Real QEMU fixtures: the committed trimmed boot prefixes always, and the full logs the fixture
// script produces (regenerated here when QEMU is installed and they are missing).
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { importFile } from '../../../cli/commands/import.ts';
import { openTrace } from '../../../capture/store/index.ts';
import { consoleBytes } from '../../../analyze/console.ts';
import { tmp } from './helpers.ts';
import { runScript } from '../../helpers/real-guests.ts';

const root = join(import.meta.dirname, '../../..');
const committed = join(root, 'test/fixtures/qemu');
const full = join(root, '.cache/fixtures');
const FULL = ['linux', 'uboot'].flatMap((g) => [2, 3].flatMap((v) => [1, 2].map((s) => `${g}-gicv${v}-smp${s}`)));

/** QEMU memory-region names → the region names the importer uses (virt map). */
function regionOfMr(name: string, addr: number): string {
  if (name === 'pcie-mmcfg-mmio') return 'pcie-ecam@4010000000';
  if (name === 'virtio-mmio')
    return `virtio-mmio@${addr.toString(16)}`.replace(/@(\w+)$/, (_m, a: string) => '@' + (parseInt(a, 16) & ~0x1ff).toString(16));
  const m: Record<string, string> = {
    pl011: 'pl011@9000000',
    pl031: 'pl031@9010000',
    pl061: 'pl061@9030000',
    gic_dist: 'gicv2-dist@8000000',
    gic_cpu: 'gicv2-cpu@8010000',
    gicv2m: 'gicv2m@8020000',
    gicv3_dist: 'gicv3-dist@8000000',
    'gicv3_redist_region[0]': 'gicv3-redist@80a0000',
    control: 'gicv3-its@8080000',
    'virt.flash0': 'cfi-flash@0',
    'virt.flash1': 'cfi-flash@4000000',
    'fwcfg.ctl': 'fw-cfg@9020000',
    'fwcfg.data': 'fw-cfg@9020000',
    'fwcfg.dma': 'fw-cfg@9020000',
  };
  return m[name] ?? `?${name}`;
}

/** What the raw log says: memory_region_ops accesses per region (each access has exactly one such line). */
function rawMmioCounts(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  const re = /memory_region_ops_(?:read|write) cpu -?\d+ mr \S+ addr 0x([0-9a-f]+) value \S+ size \d+ name '([^']*)'/g;
  for (const m of log.matchAll(re)) {
    const k = regionOfMr(m[2]!, parseInt(m[1]!, 16));
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

async function checkFixture(log: string, serial: Buffer) {
  const out = join(tmp, `${log.split('/').pop()}.trace`);
  const res = await importFile({ input: log, output: out });
  const text = readFileSync(log, 'latin1');
  const lineCount = text.split('\n').length - 1;
  const s = res.stats;
  // No line unaccounted for.
  expect(s.lines).toBe(lineCount);
  expect(s.bad).toBe(0);
  expect(res.accounted).toBe(true);
  const reader = openTrace(out);
  try {
    expect(reader.complete).toBe(true);
    // The console, byte for byte.
    const parts: Uint8Array[] = [];
    const mmio: Record<string, number> = {};
    for (const e of reader.events()) {
      if (e.kind === 'console') parts.push(e.bytes);
      else if (e.kind === 'mmio_read' || e.kind === 'mmio_write') mmio[e.device] = (mmio[e.device] ?? 0) + 1;
    }
    expect(Buffer.concat(parts).equals(serial)).toBe(true);
    // …and as `bootscope console` reconstructs it.
    expect(consoleBytes(reader.events({ kinds: ['console'] })).equals(serial)).toBe(true);
    // MMIO events per device equal the raw log's accesses (device lines merged into their ops lines).
    expect(mmio).toEqual(rawMmioCounts(text));
    expect(reader.meta.extra.unmappedEvents).toEqual(s.unmapped);
    expect(reader.meta.source).toMatchObject({ type: 'import', name: 'qemu-log' });
    // Every device an event names is in the trace's region table.
    const names = new Set(reader.regions.map((r) => r.name));
    for (const d of Object.keys(mmio)) expect(names.has(d), d).toBe(true);
    // The GIC's regions join once the log shows which GIC it is (U-Boot never touches it).
    if (reader.meta.extra.gicVersion !== undefined) expect(names.has(`gicv${reader.meta.extra.gicVersion}-dist@8000000`)).toBe(true);
    expect(names.has('pl011@9000000')).toBe(true);
  } finally {
    reader.close();
  }
  return res;
}

describe('committed trimmed fixtures (real QEMU 7.2 boots)', () => {
  for (const name of ['linux-gicv3-smp2', 'uboot-gicv2-smp1']) {
    it(`${name}: console, MMIO counts, accounting`, async () => {
      const log = join(tmp, `${name}.prefix.log`);
      writeFileSync(log, gunzipSync(readFileSync(join(committed, `${name}.prefix.log.gz`))));
      await checkFixture(log, readFileSync(join(committed, `${name}.prefix.serial`)));
    });
  }
});

const haveQemu = (() => {
  try {
    execFileSync('qemu-system-aarch64', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.runIf(haveQemu || FULL.every((n) => existsSync(join(full, `${n}.done`))))(
  'full QEMU fixtures (scripts/make-qemu-fixtures.sh)',
  () => {
    beforeAll(async () => {
      if (!FULL.every((n) => existsSync(join(full, `${n}.done`)))) await runScript(join(root, 'scripts/make-qemu-fixtures.sh'), []);
    }, 1_800_000);
    for (const name of FULL) {
      it(`${name}: console byte for byte, MMIO counts per device, every line accounted for`, async () => {
        const res = await checkFixture(join(full, `${name}.log`), readFileSync(join(full, `${name}.serial`)));
        expect(res.events).toBeGreaterThan(1000);
      }, 300_000);
    }
  },
);
