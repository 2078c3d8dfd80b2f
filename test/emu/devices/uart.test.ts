// PL011 (QEMU's model) and the SBSA UART (Xen's vpl011), register by register.
import { describe, expect, it } from 'vitest';
import { PL011_FR, PL011_INT } from '../../../arch/regmaps/pl011.ts';
import { Pl011 } from '../../../emu/devices/pl011.ts';
import { SbsaUart } from '../../../emu/devices/sbsa-uart.ts';
import type { InterruptController } from '../../../emu/devices/irq.ts';
import { LevelSink, reg, testEnv } from './helpers.ts';

const { RXFE: FR_RXFE, RXFF: FR_RXFF, TXFE: FR_TXFE } = PL011_FR;
const { RX: INT_RX, TX: INT_TX } = PL011_INT;
// The SBSA UART keeps the PL011's flag and interrupt bits.
const { RXFE: SBSA_FR_RXFE, TXFE: SBSA_FR_TXFE } = PL011_FR;
const { RX: SBSA_RXI, TX: SBSA_TXI, RT: SBSA_RTI } = PL011_INT;

function pl011() {
  const { rec, env } = testEnv();
  const sink = new LevelSink();
  const out: number[] = [];
  const u = new Pl011({ region: reg('pl011@9000000', 'pl011', 0x9000000, 0x1000, 33), irq: sink, env, onTx: (b) => out.push(b) });
  return { u, sink, out, rec };
}

describe('PL011', () => {
  it('has the reset values and QEMU ID bytes', () => {
    const { u } = pl011();
    expect(u.read(0x18, 4, 0)).toBe(FR_RXFE | FR_TXFE); // 0x90
    expect(u.read(0x30, 4, 0)).toBe(0x300);
    expect(u.read(0x34, 4, 0)).toBe(0x12);
    for (const off of [0x04, 0x20, 0x24, 0x28, 0x2c, 0x38, 0x3c, 0x40, 0x48]) expect(u.read(off, 4, 0)).toBe(0);
    const ids = [0xfe0, 0xfe4, 0xfe8, 0xfec, 0xff0, 0xff4, 0xff8, 0xffc].map((o) => u.read(o, 4, 0));
    expect(ids).toEqual([0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
    expect(u.registerName(0x18)).toBe('FR');
    expect(u.registerName(0xfe8)).toBe('PeriphID2');
  });

  it('transmits every DR write, records console bytes and raises TX', () => {
    const { u, sink, out, rec } = pl011();
    u.write(0x00, 1, 0x41, 0);
    expect(out).toEqual([0x41]);
    expect(u.read(0x3c, 4, 0) & INT_TX).toBe(INT_TX);
    expect(sink.level(33)).toBe(false); // masked
    u.write(0x38, 4, INT_TX, 0);
    expect(sink.level(33)).toBe(true);
    expect(u.read(0x40, 4, 0)).toBe(INT_TX);
    u.write(0x44, 4, INT_TX, 0);
    expect(sink.level(33)).toBe(false);
    expect(rec.of('console').map((e) => [...e.bytes])).toEqual([[0x41]]);
    expect(rec.of('irq_line').map((e) => [e.intid, e.level, e.source])).toEqual([
      [33, 1, 'pl011@9000000'],
      [33, 0, 'pl011@9000000'],
    ]);
  });

  it('masks registers to their implemented widths; ICR and unknown offsets read 0', () => {
    const { u } = pl011();
    u.write(0x24, 4, 0x12345, 0);
    u.write(0x28, 4, 0xff, 0);
    u.write(0x30, 4, 0xffffffff, 0);
    expect(u.read(0x24, 4, 0)).toBe(0x2345);
    expect(u.read(0x28, 4, 0)).toBe(0x3f);
    expect(u.read(0x30, 4, 0)).toBe(0xffff);
    expect(u.read(0x44, 4, 0)).toBe(0);
    expect(u.read(0x100, 4, 0)).toBe(0);
    u.write(0x18, 4, 0, 0); // FR is read-only
    expect(u.read(0x18, 4, 0)).toBe(0x90);
  });

  it('receives through the 1-deep holding register, then a 16-entry FIFO with FEN', () => {
    const { u, sink, rec } = pl011();
    u.write(0x38, 4, INT_RX, 0);
    u.pushInput(new TextEncoder().encode('hi'));
    expect(u.read(0x18, 4, 0) & (FR_RXFE | FR_RXFF)).toBe(FR_RXFF); // non-FIFO mode: full at 1
    expect(sink.level(33)).toBe(true);
    expect(u.read(0x00, 4, 0)).toBe(0x68);
    expect(u.read(0x00, 4, 0)).toBe(0x69); // next byte moved in after the read
    expect(u.read(0x18, 4, 0) & FR_RXFE).toBe(FR_RXFE);
    expect(sink.level(33)).toBe(false);
    u.write(0x2c, 4, 0x70, 0); // FEN | 8 bits
    u.pushInput(new Uint8Array(20).fill(0x61));
    expect(u.rxCount).toBe(16);
    expect(u.pendingInput).toBe(4);
    expect(u.read(0x18, 4, 0) & FR_RXFF).toBe(FR_RXFF);
    for (let i = 0; i < 20; i++) expect(u.read(0x00, 4, 0)).toBe(0x61);
    expect(u.read(0x18, 4, 0) & FR_RXFE).toBe(FR_RXFE);
    expect(rec.of('input')).toHaveLength(2);
  });

  it('flushes the RX FIFO when FEN changes', () => {
    const { u } = pl011();
    u.write(0x2c, 4, 0x10, 0);
    u.pushInput(Uint8Array.of(1, 2, 3));
    u.write(0x2c, 4, 0x00, 0);
    expect(u.read(0x18, 4, 0) & FR_RXFE).toBe(FR_RXFE); // all three were in the FIFO: flushed
    u.pushInput(Uint8Array.of(4));
    expect(u.read(0x00, 4, 0)).toBe(4);
  });
});

describe('SBSA UART (Xen vpl011)', () => {
  function sbsa() {
    const { rec, env } = testEnv();
    const injected: number[] = [];
    const ic: InterruptController = {
      setLine() {},
      inject: (intid) => injected.push(intid),
      irqPending: () => false,
      fiqPending: () => false,
    };
    const out: number[] = [];
    const u = new SbsaUart({
      region: reg('sbsa-uart@22000000', 'sbsa-uart', 0x22000000, 0x1000, 32),
      irq: ic,
      env,
      onTx: (b) => out.push(b),
    });
    return { u, injected, out, rec };
  }

  it('emulates only DR, RSR, FR, RIS, MIS, IMSC, ICR; everything else reads 0 and ignores writes', () => {
    const { u } = sbsa();
    expect(u.read(0x18, 4, 0)).toBe(SBSA_FR_TXFE | SBSA_FR_RXFE);
    for (const off of [0x24, 0x28, 0x2c, 0x30, 0x34, 0x48, 0xfe0, 0xfe8, 0xff0, 0xffc]) {
      u.lastOutcome = 'handled';
      expect(u.read(off, 4, 0)).toBe(0);
      expect(u.lastOutcome).toBe('raz_wi');
    }
    u.lastOutcome = 'handled';
    u.write(0x30, 4, 0x301, 0);
    expect(u.lastOutcome).toBe('raz_wi');
    expect(u.read(0x30, 4, 0)).toBe(0);
  });

  it('aborts on an ICR read and on 64-bit accesses to its registers', () => {
    const { u } = sbsa();
    u.lastOutcome = 'handled';
    u.read(0x44, 4, 0);
    expect(u.lastOutcome).toBe('abort');
    u.lastOutcome = 'handled';
    u.read(0x00, 8, 0);
    expect(u.lastOutcome).toBe('abort');
    u.lastOutcome = 'handled';
    u.write(0x38, 8, 0, 0);
    expect(u.lastOutcome).toBe('abort');
    u.lastOutcome = 'handled';
    u.read64(0x18);
    expect(u.lastOutcome).toBe('abort');
    u.lastOutcome = 'handled';
    u.read64(0x30); // not an emulated register: Xen's default case reads 0
    expect(u.lastOutcome).toBe('raz_wi');
    u.lastOutcome = 'handled';
    u.write64(0x44, 0n);
    expect(u.lastOutcome).toBe('abort');
  });

  it('injects an edge only when a new MIS bit appears', () => {
    const { u, injected, out, rec } = sbsa();
    u.write(0x00, 4, 0x4f, 0);
    expect(out).toEqual([0x4f]);
    expect(u.read(0x3c, 4, 0)).toBe(SBSA_TXI);
    expect(injected).toEqual([]);
    u.write(0x38, 2, SBSA_TXI, 0);
    expect(injected).toEqual([32]);
    u.write(0x00, 1, 0x4b, 0); // TXI still set: no new edge
    expect(injected).toEqual([32]);
    u.write(0x44, 4, SBSA_TXI, 0);
    u.write(0x00, 4, 0x0a, 0);
    expect(injected).toEqual([32, 32]);
    expect(rec.of('irq_line').every((e) => e.trigger === 'edge' && e.intid === 32)).toBe(true);
  });

  it('raises RTI while input is queued and RXI at half full', () => {
    const { u } = sbsa();
    u.pushInput(Uint8Array.of(0x31, 0x32));
    expect(u.read(0x3c, 4, 0) & (SBSA_RTI | SBSA_RXI)).toBe(SBSA_RTI);
    expect(u.read(0x18, 4, 0) & SBSA_FR_RXFE).toBe(0);
    expect(u.read(0x00, 4, 0)).toBe(0x31);
    expect(u.read(0x00, 4, 0)).toBe(0x32);
    expect(u.read(0x3c, 4, 0) & SBSA_RTI).toBe(0);
    expect(u.read(0x18, 4, 0) & SBSA_FR_RXFE).toBe(SBSA_FR_RXFE);
    u.pushInput(new Uint8Array(20));
    expect(u.read(0x3c, 4, 0) & SBSA_RXI).toBe(SBSA_RXI);
  });
});
