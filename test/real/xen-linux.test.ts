// Debian's 6.1 cloud kernel as a Xen domU (--machine xen) to the VFS panic, issue 6's Linux
// acceptance points (docs/xen.md "Linux as a domU"):
//   - 2 vCPUs, GICv3, console=hvc0: the Xen detection and grant-table lines, both CPUs up, and the
//     hypercalls Linux makes to set itself up as a domU, read back from the trace;
//   - 1 vCPU with the SBSA vUART and console=ttyAMA0: the kernel binds the vUART;
//   - 1 vCPU with the vUART described as a PL011: eight zero ID reads per AMBA probe, no ttyAMA0,
//     and `bootscope explain uart` diagnoses it;
//   - a replay of a shortened 2-vCPU boot is identical.
// The runs are child processes (helpers.ts), two at a time; --max-insns sits well above the
// ~0.86 G instructions the boot needs, so a regression fails instead of running forever.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTrace } from '../../capture/store/index.ts';
import type { EventOf, TraceEvent } from '../../capture/model.ts';
import { bootscope, fetchGuests, kernelLog, tempDir, type Guests } from '../helpers/real-guests.ts';

const MAX_INSNS = '1.2e9';
const PANIC = 'Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)';
const DOMID_SELF = 0x7ff0n;
const XENMAPSPACE = { shared_info: 0n, grant_table: 1n } as const;
/** The vUART's PrimeCell ID registers (PeriphID0-3, PCellID0-3). */
const ID_OFFSETS = [0xfe0, 0xfe4, 0xfe8, 0xfec, 0xff0, 0xff4, 0xff8, 0xffc];
const VUART_BASE = 0x22000000;

const tmp = tempDir('bootscope-real-xen-linux-');
let guests: Guests;
afterAll(() => tmp.cleanup());

interface Boot {
  trace: string;
  log: string[];
  instructions: number;
}

/** Run a xen boot to the VFS panic; throws (failing the awaiting test) on anything else. */
async function boot(name: string, ...args: string[]): Promise<Boot> {
  const trace = tmp.file(`${name}.trace`);
  const r = await bootscope(
    tmp.dir,
    'run',
    '--machine',
    'xen',
    '--kernel',
    guests.kernel,
    '--mem',
    '256M',
    '--max-insns',
    MAX_INSNS,
    '--stop-on',
    'end Kernel panic',
    '-o',
    trace,
    '--json',
    ...args,
  );
  if (r.code !== 0 || r.err !== '') throw new Error(`bootscope run ${name} exited ${r.code}: ${r.err}`);
  const s = JSON.parse(r.out) as { stop: string; stopMessage: string; instructions: number; console: string };
  if (s.stop !== 'stopped' || s.stopMessage !== 'console printed "end Kernel panic"') {
    throw new Error(
      `${name}: the boot did not reach the panic (${s.stop}: ${s.stopMessage} after ${s.instructions} instructions); console tail:\n${s.console.slice(-2000)}`,
    );
  }
  return { trace, log: kernelLog(s.console), instructions: s.instructions };
}

/** At most two boots at once (each is one busy core for ~20 s). */
function limited(n: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(job: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((go) => waiting.push(go));
    running++;
    try {
      return await job();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

const boots: Record<'hvc2' | 'vuart' | 'pl011dt', Promise<Boot>> = {} as never;
let shortTrace: Promise<string>;

beforeAll(() => {
  guests = fetchGuests();
  const slot = limited(2);
  boots.hvc2 = slot(() => boot('hvc-smp2', '--smp', '2', '--gic', '3', '--append', 'console=hvc0'));
  boots.vuart = slot(() => boot('vuart-sbsa', '--vuart', 'sbsa', '--append', 'console=ttyAMA0'));
  boots.pl011dt = slot(() => boot('vuart-pl011-dt', '--uart-dt', 'pl011', '--append', 'console=hvc0'));
  shortTrace = slot(async () => {
    const trace = tmp.file('short-smp2.trace');
    const r = await bootscope(
      tmp.dir,
      'run',
      '--machine',
      'xen',
      '--kernel',
      guests.kernel,
      '--mem',
      '256M',
      '--smp',
      '2',
      '--append',
      'console=hvc0',
      '--max-insns',
      '3e8',
      '-o',
      trace,
      '--json',
    );
    if (r.code !== 0 || r.err !== '') throw new Error(`bootscope run (short) exited ${r.code}: ${r.err}`);
    return trace;
  });
  // Every boot is awaited by its test; keep an early rejection from being reported as unhandled.
  for (const p of [...Object.values(boots), shortTrace]) p.catch(() => {});
});

function hypercalls(trace: string): EventOf<'hypercall'>[] {
  const t = openTrace(trace);
  try {
    return [...t.events({ kinds: ['hypercall'] })] as EventOf<'hypercall'>[];
  } finally {
    t.close();
  }
}

describe('Debian Linux 6.1 as a domU on --machine xen', () => {
  it('2 vCPUs, console=hvc0: Xen detected, grant table up, both CPUs up, to the VFS panic', async () => {
    const { log, instructions } = await boots.hvc2;
    expect(log).toContain(PANIC);
    expect(instructions).toBeLessThan(1.2e9);
    for (const line of [
      'Machine model: XENVM-4.17',
      'Xen 4.17 support found',
      'psci: PSCIv1.1 detected in firmware.',
      'printk: console [hvc0] enabled',
      'xen:grant_table: Grant tables using version 1 layout',
      'Grant table initialized',
      'xen:events: Using FIFO-based ABI',
      'Xen: initializing cpu0',
      'GICv3: CPU1: found redistributor 1 region 0:0x0000000003040000',
      'Xen: initializing cpu1',
      'CPU1: Booted secondary processor 0x0000000001 [0x411fd070]',
      'smp: Brought up 1 node, 2 CPUs',
      'SMP: Total of 2 processors activated.',
      'xen:balloon: Initialising balloon driver',
    ])
      expect(log).toContain(line);
  });

  it('2 vCPUs: the trace has the hypercalls that set Linux up as a domU', async () => {
    const calls = hypercalls((await boots.hvc2).trace);
    const named = (name: string, subop: string) => calls.filter((c) => c.name === name && c.subop === subop);
    const ok = (c: EventOf<'hypercall'>) => c.results[0] === 0n;
    /** The guest made this call at least once and Xen answered 0 every time. */
    const allSucceed = (name: string, subop: string) => {
      const made = named(name, subop);
      expect(made.length, `${name} ${subop}`).toBeGreaterThan(0);
      expect(
        made.filter((c) => !ok(c)),
        `${name} ${subop}`,
      ).toEqual([]);
    };

    allSucceed('xen_version', 'get_features');
    // add_to_physmap args: cmd, struct pointer, then the struct's domid, space, idx, gpfn.
    const physmap = named('memory_op', 'add_to_physmap');
    const shared = physmap.filter((c) => c.args[3] === XENMAPSPACE.shared_info);
    const grant = physmap.filter((c) => c.args[3] === XENMAPSPACE.grant_table);
    expect(shared.length).toBe(1);
    expect(shared[0]!.args[2]).toBe(DOMID_SELF);
    expect(shared.every(ok)).toBe(true);
    // Grant frame 0, mapped at the start of the grant-table region the DT's /hypervisor gives.
    expect(grant.map((c) => [c.args[4], c.args[5]])).toEqual([[0n, 0x38000n]]);
    expect(grant.every(ok)).toBe(true);
    for (const subop of ['query_size', 'set_version']) allSucceed('grant_table_op', subop);
    // XENFEAT_not_direct_mapped: no swiotlb for a 1:1 domain, so Linux never probes GNTTABOP_cache_flush
    expect(named('grant_table_op', 'cache_flush')).toEqual([]);
    // FIFO event channels: a control block per vCPU (args: cmd, pointer, gfn, offset, vCPU), event-array pages as ports grow.
    const inits = named('event_channel_op', 'init_control');
    expect(inits.map((c) => [c.args[4], c.results[0]]).sort()).toEqual([
      [0n, 0n],
      [1n, 0n],
    ]);
    allSucceed('event_channel_op', 'expand_array');
    allSucceed('event_channel_op', 'send'); // one per hvc0 write, notifying the console backend
    expect(named('event_channel_op', 'send').length).toBeGreaterThan(100);
    allSucceed('hvm_op', 'get_param'); // the console page and event channel
    allSucceed('vm_assist', 'enable');
    // vcpu_op args: cmd, vcpuid, ...: each vCPU registers its own vcpu_info and runstate area.
    for (const subop of ['register_vcpu_info', 'register_runstate_memory_area']) {
      const regs = named('vcpu_op', subop);
      expect(regs.map((c) => [c.vcpu, c.args[1]]).sort(), subop).toEqual([
        [0, 0n],
        [1, 1n],
      ]);
      expect(regs.every(ok), subop).toBe(true);
    }
    expect(calls.filter((c) => c.name === 'PSCI_CPU_ON').map((c) => [c.args[0], c.results[0]])).toEqual([[1n, 0n]]);
  });

  it('1 vCPU, --vuart sbsa, console=ttyAMA0: the kernel binds the SBSA vUART', async () => {
    const { log, trace } = await boots.vuart;
    expect(log).toContain(PANIC);
    // irq 13: the timer node lists three PPIs (Linux numbers the interrupts in the order it maps them)
    expect(log).toContain('22000000.sbsa-uart: ttyAMA0 at MMIO 0x22000000 (irq = 13, base_baud = 0) is a SBSA');
    expect(log).toContain('printk: console [ttyAMA0] enabled');
    const t = openTrace(trace);
    try {
      expect(t.summary.byDevice['sbsa-uart@22000000']).toBeGreaterThan(1000);
    } finally {
      t.close();
    }
  });

  it('1 vCPU, --uart-dt pl011: zero PrimeCell IDs, no ttyAMA0, and explain uart says why', async () => {
    const { log, trace } = await boots.pl011dt;
    expect(log).toContain(PANIC);
    // Also the 1-vCPU console=hvc0 boot of the acceptance list.
    for (const line of ['Xen 4.17 support found', 'xen:grant_table: Grant tables using version 1 layout', 'printk: console [hvc0] enabled'])
      expect(log).toContain(line);
    expect(log.filter((l) => l.includes('ttyAMA0'))).toEqual([]);
    const t = openTrace(trace);
    let onUart: TraceEvent[];
    try {
      onUart = [...t.events({ devices: ['sbsa-uart@22000000'] })];
    } finally {
      t.close();
    }
    // Only ID reads touch the device: eight per AMBA probe (one plus each deferred-probe retry), all 0.
    const reads = onUart.filter((e) => e.kind === 'mmio_read');
    expect(reads.length).toBe(onUart.length);
    expect(reads.length % 8).toBe(0);
    expect(reads.length).toBeGreaterThanOrEqual(8);
    expect(reads.slice(0, 8).map((e) => e.kind === 'mmio_read' && e.addr - VUART_BASE)).toEqual(ID_OFFSETS);
    expect(
      reads.every((e) => e.kind === 'mmio_read' && e.value === 0n && e.outcome === 'raz_wi' && ID_OFFSETS.includes(e.addr - VUART_BASE)),
    ).toBe(true);

    const text = await bootscope(tmp.dir, 'explain', 'uart', trace);
    expect(text.err).toBe('');
    expect(text.out.split('\n')[0]).toBe('verdict: sbsa-described-as-pl011');
    const json = await bootscope(tmp.dir, 'explain', 'uart', trace, '--json');
    const x = JSON.parse(json.out) as { verdict: string; hasConsole: boolean; xenConsole: { port: string; bytes: number } };
    expect(x.verdict).toBe('sbsa-described-as-pl011');
    expect(x.hasConsole).toBe(true); // through hvc0
    expect(x.xenConsole.port).toBe('hvc0');
  });

  it('replay of a shortened 2-vCPU boot (3e8 instructions) is identical', async () => {
    const r = await bootscope(tmp.dir, 'replay', await shortTrace);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^identical \([\d,]+ events\)\n$/);
  });
});
