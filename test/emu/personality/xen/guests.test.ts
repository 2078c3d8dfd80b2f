// Our bare-metal guests as Xen domUs. The platform-independent ones (selfcheck, mmu, exceptions,
// smp via PSCI) print exactly what they print on QEMU; without a vUART their console is Xen's: an
// xl domU is refused console_io and writes the PV console ring (`console` events on port 'hvc0'), a
// dom0less domU is the console domain and uses console_io (port 'xen_console_io'). The uart and timer guests
// take every address from the DTB, so their consoles are QEMU's with Xen's addresses and INTIDs
// (GIC at 0x03001000 / 0x03020000, vUART at 0x22000000 on SPI 32 = INTID 32).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTrace } from '../../../../capture/store/index.ts';
import { runGuest, type RunConfig } from '../../../../emu/run.ts';
import { guestBinary, REPO_ROOT, type GuestName } from '../../../helpers/qemu-runs.ts';
import { tempDir } from '../../helpers.ts';

const MEM = 128 * 1024 * 1024;
const tmp = tempDir('bootscope-xen-');
afterAll(() => tmp.cleanup());

const expected = (id: string): string => readFileSync(path.join(REPO_ROOT, 'test/guests/expected', `${id}.txt`), 'latin1');

interface XenRun {
  id: string;
  guest: GuestName;
  gic: 2 | 3;
  smp: number;
  vuart?: 'sbsa';
  /** QEMU's expected console, with the platform addresses Xen's. */
  want: () => string;
}

const RUNS: XenRun[] = [
  { id: 'selfcheck', guest: 'selfcheck', gic: 2, smp: 1, want: () => expected('selfcheck') },
  { id: 'mmu', guest: 'mmu', gic: 2, smp: 1, want: () => expected('mmu') },
  { id: 'exceptions', guest: 'exceptions', gic: 3, smp: 1, want: () => expected('exceptions') },
  { id: 'smp-gicv2', guest: 'smp', gic: 2, smp: 2, want: () => expected('smp-gicv2') },
  { id: 'smp-gicv3', guest: 'smp', gic: 3, smp: 2, want: () => expected('smp-gicv3') },
  { id: 'smp4-gicv3', guest: 'smp', gic: 3, smp: 4, want: () => expected('smp4-gicv3') },
  {
    id: 'timer-gicv2',
    guest: 'timer',
    gic: 2,
    smp: 1,
    want: () =>
      expected('timer-gicv2').replace('distributor 0x8000000, CPU interface 0x8010000', 'distributor 0x3001000, CPU interface 0x3002000'),
  },
  {
    id: 'timer-gicv3',
    guest: 'timer',
    gic: 3,
    smp: 1,
    want: () =>
      expected('timer-gicv3').replace('distributor 0x8000000, redistributors 0x80a0000', 'distributor 0x3001000, redistributors 0x3020000'),
  },
  ...([2, 3] as const).map((gic) => ({
    id: `uart-sbsa-gicv${gic}`,
    guest: 'uart' as const,
    gic,
    smp: 1,
    vuart: 'sbsa' as const,
    want: () =>
      expected(`uart-sbsa-gicv${gic}`)
        .replace('at 0x9000000, INTID 33', 'at 0x22000000, INTID 32')
        .replace('interrupt INTID 33', 'interrupt INTID 32'),
  })),
];

function run(r: XenRun, extra: Partial<RunConfig> = {}) {
  return runGuest({
    machine: 'xen',
    kernel: guestBinary(r.guest),
    gic: r.gic,
    smp: r.smp,
    memBytes: MEM,
    maxInsns: 50_000_000,
    ...(r.vuart ? { vuart: r.vuart } : {}),
    ...extra,
  });
}

describe('guests under --machine xen', () => {
  for (const r of RUNS) {
    it(`${r.id} (${r.guest}, GICv${r.gic}, ${r.smp} vCPU${r.smp > 1 ? 's' : ''}${r.vuart ? ', SBSA vUART' : ''})`, async () => {
      const res = await run(r);
      const want = r.want();
      expect(want).not.toBe(''); // the expected file exists
      expect(Buffer.from(res.console).toString('latin1')).toBe(want);
      expect(res.stop).toEqual({ kind: 'system_off', message: 'PSCI SYSTEM_OFF' });
    });
  }

  it('the timer guest reads Xen addresses from the DTB (the substitution above is real)', () => {
    expect(expected('timer-gicv3')).toContain('distributor 0x8000000, redistributors 0x80a0000');
    expect(expected('uart-sbsa-gicv3')).toContain('at 0x9000000, INTID 33');
  });

  it('without a vUART the console is the PV console ring (xl) or console_io (dom0less); with one it is the vUART', async () => {
    const xenCalls = (t: ReturnType<typeof openTrace>) =>
      [...t.events({ kinds: ['hypercall'] })].flatMap((e) =>
        e.kind === 'hypercall' && e.imm === 0xea1 ? [`${e.name} ${e.subop} ${BigInt.asIntN(64, e.results[0]!)}`] : [],
      );
    const consolePorts = (t: ReturnType<typeof openTrace>) =>
      new Set([...t.events({ kinds: ['console'] })].map((e) => (e.kind === 'console' ? e.port : '')));
    const xl = tmp.file('smp.trace');
    await run(RUNS[3]!, { output: xl });
    let t = openTrace(xl);
    try {
      expect([...consolePorts(t)]).toEqual(['hvc0']);
      const calls = xenCalls(t);
      // refused once (not the console domain), then the ring the toolstack named, one notification per line
      expect(calls.slice(0, 3)).toEqual(['console_io write -1', 'hvm_op get_param 0', 'hvm_op get_param 0']);
      expect(calls.slice(3).length).toBeGreaterThan(5);
      expect(new Set(calls.slice(3))).toEqual(new Set(['event_channel_op send 0']));
      expect(t.meta.source).toMatchObject({ type: 'emulator', name: 'xen' });
      expect(t.meta.source.config).not.toHaveProperty('toolstack');
    } finally {
      t.close();
    }
    const dom0less = tmp.file('smp-dom0less.trace');
    const res = await run(RUNS[3]!, { output: dom0less, xenToolstack: 'dom0less' });
    expect(Buffer.from(res.console).toString('latin1')).toBe(RUNS[3]!.want());
    t = openTrace(dom0less);
    try {
      expect([...consolePorts(t)]).toEqual(['xen_console_io']);
      const calls = xenCalls(t);
      expect(calls.length).toBeGreaterThan(5);
      expect(new Set(calls)).toEqual(new Set(['console_io write 0']));
      expect(t.meta.source.config).toMatchObject({ toolstack: 'dom0less' });
    } finally {
      t.close();
    }
    const uartTrace = tmp.file('uart.trace');
    await run(
      RUNS.find((r) => r.id === 'uart-sbsa-gicv3')!,
      { output: uartTrace },
    );
    const u = openTrace(uartTrace);
    try {
      const ports = new Set([...u.events({ kinds: ['console'] })].map((e) => (e.kind === 'console' ? e.port : '')));
      expect([...ports]).toEqual(['sbsa-uart@22000000']);
      expect(u.regions.map((r) => r.name)).toEqual(['gicv3-dist@3001000', 'gicv3-redist@3020000', 'sbsa-uart@22000000']);
      expect(u.meta.source.config).toMatchObject({ vuart: 'sbsa' });
    } finally {
      u.close();
    }
  });

  it('--uart-dt pl011 reproduces the misdescribed vUART: the uart guest reads zero PrimeCell IDs and fails', async () => {
    const out = tmp.file('pl011.trace');
    const res = await runGuest({ machine: 'xen', kernel: guestBinary('uart'), gic: 3, memBytes: MEM, uartDt: 'pl011', output: out });
    const text = Buffer.from(res.console).toString('latin1');
    expect(text).toContain('uart: PL011 at 0x22000000, INTID 32, uartclk 24000000 Hz\n');
    expect(text).toContain('uart: PeriphID=0x00000000 PCellID=0x00000000 revision 0\n');
    expect(text).toContain('FAIL uart: PrimeCell ID 0x00000000 is not 0xb105f00d');
    const t = openTrace(out);
    try {
      const idReads = [...t.events({ kinds: ['mmio_read'] })].filter(
        (e) => e.kind === 'mmio_read' && e.addr >= 0x22000fe0n && e.addr < 0x22001000n,
      );
      expect(idReads.length).toBe(8);
      expect(idReads.every((e) => e.kind === 'mmio_read' && e.value === 0n && e.outcome === 'raz_wi')).toBe(true);
    } finally {
      t.close();
    }
  });

  it('bad switch combinations are one-line errors', async () => {
    await expect(runGuest({ kernel: guestBinary('uart'), vuart: 'sbsa' })).rejects.toThrow(
      "--vuart/--no-vuart models Xen's vUART: it needs --machine xen",
    );
    await expect(runGuest({ kernel: guestBinary('uart'), uartDt: 'pl011' })).rejects.toThrow(
      "--uart-dt models Xen's vUART: it needs --machine xen",
    );
    await expect(runGuest({ machine: 'xen', kernel: guestBinary('uart'), vuart: 'none', uartDt: 'pl011' })).rejects.toThrow(
      '--uart-dt pl011 describes the vUART, which --no-vuart removes',
    );
    await expect(runGuest({ machine: 'xen', kernel: guestBinary('uart'), gic: 2, smp: 9 })).rejects.toThrow(
      'GICv2 supports at most 8 vCPUs (got --smp 9); use --gic 3',
    );
    await expect(runGuest({ machine: 'xen', kernel: guestBinary('uart'), memBytes: 4 * 1024 ** 3 })).rejects.toThrow(/at most 2 GiB|3 GiB/);
    await expect(runGuest({ kernel: guestBinary('uart'), xenToolstack: 'dom0less' })).rejects.toThrow(
      '--xen-toolstack says who built the Xen domain: it needs --machine xen',
    );
    const disk = tmp.file('disk.img');
    writeFileSync(disk, Buffer.alloc(4096));
    await expect(
      runGuest({ machine: 'xen', xenToolstack: 'dom0less', kernel: guestBinary('uart'), disks: [{ file: disk, mode: 'cow' }] }),
    ).rejects.toThrow('--disk needs the xl toolstack: a dom0less domU has no xenstore, so no PV disk');
    await expect(runGuest({ machine: 'xen', xenToolstack: 'dom0less', kernel: guestBinary('uart'), nics: [{}] })).rejects.toThrow(
      '--nic needs the xl toolstack',
    );
    await expect(runGuest({ machine: 'xen', xenToolstack: 'dom0less', kernel: guestBinary('uart'), shutdownAfter: 1000 })).rejects.toThrow(
      '--shutdown-after needs the xl toolstack',
    );
  });
});
