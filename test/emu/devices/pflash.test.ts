// QEMU virt's CFI flash bank (pflash_cfi01, Intel command set): read-array as ROM, identifier and
// CFI query answered once per 16-bit device, block erase, buffered and word program, status.
import { describe, expect, it } from 'vitest';
import { Pflash, PFLASH_BANK_SIZE, PFLASH_SECTOR } from '../../../emu/devices/pflash.ts';
import { reg } from './helpers.ts';

function bank(fill = 0) {
  const storage = new Uint8Array(PFLASH_BANK_SIZE);
  if (fill) storage.fill(fill);
  const f = new Pflash({ region: reg('cfi-flash@4000000', 'cfi-flash', 0x4000000, PFLASH_BANK_SIZE), storage });
  const modes: boolean[] = [];
  f.onModeChange = () => modes.push(f.romMode);
  return { f, storage, modes };
}

/** Both devices get the command: the guest writes it in each 16-bit lane. */
const both = (cmd: number): number => (cmd | (cmd << 16)) >>> 0;

describe('CFI flash bank (pflash_cfi01)', () => {
  it('leaves ROM mode for a command and returns on read-array (0xFF)', () => {
    const { f, modes } = bank();
    expect(f.romMode).toBe(true);
    f.write(0, 4, both(0x70));
    expect(f.romMode).toBe(false);
    expect(f.read(0x100, 4)).toBe(0); // status: nothing done yet
    expect(f.registerName(0x100)).toBe('status');
    f.write(0, 4, both(0xff));
    expect(f.romMode).toBe(true);
    expect(modes).toEqual([false, true]);
  });

  it('read identifier (0x90): Intel 0x89, device 0x18, in both lanes', () => {
    const { f } = bank();
    f.write(0, 4, both(0x90));
    expect(f.read(0, 4)).toBe(0x00890089);
    expect(f.read(4, 4)).toBe(0x00180018);
    expect(f.read(8, 4)).toBe(0);
    expect(f.read(0, 2)).toBe(0x89);
  });

  it('CFI query (0x98): "QRY", the Intel command set, 256 KiB blocks (128 KiB per device), 2 KiB write buffer', () => {
    const { f } = bank();
    f.write(0x55 * 4, 4, both(0x98));
    const q = (i: number): number => f.read(i * 4, 4) & 0xffff;
    expect([q(0x10), q(0x11), q(0x12)]).toEqual([0x51, 0x52, 0x59]);
    expect(q(0x13)).toBe(1);
    expect(q(0x27)).toBe(25); // 32 MiB per device
    expect(q(0x2a)).toBe(11);
    expect(q(0x2c)).toBe(1);
    expect(q(0x2d) | (q(0x2e) << 8)).toBe(255); // 256 blocks
    expect((q(0x2f) | (q(0x30) << 8)) * 256).toBe(PFLASH_SECTOR / 2);
    expect(f.read(0x11 * 4, 4)).toBe(0x00520052);
    expect(f.read(0x200 * 4, 4)).toBe(0); // past the table
  });

  it('block erase (0x20, 0xD0) sets one 256 KiB block to 0xFF and reports ready', () => {
    const { f, storage } = bank(0);
    f.write(PFLASH_SECTOR + 8, 4, both(0x20));
    f.write(PFLASH_SECTOR + 8, 4, both(0xd0));
    expect(f.read(0, 4)).toBe(0x00800080);
    expect(storage.subarray(PFLASH_SECTOR, 2 * PFLASH_SECTOR).every((b) => b === 0xff)).toBe(true);
    expect(storage[PFLASH_SECTOR - 1]).toBe(0);
    expect(storage[2 * PFLASH_SECTOR]).toBe(0);
    expect(f.counts.erases).toBe(1);
    expect(f.registerName(0)).toBe('status');
  });

  it('buffered program (0xE8, count−1, data, 0xD0) writes the words; programming only clears bits', () => {
    const { f, storage } = bank(0xff);
    f.write(0x1000, 4, both(0xe8));
    expect(f.read(0x1000, 4) & 0x80).toBe(0x80); // buffer available
    f.write(0x1000, 4, both(1)); // two words
    f.write(0x1000, 4, 0x11223344);
    f.write(0x1004, 4, 0x55667788);
    f.write(0x1000, 4, both(0xd0));
    expect(f.counts.bufferedPrograms).toBe(1);
    expect(Array.from(storage.subarray(0x1000, 0x1008))).toEqual([0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55]);
    f.write(0, 4, both(0x40)); // word program over it: bits only go from 1 to 0
    f.write(0x1000, 4, 0xffff00ff);
    expect(Array.from(storage.subarray(0x1000, 0x1004))).toEqual([0x44, 0x00, 0x22, 0x11]);
    f.write(0, 4, both(0xff));
    expect(f.read(0x1004, 4)).toBe(0x55667788);
  });

  it('clear status (0x50) returns to read-array; a broken erase sequence does too (no erase confirm)', () => {
    const { f } = bank();
    f.write(0, 4, both(0x20));
    f.write(0, 4, both(0x30)); // not 0xD0
    expect(f.romMode).toBe(true);
    expect(f.lastOutcome).toBe('raz_wi');
    f.write(0, 4, both(0x50));
    expect(f.romMode).toBe(true);
    f.write(0, 4, both(0x70));
    expect(f.read(0, 4)).toBe(0);
  });

  it('an unknown command (a store to the bank) is ignored and stays in read-array', () => {
    const { f, storage } = bank(0x5a);
    f.write(0x1cb20, 4, 0x17384);
    expect(f.registerName(0x1cb20)).toBe('cmd-0x84');
    expect(f.romMode).toBe(true);
    expect(storage[0x1cb20]).toBe(0x5a);
  });

  it('lock/unlock setup (0x60 then 0xD0 or 0x01) completes with ready status', () => {
    const { f } = bank();
    f.write(0, 4, both(0x60));
    f.write(0, 4, both(0xd0));
    expect(f.registerName(0)).toBe('unlock-confirm');
    expect(f.read(0, 4)).toBe(0x00800080);
  });
});
