// The xen DTB as libxl writes it (xl) and as Xen's dom0less builder writes it (compared with what real Xen wrote), checked by Debian's dtc; determinism and replay of xen traces;
// the CLI switches.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replayTrace } from '../../../../emu/machine/replay.ts';
import { buildXenDtb } from '../../../../emu/dt/xen.ts';
import { xenAffinity } from '../../../../emu/personality/xen.ts';
import { runGuest } from '../../../../emu/run.ts';
import { guestBinary, REPO_ROOT } from '../../../helpers/qemu-runs.ts';
import { tempDir } from '../../helpers.ts';

const tmp = tempDir('bootscope-xen-dt-');
afterAll(() => tmp.cleanup());
const MEM = 128 * 1024 * 1024;

function dts(blob: Uint8Array, name: string): { text: string; warnings: string } {
  const file = tmp.file(name);
  writeFileSync(file, blob);
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dtc rejected ${name}: ${r.stderr}`);
  return { text: r.stdout, warnings: r.stderr };
}

describe('the domU device tree', () => {
  it('GICv3, 2 vCPUs, SBSA vUART: the nodes libxl writes, accepted by dtc', () => {
    const { text } = dts(
      buildXenDtb({ smp: 2, memSize: MEM, gic: 3, vuart: 'sbsa', bootargs: 'console=hvc0', affinity: xenAffinity }),
      'v3.dtb',
    );
    for (const line of [
      'compatible = "xen,xenvm-4.17\\0xen,xenvm";',
      'bootargs = "console=hvc0";',
      'compatible = "arm,psci-1.0\\0arm,psci-0.2\\0arm,psci";',
      'method = "hvc";',
      'cpu_off = <0x01>;',
      'cpu_on = <0x02>;',
      'reg = <0x00 0x40000000 0x00 0x8000000>;',
      'interrupt-controller@3001000 {',
      'compatible = "arm,gic-v3";',
      'reg = <0x00 0x3001000 0x00 0x10000 0x00 0x3020000 0x00 0x1000000>;',
      'compatible = "arm,armv8-timer";',
      // three PPIs, as libxl lists them: secure and non-secure physical, virtual (no hypervisor timer)
      'interrupts = <0x01 0x0d 0xf08 0x01 0x0e 0xf08 0x01 0x0b 0xf08>;',
      'compatible = "xen,xen-4.17\\0xen,xen";',
      // the grant-table region, then the extended regions: RAM0 above the domain's 128 MiB, all of RAM1
      'reg = <0x00 0x38000000 0x00 0x1000000 0x00 0x48000000 0x00 0xb8000000 0x02 0x00 0xfe 0x00>;',
      'interrupts = <0x01 0x0f 0xf08>;',
      'sbsa-uart@22000000 {',
      'compatible = "arm,sbsa-uart";',
      'interrupts = <0x00 0x00 0x04>;',
      'current-speed = <0x1c200>;',
      'cpu@1 {',
    ]) {
      expect(text).toContain(line);
    }
    expect(text).not.toMatch(/pl011|pl031|virtio/);
  });

  // What real Xen 4.17.7 wrote for a dom0less domU (scripts/xen-oracle/run.sh --kernel
  // guests/bin/xenprobe.bin --mem 128 …; the probe printed its DTB), decompiled by dtc: the
  // dom0less tree is the same, node by node and property by property.
  it.each([
    ['dom0less-gicv3-smp2.dts', { smp: 2, gic: 3 as const, vuart: 'none' as const }],
    ['dom0less-gicv2-smp1-vpl011.dts', { smp: 1, gic: 2 as const, vuart: 'sbsa' as const }],
  ])("dom0less: the tree Xen's own builder writes (%s)", (file, c) => {
    const want = readFileSync(join(import.meta.dirname, 'expected', file), 'utf8');
    const got = dts(
      buildXenDtb({ toolstack: 'dom0less', memSize: MEM, bootargs: 'console=hvc0 earlycon=xenboot', affinity: xenAffinity, ...c }),
      file,
    ).text;
    expect(got).toBe(want);
  });

  it('GICv2 with no vUART; --uart-dt pl011 describes the vUART as a PrimeCell with a clock', () => {
    const v2 = dts(buildXenDtb({ smp: 1, memSize: MEM, gic: 2, affinity: xenAffinity }), 'v2.dtb').text;
    expect(v2).toContain('compatible = "arm,cortex-a15-gic";');
    expect(v2).toContain('reg = <0x00 0x3001000 0x00 0x1000 0x00 0x3002000 0x00 0x2000>;');
    expect(v2).not.toContain('uart');
    const pl011 = dts(buildXenDtb({ smp: 1, memSize: MEM, gic: 3, vuart: 'pl011', affinity: xenAffinity }), 'pl011.dtb').text;
    expect(pl011).toContain('pl011@22000000 {');
    expect(pl011).toContain('compatible = "arm,pl011\\0arm,primecell";');
    expect(pl011).toContain('clock-names = "uartclk\\0apb_pclk";');
    expect(pl011).not.toContain('sbsa');
  });

  it('vCPU 16 gets Xen vMPIDR affinity 0x100 (Aff1 = id / 16)', () => {
    const { text } = dts(buildXenDtb({ smp: 17, memSize: MEM, gic: 3, affinity: xenAffinity }), 'v17.dtb');
    expect(text).toContain('cpu@100 {');
    expect(xenAffinity(16)).toBe(0x100);
  });
});

describe('determinism and replay under --machine xen', () => {
  it('two runs of the 4-vCPU smp guest give the same digest, and replay says identical', async () => {
    const cfg = { machine: 'xen' as const, kernel: guestBinary('smp'), smp: 4, gic: 3 as const, memBytes: MEM };
    const a = await runGuest({ ...cfg, output: tmp.file('a.trace') });
    const b = await runGuest({ ...cfg, output: tmp.file('b.trace') });
    expect(a.digest).toBeDefined();
    expect(b.digest).toBe(a.digest);
    const r = await replayTrace(tmp.file('a.trace'));
    expect(r.identical).toBe(true);
    expect(r.compared).toBe(a.events);
  });

  it('replay re-runs the vUART configuration recorded in the trace', async () => {
    const out = tmp.file('uart.trace');
    const a = await runGuest({ machine: 'xen', kernel: guestBinary('uart'), gic: 2, memBytes: MEM, vuart: 'sbsa', output: out });
    const r = await replayTrace(out);
    expect(r.identical).toBe(true);
    expect(r.compared).toBe(a.events);
    expect(r.run.source.config).toMatchObject({ vuart: 'sbsa' });
  });
});

describe('bootscope run --machine xen', () => {
  // Asynchronous: synchronous children would block the worker and starve vitest's RPC.
  const cli = (...args: string[]): Promise<{ code: number | null; out: string; err: string }> =>
    new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        ['--disable-warning=ExperimentalWarning', join(REPO_ROOT, 'cli/main.ts'), ...args],
        { cwd: tmp.dir, encoding: 'latin1' },
        (err, out, errText) => {
          const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
          if (err && code === null && !('signal' in err && err.signal)) return reject(err);
          resolve({ code, out, err: errText });
        },
      );
    });
  it('runs a guest and documents the switches in --help', async () => {
    const r = await cli('run', '--machine', 'xen', '--kernel', guestBinary('exceptions'), '--mem', '128M', '-o', tmp.file('cli.trace'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('PASS exceptions');
    const help = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--disable-warning=ExperimentalWarning', join(REPO_ROOT, 'cli/main.ts'), 'run', '--help'],
        { encoding: 'utf8' },
        (err, out) => (err ? reject(err) : resolve(out)),
      ),
    );
    for (const opt of [
      '--xen-toolstack <xl|dom0less>',
      '--vuart <sbsa>',
      '--no-vuart',
      '--uart-dt <sbsa|pl011>',
      'xen (a Xen 4.17 domU)',
      '--shutdown-after <time>',
    ])
      expect(help).toContain(opt);
  });
  it('bad switches are one-line errors', async () => {
    expect((await cli('run', '--machine', 'hyperv', '--kernel', 'k', '-o', 't')).err).toContain(
      "--machine: unknown machine 'hyperv' (available: kvm, xen)",
    );
    expect((await cli('run', '--kernel', 'k', '-o', 't', '--vuart', 'sbsa')).err).toContain(
      "--vuart models Xen's vUART: it needs --machine xen",
    );
    expect((await cli('run', '--machine', 'xen', '--kernel', 'k', '-o', 't', '--vuart', 'pl011')).err).toContain(
      "--vuart: unknown vUART 'pl011' (available: sbsa)",
    );
    expect((await cli('run', '--machine', 'xen', '--kernel', 'k', '-o', 't', '--uart-dt', 'ns16550')).err).toContain(
      "--uart-dt must be sbsa or pl011, not 'ns16550'",
    );
    expect((await cli('run', '--machine', 'xen', '--kernel', 'k', '-o', 't', '--no-vuart', '--uart-dt', 'pl011')).err).toContain(
      '--uart-dt pl011 describes the vUART, which --no-vuart removes',
    );
    expect((await cli('run', '--kernel', 'k', '-o', 't', '--shutdown-after', '1s')).err).toBe(
      'bootscope: --shutdown-after asks the Xen toolstack to shut the guest down: it needs --machine xen\n',
    );
    expect((await cli('run', '--machine', 'xen', '--kernel', 'k', '-o', 't', '--xen-toolstack', 'libvirt')).err).toBe(
      "bootscope: --xen-toolstack must be xl or dom0less, not 'libvirt'\n",
    );
    expect((await cli('run', '--kernel', 'k', '-o', 't', '--xen-toolstack', 'dom0less')).err).toBe(
      'bootscope: --xen-toolstack says who built the Xen domain: it needs --machine xen\n',
    );
    expect((await cli('run', '--machine', 'xen', '--kernel', 'k', '-o', 't', '--shutdown-after', 'soon')).err).toBe(
      "bootscope: --shutdown-after: 'soon' is not a virtual time (an instruction count, or e.g. 250ms, 1.5s)\n",
    );
  });
});
