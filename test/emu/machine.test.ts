// The machine on tiny raw guests: time and its stop reasons (instruction limit, guest hang, WFI
// skipping to a timer deadline, exception loops), the bus's unassigned-access recording, loading
// errors, and robustness against random guest images.
import { describe, expect, it, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { buildFdt, fdtNode, findNode, getProp, parseFdt, propString, readCells } from '../../arch/fdt.ts';
import { openTrace } from '../../capture/store/index.ts';
import { runGuest } from '../../emu/run.ts';
import { A64, ASM_SYSTEM_OFF, SYSTEM_OFF, assemble, rawImage, tempDir, writeImage } from './helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;
const image = (words: number[]) => writeImage(tmp.file(`g${n++}.bin`), rawImage(words));
const MEM = 64 << 20;
/** A minimal valid DTB (an empty root node). */
const dtb0 = (): Uint8Array => buildFdt(fdtNode('', { '#address-cells': 2, '#size-cells': 2 }));

describe('stop reasons and time', () => {
  it('PSCI SYSTEM_OFF from a raw image loaded at RAM + 0x80000', async () => {
    const r = await runGuest({ kernel: image(SYSTEM_OFF), memBytes: MEM, output: tmp.file('off.trace') });
    expect(r.stop).toEqual({ kind: 'system_off', message: 'PSCI SYSTEM_OFF' });
    expect(r.imageKind).toBe('raw');
    expect(r.entry).toBe(0x40080000);
    expect(r.executed).toBe(3);
    const t = openTrace(r.trace!);
    try {
      const evs = [...t.events()];
      expect(evs.map((e) => e.kind)).toEqual(['vcpu_state', 'hypercall', 'vcpu_state']);
      const h = evs[1]!;
      expect(h.kind === 'hypercall' && h.name).toBe('PSCI_SYSTEM_OFF');
      expect(h.time).toBe(3);
    } finally {
      t.close();
    }
  });

  it('instruction limit', async () => {
    const r = await runGuest({ kernel: image([A64.B_SELF]), memBytes: MEM, maxInsns: 100_000 });
    expect(r.stop).toEqual({ kind: 'insn_limit', message: 'instruction limit (100000)' });
    expect(r.executed).toBe(100_000);
    expect(r.virtualTime).toBe(100_000);
  });

  it('WFI with nothing armed is a guest hang', async () => {
    const r = await runGuest({ kernel: image([A64.WFI, A64.B_BACK1]), memBytes: MEM });
    expect(r.stop.kind).toBe('hang');
    expect(r.stop.message).toBe(
      'guest hang: cpu0 WFI at 0x40080004 with no interrupt pending at its CPU interface and no device deadline ahead',
    );
    expect(r.executed).toBe(1);
  });

  it('WFI skips virtual time to the timer deadline', async () => {
    // GICv2 distributor and CPU interface on, PPI 27 enabled, virtual timer armed 1000 ticks
    // ahead, IRQs masked in PSTATE (WFI still wakes), WFI, then SYSTEM_OFF.
    const code = assemble(`
      movz x2, #0x0800, lsl #16      // GICD
      mov w3, #1
      str w3, [x2]                   // GICD_CTLR = 1
      movz w3, #0x0800, lsl #16
      str w3, [x2, #0x100]           // GICD_ISENABLER0 = bit 27
      movz x4, #0x0801, lsl #16      // GICC
      mov w3, #1
      str w3, [x4]                   // GICC_CTLR = 1
      mov w3, #0xff
      str w3, [x4, #4]               // GICC_PMR = 0xff
      mov x1, #1000
      msr cntv_tval_el0, x1
      mov x1, #1
      msr cntv_ctl_el0, x1
      wfi
      ${ASM_SYSTEM_OFF}`);
    const r = await runGuest({ kernel: writeImage(tmp.file('wfi.bin'), code), gic: 2, memBytes: MEM, output: tmp.file('wfi.trace') });
    expect(r.stop.kind).toBe('system_off');
    expect(r.executed).toBe(code.length / 4);
    // The counter counts every 16 units of time: 1000 ticks after the MSR at time 12.
    expect(r.virtualTime).toBe(Math.ceil((Math.floor(12 / 16) + 1000) * 16) + 3);
    expect(r.skipped).toBe(r.virtualTime - r.executed);
    const t = openTrace(r.trace!);
    try {
      const w = [...t.events({ kinds: ['wfx'] })];
      expect(w).toHaveLength(1);
      expect(w[0]).toMatchObject({ kind: 'wfx', wfe: false, wake: 'irq', vcpu: 0, time: 16000, slept: 16000 - 15 });
      const line = [...t.events({ kinds: ['irq_line'] })];
      expect(line[0]).toMatchObject({ intid: 27, level: 1, source: 'timer:virt', time: 16000 });
    } finally {
      t.close();
    }
  });

  it('WFE wakes on the timer event stream (CNTKCTL_EL1.EVNTEN), as Linux udelay() needs', async () => {
    // EVNTEN, EVNTDIR 0, EVNTI 4: an event whenever bit 4 of the counter goes 0→1, every 32
    // counts (512 units of time), the first at count 16.
    const code = assemble(`mov x1, #0x44\n msr cntkctl_el1, x1\n wfe\n wfe\n ${ASM_SYSTEM_OFF}`);
    const r = await runGuest({ kernel: writeImage(tmp.file('wfe.bin'), code), memBytes: MEM, output: tmp.file('wfe.trace') });
    expect(r.stop.kind).toBe('system_off');
    const t = openTrace(r.trace!);
    try {
      const w = [...t.events({ kinds: ['wfx'] })];
      expect(w.map((e) => [e.time, e.kind === 'wfx' && e.wake, e.kind === 'wfx' && e.wfe])).toEqual([
        [16 * 16, 'event', true],
        [48 * 16, 'event', true],
      ]);
    } finally {
      t.close();
    }
    // Without the event stream nothing wakes a WFE here.
    const idle = assemble(`wfe\n wfe\n ${ASM_SYSTEM_OFF}`);
    expect((await runGuest({ kernel: writeImage(tmp.file('wfe2.bin'), idle), memBytes: MEM })).stop.kind).toBe('hang');
  });

  it('WFI with the timer fired but the GIC off is a guest hang', async () => {
    const code = assemble(`mov x1, #1000\n msr cntv_tval_el0, x1\n mov x1, #1\n msr cntv_ctl_el0, x1\n wfi\n ${ASM_SYSTEM_OFF}`);
    const r = await runGuest({ kernel: writeImage(tmp.file('wfi-nogic.bin'), code), memBytes: MEM });
    expect(r.stop.kind).toBe('hang');
    expect(r.virtualTime).toBe(16000);
  });

  it('an exception loop at an unmapped vector stops the run', async () => {
    const r = await runGuest({ kernel: image([A64.UDF0]), memBytes: MEM, output: tmp.file('loop.trace') });
    expect(r.stop.kind).toBe('exception_loop');
    expect(r.stop.message).toMatch(/^guest stuck: cpu0 keeps taking .* at its vector 0x200$/);
    const t = openTrace(r.trace!);
    try {
      const ex = [...t.events({ kinds: ['exception'] })];
      expect(ex[0]).toMatchObject({ ec: 0, esr: 0x2000000, from_el: 1, to_el: 1 });
      expect(ex[1]).toMatchObject({ ec: 0x21 }); // instruction abort at the vector, address 0x200
    } finally {
      t.close();
    }
  });
});

describe('the bus records every MMIO access', () => {
  it('unassigned accesses abort and are recorded with no device', async () => {
    // movz x1,#0x0b00,lsl #16; ldr w2,[x1]  → external abort (no vectors → loop, we stop at the limit)
    const r = await runGuest({ kernel: image([0xd2a16001, 0xb9400022]), memBytes: MEM, maxInsns: 100, output: tmp.file('un.trace') });
    const t = openTrace(r.trace!);
    try {
      const [rd] = [...t.events({ kinds: ['mmio_read'] })];
      expect(rd).toMatchObject({ addr: 0x0b000000, size: 4, device: '', register: '', outcome: 'unassigned', value: 0n, pc: 0x40080004n });
      const [ex] = [...t.events({ kinds: ['exception'] })];
      expect(ex).toMatchObject({ ec: 0x25, esr: 0x96000010, far: 0x0b000000n });
    } finally {
      t.close();
    }
  });
});

describe('loading', () => {
  it('passes --append and the initrd through the generated DTB, x0 = DTB address', async () => {
    const initrd = writeImage(
      tmp.file('initrd.img'),
      new Uint8Array(10_000).map((_, i) => i & 0xff),
    );
    let ram: Uint8Array | undefined;
    let base = 0;
    const r = await runGuest({
      kernel: image(SYSTEM_OFF),
      initrd,
      append: 'console=ttyAMA0 quiet',
      memBytes: MEM,
      output: tmp.file('initrd.trace'),
      onReady: (m) => {
        ram = m.bus.mem;
        base = m.bus.ramBase;
      },
    });
    expect(r.stop.kind).toBe('system_off');
    expect(Object.keys(r.hashes).sort()).toEqual(['dtb', 'initrd', 'kernel']);
    const t = openTrace(r.trace!);
    try {
      const dtb = new Uint8Array(t.meta.extra.dtbSize as number);
      dtb.set(Buffer.from(t.meta.extra.dtbBase64 as string, 'base64'));
      const fdt = parseFdt(dtb);
      const chosen = findNode(fdt.root, '/chosen')!;
      expect(propString(chosen, 'bootargs')).toBe('console=ttyAMA0 quiet');
      const cellsOf = (name: string) => {
        const v = getProp(chosen, name)!;
        return Number(readCells(v, 0, v.length / 4));
      };
      const start = cellsOf('linux,initrd-start');
      const end = cellsOf('linux,initrd-end');
      expect(end - start).toBe(10_000);
      expect(start).toBe(0x40000000 + (32 << 20));
      expect(Buffer.from(ram!.subarray(start - base, end - base))).toEqual(readFileSync(initrd));
      expect(r.dtbAddr).toBe(start + (2 << 20)); // next 2 MiB boundary after the initrd
      expect(Buffer.from(ram!.subarray(r.dtbAddr! - base, r.dtbAddr! - base + dtb.length))).toEqual(Buffer.from(dtb));
      const boot = [...t.events({ kinds: ['vcpu_state'] })][0]!;
      expect(boot).toMatchObject({ state: 'on', target: 0, entry: 0x40080000n, context: BigInt(r.dtbAddr!), reason: 'boot' });
    } finally {
      t.close();
    }
    const dtbFile = writeImage(tmp.file('given.dtb'), dtb0());
    await expect(runGuest({ kernel: image(SYSTEM_OFF), dtb: dtbFile, append: 'x', memBytes: MEM })).rejects.toThrow(
      /--append needs the generated DTB \(--dtb auto\)/,
    );
  });

  it('rejects images that cannot be guests, with one-line messages and no trace file', async () => {
    const empty = writeImage(tmp.file('empty.bin'), new Uint8Array(0));
    const out = tmp.file('never.trace');
    await expect(runGuest({ kernel: empty, output: out })).rejects.toThrow(/empty\.bin: kernel file is empty$/);
    const elf = new Uint8Array(64);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
    await expect(runGuest({ kernel: writeImage(tmp.file('bad.elf'), elf), output: out })).rejects.toThrow(
      /bad\.elf: ELF machine 0 at offset 0x12: expected EM_AARCH64 \(183\)$/,
    );
    await expect(
      runGuest({ kernel: writeImage(tmp.file('big.bin'), new Uint8Array(2 << 20)), memBytes: 2 << 20, output: out }),
    ).rejects.toThrow(/big\.bin: kernel \(2097152 bytes at 0x40080000\) does not fit in RAM 0x40000000-0x401fffff$/);
    await expect(
      runGuest({
        kernel: writeImage(tmp.file('text.bin'), new TextEncoder().encode('just some text, certainly not an arm64 kernel\n')),
        output: out,
      }),
    ).rejects.toThrow(/text\.bin: looks like text/);
    await expect(runGuest({ kernel: tmp.file('missing.bin'), output: out })).rejects.toThrow(/missing\.bin: kernel file not found/);
    await expect(runGuest({ kernel: image(SYSTEM_OFF), dtb: image(SYSTEM_OFF), output: out })).rejects.toThrow(/not a valid DTB/);
    await expect(runGuest({ kernel: image(SYSTEM_OFF), smp: 9, gic: 2, output: out })).rejects.toThrow(/GICv2 supports at most 8 vCPUs/);
    const { existsSync } = await import('node:fs');
    expect(existsSync(out)).toBe(false);
  });
});

describe('robustness', () => {
  it('random guest images (fixed seed) never throw in the host', async () => {
    let s = 0x12345678;
    const rnd = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return s >>> 0;
    };
    // Half the images are pure noise (they fault at once and loop at vector 0x200); the other half
    // install vectors that step over whatever faulted, so the noise keeps executing: random loads
    // and stores reach RAM, devices and unassigned space, random MSRs reach every register.
    const stub = assemble(`
      adr x0, vectors
      msr vbar_el1, x0
      b 1f
      .balign 2048
    vectors:
      .rept 16
      mrs x30, elr_el1
      add x30, x30, #4
      msr elr_el1, x30
      eret
      .balign 128
      .endr
    1:`);
    const kinds = new Map<string, number>();
    let executed = 0;
    let wordCount = 0;
    for (let i = 0; i < 120; i++) {
      const words = Array.from({ length: 1 + (rnd() % 4096) }, rnd);
      wordCount += words.length;
      const noise = rawImage(words);
      const img = i % 2 ? noise : new Uint8Array([...stub, ...noise]);
      const r = await runGuest({
        kernel: writeImage(tmp.file(`fuzz${i}.bin`), img),
        memBytes: 16 << 20,
        smp: 1 + (i % 3),
        gic: (2 + ((i >> 1) % 2)) as 2 | 3,
        maxInsns: 50_000,
      });
      kinds.set(r.stop.kind, (kinds.get(r.stop.kind) ?? 0) + 1);
      executed += r.executed;
      if (i % 4 === 0) {
        // the interpreter alone, and the block compiler compiling on a block's second run, record the same
        const same = {
          kernel: tmp.file(`fuzz${i}.bin`),
          memBytes: 16 << 20,
          smp: 1 + (i % 3),
          gic: (2 + ((i >> 1) % 2)) as 2 | 3,
          maxInsns: 50_000,
        };
        const a = await runGuest({ ...same, jit: false, output: tmp.file(`fuzz${i}-int.trace`) });
        const b = await runGuest({ ...same, jit: { threshold: 2 }, output: tmp.file(`fuzz${i}-jit.trace`) });
        expect(b.digest, `image ${i}`).toBe(a.digest);
        expect(b.executed).toBe(r.executed);
      }
      expect(['insn_limit', 'exception_loop', 'hang', 'system_off', 'system_reset', 'all_off']).toContain(r.stop.kind);
    }
    expect(kinds.get('exception_loop')).toBeGreaterThan(0);
    expect(kinds.get('insn_limit')).toBeGreaterThan(0);
    expect(executed).toBeGreaterThan(1_000_000);
    expect(wordCount).toBeGreaterThan(100_000);
  });
});
