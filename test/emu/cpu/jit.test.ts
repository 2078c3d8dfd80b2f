// Block compiler (emu/cpu/jit.ts): with jit on, every guest gives the same trace digest, virtual
// time and console as the interpreter; self-modifying code still works; random instruction words
// leave the CPU in the same state as the interpreter and never throw in the host.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { SimpleBus } from '../../../emu/cpu/bus.ts';
import { Cpu } from '../../../emu/cpu/cpu.ts';
import { Jit } from '../../../emu/cpu/jit.ts';
import { SYSREG_INDEX, sysregByName } from '../../../emu/cpu/sysregs.ts';
import { GUEST_RUNS, REPO_ROOT, guestBinary } from '../../helpers/qemu-runs.ts';
import { runMatrixGuest, tempDir } from '../helpers.ts';
import { runAsm } from '../../helpers/cpu-harness.ts';

const tmp = tempDir('bootscope-jit-');
afterAll(() => tmp.cleanup());

/** Compile on the second execution, so even short guests run mostly compiled code. */
const EAGER = { threshold: 2, backend: 'js' as const };
/** The same with the WebAssembly back end (emu/cpu/wasm-jit.ts). */
const EAGER_WASM = { threshold: 2, backend: 'wasm' as const };

describe('jit: guests give the same trace as the interpreter', () => {
  for (const run of GUEST_RUNS) {
    it(`${run.id}: same digest, events, virtual time and console`, async () => {
      const a = await runMatrixGuest(run, { output: tmp.file(`${run.id}-int.trace`), jit: false });
      expect(a.digest).toMatch(/^sha256:/);
      for (const jit of [EAGER, EAGER_WASM]) {
        const b = await runMatrixGuest(run, { output: tmp.file(`${run.id}-${jit.backend}.trace`), jit });
        expect(b.digest, jit.backend).toBe(a.digest);
        expect(b.events).toBe(a.events);
        expect(b.executed).toBe(a.executed);
        expect(b.virtualTime).toBe(a.virtualTime);
        expect(Buffer.from(b.console).toString()).toBe(Buffer.from(a.console).toString());
      }
    });
  }

  it('bootscope run (jit by default), --jit, --jit wasm and --no-jit (CLI) give the same digest', async () => {
    const node = process.execPath;
    const cli = `${REPO_ROOT}/cli/main.ts`;
    // asynchronous: a synchronous child would block the vitest worker for the whole run
    const digest = async (extra: string[], out: string): Promise<unknown> => {
      const res = await promisify(execFile)(
        node,
        [cli, 'run', '--kernel', guestBinary('workload'), '--gic', '2', '--mem', '128M', '-o', out, '--json', ...extra],
        { encoding: 'utf8' },
      );
      return (JSON.parse(res.stdout) as { digest?: unknown }).digest;
    };
    const a = await digest(['--no-jit'], tmp.file('cli-int.trace'));
    const b = await digest([], tmp.file('cli-default.trace'));
    const c = await digest(['--jit'], tmp.file('cli-jit.trace'));
    const w = await digest(['--jit', 'wasm'], tmp.file('cli-wasm.trace'));
    expect(a).toMatch(/^sha256:/);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(w).toBe(a);
  });

  it('--jit with an unknown back end is a one-line error naming the ones there are', async () => {
    const res = await promisify(execFile)(
      process.execPath,
      [`${REPO_ROOT}/cli/main.ts`, 'run', '--kernel', guestBinary('workload'), '-o', tmp.file('bad.trace'), '--jit', 'jvm'],
      { encoding: 'utf8' },
    ).catch((e: { code: number; stderr: string }) => e);
    expect(res).toMatchObject({ code: 1, stderr: "bootscope: --jit: unknown back end 'jvm' (available: js, wasm)\n" });
  });
});

describe.each([EAGER, EAGER_WASM])('jit ($backend): code and state', (EAGER) => {
  it('self-modifying code inside a hot loop is refetched (the patched block is dropped)', () => {
    // the loop body's "add x0, x0, #1" is rewritten to "add x0, x0, #2" after 100 rounds
    const m = runAsm(
      `
      mov x0, #0
      mov x1, #0
      adr x2, patch
      ldr w3, newinsn
    1:
    patch:
      add x0, x0, #1
      add x1, x1, #1
      cmp x1, #100
      b.ne 2f
      str w3, [x2]
      ic ivau, x2
      isb
    2:cmp x1, #200
      b.ne 1b
      hvc #0
    newinsn:
      add x0, x0, #2
    `,
      { jit: EAGER },
    );
    expect(m.cpu.getX(0)).toBe(100n + 2n * 100n);
    expect(m.cpu.jit!.stats.blocks).toBeGreaterThan(0);
    expect(m.cpu.jit!.stats.invalidations).toBeGreaterThan(0);
    if (EAGER.backend === 'wasm') expect(m.cpu.jit!.wasm!.stats.blocks).toBeGreaterThan(0);
  });

  it('a data abort in the middle of a compiled block is precise (ELR, ESR, FAR, instret, registers)', () => {
    // 300 rounds of a block whose second load faults on the last round (0x1_0000_0000 is unassigned)
    const src = `
      ldr x0, =vectors
      msr vbar_el1, x0
      ldr x1, =0x40100000
      mov x2, #0
      mov x9, #0x100000000
    1:add x3, x2, #1
      ldr x4, [x1]
      add x5, x4, x3
      ldr x6, [x1, #8]
      add x7, x6, x5
      add x2, x2, #1
      cmp x2, #299
      csel x1, x9, x1, eq
      cmp x2, #300
      b.ne 1b
      hvc #0
      .balign 2048
    vectors:
      .rept 16
      mov x20, #1
      hvc #0
      .balign 128
      .endr
    `;
    const ref = runAsm(src);
    const jit = runAsm(src, { jit: EAGER });
    const view = (m: ReturnType<typeof runAsm>): unknown => ({
      x: Array.from(m.cpu.x),
      instret: m.cpu.instret,
      hvcs: m.hvcs,
      sr: ['ELR_EL1', 'ESR_EL1', 'FAR_EL1'].map((n) => m.cpu.readSysregValue(sysregByName(n))),
    });
    expect(ref.cpu.getX(20)).toBe(1n);
    expect(ref.cpu.readSysregValue(sysregByName('FAR_EL1'))).toBe(0x100000000n);
    expect(view(jit)).toEqual(view(ref));
    expect(jit.cpu.jit!.stats.blocks).toBeGreaterThan(0); // the loop block runs all rounds in one call, which ends in the fault
  });

  it("system registers, SP_EL0, DC ZVA and LDAR/STLR in compiled blocks: the interpreter's registers, memory and UNDEFINED at SPSel = 0", () => {
    // 300 rounds through TPIDR_EL1, SP_EL0, CTR/DCZID reads and a DC ZVA over a block just written;
    // on the last round SPSel = 0 makes the compiled MRS SP_EL0 UNDEFINED (vector: x20 = 1, ESR kept)
    const src = `
      ldr x0, =vectors
      msr vbar_el1, x0
      ldr x1, =0x40100000
      mov x2, #0
      mov x9, #0
    1:msr tpidr_el1, x2
      mrs x3, tpidr_el1
      add x4, x3, #5
      msr sp_el0, x4
      cmp x2, #299
      b.ne 2f
      msr spsel, #0
    2:mrs x5, sp_el0
      mrs x6, ctr_el0
      mrs x7, dczid_el0
      str x5, [x1, #8]
      add x10, x1, #16
      stlr w5, [x10]
      ldar w11, [x10]
      add x9, x9, x11
      dc zva, x1
      ic ivau, x1
      dc cvau, x1
      ldr x8, [x1, #8]
      add x9, x9, x8
      add x9, x9, x5
      ldr x8, [x1, #64]
      add x9, x9, x8
      add x1, x1, #64
      add x2, x2, #1
      cmp x2, #300
      b.ne 1b
      hvc #0
      .balign 2048
    vectors:
      .rept 16
      mov x20, #1
      mrs x21, esr_el1
      hvc #0
      .balign 128
      .endr
    `;
    const ref = runAsm(src);
    const jit = runAsm(src, { jit: EAGER });
    const view = (m: ReturnType<typeof runAsm>): unknown => ({
      x: Array.from(m.cpu.x),
      instret: m.cpu.instret,
      hvcs: m.hvcs,
      sr: ['ELR_EL1', 'ESR_EL1', 'TPIDR_EL1'].map((n) => m.cpu.readSysregValue(sysregByName(n))),
    });
    expect(ref.cpu.getX(20)).toBe(1n);
    expect(ref.cpu.getX(9)).toBe(298n * 299n + 10n * 299n); // x5 = round + 5 on rounds 0-298, twice (STLR/LDAR); the zeroed words add nothing
    expect(view(jit)).toEqual(view(ref));
    if (EAGER.backend === 'wasm') {
      expect(jit.cpu.jit!.wasm!.exits()).not.toHaveProperty('MRS');
      expect(jit.cpu.jit!.wasm!.exits()).not.toHaveProperty('EXCL');
    }
  });
});

describe('jit: compiled code', () => {
  it('compiled block source folds register slots into constants', () => {
    const d = new Int32Array(4096);
    // ADD_I64 x1 = x2 + 5, then B . (op ids from decode.ts)
    d[0] = 1;
    d[1] = (4 << 7) | 2;
    d[2] = 5;
    d[4] = 25;
    d[5] = 0;
    d[6] = 0;
    d[7] = 0;
    const src = new Jit().source(d, 0, 2);
    expect(src).toContain('X[4]');
    expect(src).toContain('X[3] =');
    expect(src).toContain('c.pcLo = add64(pcHi, ((pc0 + 4) | 0), 0, 0)');
  });

  // the WebAssembly back end compiles a module per block (~0.3 ms each), so it gets fewer words
  it.each([
    ['js', 100_000],
    ['wasm', 40_000],
  ] as const)(
    '%s: %i random instruction words: same registers, PC, instret and exception syndrome as the interpreter, never a host error',
    async (backend, words) => {
      const make = (jit: boolean): { cpu: Cpu; dv: DataView; bus: SimpleBus } => {
        const bus = new SimpleBus([[0x40000000, 0x200000]]);
        const cpu = new Cpu({ bus, hypervisor: { call: () => 0 }, ...(jit ? { jit: { threshold: 1, backend } } : {}) });
        const dv = new DataView(bus.mem.buffer, bus.mem.byteOffset, bus.mem.byteLength);
        for (let v = 0; v < 16; v++) dv.setUint32(v * 0x80, 0x14000000, true); // vectors: "b ."
        return { cpu, dv, bus };
      };
      const ref = make(false),
        jit = make(true);
      let s = 0x7654321;
      const rnd = (): number => {
        s ^= s << 13;
        s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5;
        s >>>= 0;
        return s;
      };
      // one word in four from the integer classes random words seldom hit (Arm DDI 0487 C4.1.95-97):
      // 1- and 2-source and 3-source data processing with random registers, sizes and valid opcodes
      const forced = (w: number, r: number): number => {
        const form = r % 3;
        if (form === 0) return ((w & 0x801f03ff) | 0x1ac00000 | ([2, 3, 8, 9, 10, 11][r % 6]! << 10)) >>> 0; // UDIV..RORV
        if (form === 1) return ((w & 0x800003ff) | 0x5ac00000 | (((r >>> 8) % 6) << 10)) >>> 0; // RBIT..CLS
        const [op31, o0] = [
          [0, 0],
          [0, 1],
          [1, 0],
          [1, 1],
          [2, 0],
          [5, 0],
          [5, 1],
          [6, 0],
        ][(r >>> 8) % 8]!;
        return ((w & 0x801f7fff) | 0x1b000000 | (op31 << 21) | (o0 << 15) | (op31 ? 0x80000000 : 0)) >>> 0; // MADD..UMULH
      };
      let executed = 0;
      const syndrome = ['ELR_EL1', 'ESR_EL1', 'FAR_EL1', 'SPSR_EL1'].map(sysregByName);
      const state = (c: Cpu): string =>
        `${Array.from(c.x).join(',')}|${Array.from(c.vr).join(',')}|${c.fpcr},${c.fpsr}|${c.pc}|${c.instret}|${c.pstate}|${syndrome.map((e) => c.readSysregValue(e)).join(',')}`;
      for (let k = 0; k < words; k++) {
        // let the vitest worker talk to its parent (a long synchronous stretch times its RPC out)
        if (k % 200 === 0) await new Promise((r) => setImmediate(r));
        if (k % 2000 === 0) {
          for (const m of [ref, jit]) {
            m.cpu.reset();
            // every other round with FP/SIMD enabled (CPACR_EL1.FPEN = 3), else its instructions trap
            if (k % 4000 === 0) m.cpu.srLo[SYSREG_INDEX[sysregByName('CPACR_EL1')]!] = 3 << 20;
          }
        }
        const at = 0x1000 + (k % 1000) * 16;
        const w4 = [rnd(), rnd(), rnd(), rnd()].map((w, i) => (i === k % 4 ? forced(w, rnd()) : w));
        const regs = Array.from({ length: 31 }, () => (rnd() % 3 === 0 ? 0x40000000 + (rnd() % 0x200000) : rnd()));
        for (const m of [ref, jit]) {
          w4.forEach((w, i) => m.dv.setUint32(at + 4 * i, w, true));
          m.cpu.shared.invalidateMem(at, 16);
          regs.forEach((v, r) => m.cpu.setXNum(r, v));
          m.cpu.pc = BigInt(0x40000000 + at);
        }
        executed += ref.cpu.run(6);
        jit.cpu.run(6);
        if (state(jit.cpu) !== state(ref.cpu)) {
          expect.fail(`case ${k}: words ${w4.map((w) => w.toString(16)).join(' ')}: jit state differs`);
        }
      }
      expect(executed).toBeGreaterThan(words);
      expect(jit.cpu.jit!.stats.blocks).toBeGreaterThan(words / 100);
      if (backend === 'wasm') expect(jit.cpu.jit!.wasm!.stats.nativeInsns).toBeGreaterThan(words / 10);
    },
  );
});
