// `explain uart` on real boots: scripts/make-uart-corpus.sh boots Debian's 6.1 kernel under Debian's
// QEMU 7.2 (virt) once per way a PL011 console goes wrong, the logs are imported with the DTB each
// guest got (import --dtb), and every verdict, with the evidence it quotes, is checked. The corpus is
// regenerated here on every run (real QEMU, real kernel; about a minute).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainUart, formatUartExplanation, type UartExplanation, type UartVerdict } from '../../analyze/explain-uart.ts';
import { importFile } from '../../capture/import/index.ts';
import { openTrace } from '../../capture/store/index.ts';
import { tmpTraces } from './engine-helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = tmpTraces();
afterAll(() => tmp.cleanup());

interface Case {
  name: string;
  cause: string;
  append: string;
  x: UartExplanation;
  text: string;
  serial: Buffer;
}
const cases = new Map<string, Case>();

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const err: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(err).toString()) : reject(new Error(`${cmd} exited ${code}: ${Buffer.concat(err).toString()}`)),
    );
  });
}

async function explainImported(log: string, out: string, dtb?: string): Promise<UartExplanation> {
  await importFile({ input: log, output: out, ...(dtb ? { dtb } : {}) });
  const r = openTrace(out);
  try {
    return explainUart(r);
  } finally {
    r.close();
  }
}

const dir = tmp.file('corpus');
beforeAll(async () => {
  await run(path.join(ROOT, 'scripts/make-uart-corpus.sh'), [dir]);
  for (const line of readFileSync(path.join(dir, 'cases.tsv'), 'utf8').trim().split('\n')) {
    const [name, cause, append] = line.split('\t') as [string, string, string];
    const x = await explainImported(path.join(dir, `${name}.log`), tmp.file(`${name}.trace`), path.join(dir, `${name}.dtb`));
    cases.set(name, { name, cause, append, x, text: formatUartExplanation(x), serial: readFileSync(path.join(dir, `${name}.serial`)) });
  }
}, 1_200_000);

const get = (name: string): Case => cases.get(name) ?? expect.fail(`no corpus case ${name}`);
const why = (c: Case) => c.x.reasons.join('\n');

/** Each cause and the verdict it must get; hasConsole: whether the kernel has a working console on the UART. */
const EXPECTED: Record<string, { verdict: UartVerdict; hasConsole: boolean }> = {
  working: { verdict: 'working-pl011', hasConsole: true },
  'no-primecell': { verdict: 'not-primecell', hasConsole: false },
  disabled: { verdict: 'disabled-in-dt', hasConsole: false },
  'wrong-reg': { verdict: 'wrong-address', hasConsole: false },
  'no-interrupts': { verdict: 'missing-interrupt', hasConsole: true },
  'no-clocks': { verdict: 'missing-clocks', hasConsole: false },
  'console-ttyAMA1': { verdict: 'console-wrong-port', hasConsole: false },
  'console-ttyS0': { verdict: 'console-other-device', hasConsole: false },
  'no-console': { verdict: 'no-console-selected', hasConsole: false },
};

describe('explain uart on real QEMU 7.2 boots of Debian 6.1 (imported with --dtb)', () => {
  it('the corpus has every cause, and each gets its verdict', () => {
    expect([...cases.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
    const got = Object.fromEntries([...cases.values()].map((c) => [c.name, { verdict: c.x.verdict, hasConsole: c.x.hasConsole }]));
    expect(got).toEqual(EXPECTED);
  });

  it("every verdict reads the DT from the trace and quotes only the guest's own command line", () => {
    for (const c of cases.values()) {
      expect(c.x.dt.present, c.name).toBe(true);
      expect(c.text, c.name).not.toContain('carries no DTB');
      expect(c.x.kernel.commandLine?.text, c.name).toBe(c.append);
      // Any quoted command line is this one.
      for (const m of why(c).matchAll(/command line \([^)]*\) is "([^"]*)"/g)) expect(m[1], c.name).toBe(c.append);
      expect(why(c), c.name).not.toMatch(/touched it \d+ times but wrote/);
    }
  });

  it('a correct boot: the driver bound ttyAMA0 and it took over from earlycon', () => {
    const c = get('working');
    expect(c.x.regions[0]!.ids).toEqual({ periphId: '0x141011', cellId: '0xb105f00d', ambaMatch: true });
    expect(why(c)).toContain("Linux's pl011 driver bound it: PrimeCell IDs read at seq");
    expect(why(c)).toContain('ttyAMA0 at MMIO 0x9000000 (irq = 13, base_baud = 0) is a PL011 rev1');
    expect(why(c)).toContain('the kernel said "printk: console [ttyAMA0] enabled"');
    expect(c.x.regions[0]!.consoleBytes).toBe(c.serial.length);
  });

  for (const [name, prop] of [
    ['no-primecell', 'DT /pl011@9000000: compatible = "arm,pl011" (no "arm,primecell")'],
    ['disabled', 'DT /pl011@9000000: status = "disabled"'],
    ['no-clocks', 'DT /pl011@9000000: no clocks, no clock-names'],
  ] as const) {
    it(`${name}: earlycon printed everything, the driver never probed, and the DT property says why`, () => {
      const c = get(name);
      expect(why(c)).toContain(prop);
      const r = c.x.regions.find((x) => x.name === 'pl011@9000000')!;
      // Only earlycon: DR writes and FR polls, no ID read, no set-up write; the serial output is all its.
      expect(r.ids).toBeNull();
      expect(r.driver).toMatchObject({ idReadSeq: -1, probeSeq: -1, lineSetupSeq: -1, txAfterProbe: 0 });
      expect(r.driver.txBeforeProbe).toBe(c.serial.length);
      expect(r.enableSequence).toEqual([]);
      expect(why(c)).toMatch(/No PeriphID\/PCellID read \(0xfe0–0xffc\) in its \d+ accesses \(seq \d+–\d+\)/);
      expect(why(c)).toContain('No driver set-up either: no IMSC, ICR, LCR_H, IBRD, FBRD or CR access');
      expect(why(c)).toContain(
        'the command line has "earlycon" (no options: it takes the UART from /chosen/stdout-path = "/pl011@9000000")',
      );
      expect(why(c)).toContain(`the kernel said "earlycon: pl11 at MMIO 0x0000000009000000 (options '')"`);
      expect(why(c)).toContain('the kernel said "Warning: unable to open an initial console."');
      expect(c.x.summary).toContain(`only earlycon printed (${c.serial.length} bytes)`);
      expect(c.x.evidence.some((e) => e.text.includes('pl011@9000000.DR'))).toBe(true);
    });
  }

  it("wrong reg: the DT's reg quoted, earlycon followed stdout-path to nothing, the real PL011 untouched", () => {
    const c = get('wrong-reg');
    expect(c.serial.length).toBe(0);
    expect(why(c)).toContain(
      "puts the UART at 0x9100000 (reg = <0x0 0x9100000 0x0 0x1000>), but the platform has no device there; the platform's UART is pl011@9000000 at 0x9000000.",
    );
    expect(c.x.unassignedNearUart[0]).toMatchObject({ addr: '0x9100000' });
    expect(c.x.evidence[0]!.text).toMatch(/read {2}0x9100018 .*\[unassigned\]/);
    expect(why(c)).toContain('pl011@9000000 itself was never accessed');
    expect(why(c)).toContain(
      '"earlycon" (from the DT\'s /chosen/bootargs) has no options, so it takes its UART from /chosen/stdout-path = "/pl011@9000000"',
    );
    expect(c.x.reasons.at(-1)).toBe("Fix the node's reg to 0x9000000.");
  });

  it('no interrupts: the driver binds with irq = 0 and the tty start-up is abandoned', () => {
    const c = get('no-interrupts');
    expect(c.x.reasons[0]).toBe('DT /pl011@9000000 has no interrupts property: the AMBA device gets no IRQ (irq = 0).');
    expect(why(c)).toContain('ttyAMA0 at MMIO 0x9000000 (irq = 0, base_baud = 0) is a PL011 rev1');
    expect(why(c)).toMatch(
      /unmasked RX interrupts \(IMSC = 0x50 at seq \d+\) and masked them again \(IMSC = 0x0 at seq \d+\) with no IFLS or CR set-up after/,
    );
    expect(c.x.reasons.at(-1)).toBe("Fix: interrupts = <0x0 0x1 0x4> on /pl011@9000000 (the platform's UART drives INTID 33).");
  });

  for (const [name, arg, verdictText] of [
    ['console-ttyAMA1', 'console=ttyAMA1', 'names PL011 port 1, but the DT describes 1 PL011 and this one is ttyAMA0: there is no ttyAMA1'],
    ['console-ttyS0', 'console=ttyS0', 'names an 8250/16550 UART (the 8250 driver), and the DT describes none'],
  ] as const) {
    it(`${arg}: the driver bound ttyAMA0 but never set it up, and not one byte went out`, () => {
      const c = get(name);
      expect(c.serial.length).toBe(0);
      expect(why(c)).toContain(`The command line (the DT's /chosen/bootargs) is "${c.append}": "${arg}" ${verdictText}`);
      expect(why(c)).toMatch(/Linux's pl011 driver bound it: PrimeCell IDs read at seq \d+, then IMSC = 0x0 at seq \d+/);
      expect(why(c)).toContain(
        'The driver never set ttyAMA0 up as a console: no LCR_H/IBRD/FBRD write after the probe, and not one DR write.',
      );
      expect(c.x.reasons.at(-1)).toBe('Fix: console=ttyAMA0.');
      expect(c.x.regions[0]!.txWrites).toBe(0);
    });
  }

  it('no console= and no stdout-path: nothing selects ttyAMA0', () => {
    const c = get('no-console');
    expect(c.serial.length).toBe(0);
    expect(why(c)).toContain(
      `The command line (the DT's /chosen/bootargs) is "${c.append}", with no console=, and the DT's /chosen has no stdout-path`,
    );
    expect(c.x.dt.stdoutPath).toBe('');
  });

  it('without --dtb, a console that only went through earlycon is still told from a bound driver', async () => {
    const x = await explainImported(path.join(dir, 'no-primecell.log'), tmp.file('no-primecell-nodtb.trace'));
    expect(x.verdict).toBe('earlycon-only');
    expect(x.dt.present).toBe(false);
    expect(x.kernel.commandLine?.source).toMatch(/^the kernel's "Kernel command line:" line, console seq \d+$/);
    expect(x.reasons.at(-1)).toContain('The trace carries no DTB: import it with --dtb');
    const ok = await explainImported(path.join(dir, 'working.log'), tmp.file('working-nodtb.trace'));
    expect(ok.verdict).toBe('working-pl011');
  });
});
