// Shared helpers for the emulator tests: temp dirs, running a guest of the QEMU matrix on the
// emulator with the same machine switches, and tiny raw guests assembled from instruction words.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runGuest, type RunConfig, type RunResult } from '../../emu/run.ts';
import { guestBinary, sbsaUartDtb, type GuestRun } from '../helpers/qemu-runs.ts';

/** QEMU's -m 128M in the matrix: the same RAM size gives the same DTB memory node. */
export const MATRIX_MEM = 128 * 1024 * 1024;

export function tempDir(prefix = 'bootscope-emu-'): { dir: string; file: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, file: (n) => path.join(dir, n), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Run one matrix entry on the emulator (the SBSA variants get QEMU's edited DTB, as on QEMU). */
export async function runMatrixGuest(run: GuestRun, extra: Partial<RunConfig> = {}, kernel = guestBinary(run.guest)): Promise<RunResult> {
  const tmp = run.uartDt ? tempDir() : undefined;
  try {
    const dtb = tmp ? sbsaUartDtb(run, tmp.dir) : undefined;
    return await runGuest({ kernel, gic: run.gic, smp: run.smp, memBytes: MATRIX_MEM, ...(dtb ? { dtb } : {}), ...extra });
  } finally {
    tmp?.cleanup();
  }
}

/** A raw guest image made of 32-bit little-endian instruction words. */
export function rawImage(words: number[]): Uint8Array {
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return b;
}

export function writeImage(file: string, data: Uint8Array): string {
  writeFileSync(file, data);
  return file;
}

export const A64 = {
  WFI: 0xd503207f,
  NOP: 0xd503201f,
  /** B . */
  B_SELF: 0x14000000,
  /** B .-4 */
  B_BACK1: 0x17ffffff,
  /** HVC #0 */
  HVC0: 0xd4000002,
  /** MOVZ W0, #imm16, LSL #16 */
  movzW0Hi: (imm: number) => 0x52a00000 | ((imm & 0xffff) << 5),
  /** MOVK W0, #imm16 */
  movkW0: (imm: number) => 0x72800000 | ((imm & 0xffff) << 5),
  UDF0: 0x00000000,
};

/** PSCI SYSTEM_OFF as a raw guest: x0 = 0x84000008; HVC #0. */
export const SYSTEM_OFF = [A64.movzW0Hi(0x8400), A64.movkW0(0x0008), A64.HVC0];

/** Assemble AArch64 source with Debian's binutils into a flat binary (for raw guests). */
export function assemble(source: string): Uint8Array {
  const t = tempDir('bootscope-asm-');
  try {
    writeFileSync(t.file('g.S'), source + '\n');
    execFileSync('aarch64-linux-gnu-as', ['-o', t.file('g.o'), t.file('g.S')], { stdio: 'pipe' });
    execFileSync('aarch64-linux-gnu-objcopy', ['-O', 'binary', '-j', '.text', t.file('g.o'), t.file('g.bin')], { stdio: 'pipe' });
    return new Uint8Array(readFileSync(t.file('g.bin')));
  } finally {
    t.cleanup();
  }
}

/** Assembly: PSCI SYSTEM_OFF over HVC. */
export const ASM_SYSTEM_OFF = 'movz x0, #0x8400, lsl #16\n movk x0, #0x0008\n hvc #0';
