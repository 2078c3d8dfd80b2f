// Hypercall arguments are guest virtual addresses: the personality translates them through the
// calling vCPU's stage-1 tables (SCTLR_EL1.M, TCR_EL1, TTBR0_EL1) as Xen's copy_{from,to}_guest
// do, with EL1 permissions; an unmapped VA or a write to a read-only mapping is -EFAULT.
import { describe, expect, it } from 'vitest';
import { sysregEncoding as sysregEnc } from '../../../../arch/sysregs.ts';
import { translateForHypervisor } from '../../../../emu/personality/xen-guest-memory.ts';
import { RAM, xenHarness } from './harness.ts';

const L1 = RAM + 0x100000; // level-1 table (4K granule, T0SZ 25: 39-bit VA, walk starts at level 1)
const AF = 1n << 10n;
const AP_RO = 1n << 7n;
const BLOCK = 1n;

function withMmu() {
  const h = xenHarness({ toolstack: 'dom0less' }); // the console domain: console_io writes reach the console
  h.mem.w64(L1 + 2 * 8, BigInt(RAM) | AF | BLOCK); // VA 0x8000_0000 → RAM, read/write
  h.mem.w64(L1 + 3 * 8, BigInt(RAM) | AF | AP_RO | BLOCK); // VA 0xC000_0000 → RAM, read-only
  h.cpus[0]!.sysregs = new Map([
    [sysregEnc(3, 0, 1, 0, 0), 1n], // SCTLR_EL1.M
    [sysregEnc(3, 0, 2, 0, 2), 25n | (1n << 23n)], // TCR_EL1: T0SZ 25, EPD1
    [sysregEnc(3, 0, 2, 0, 0), BigInt(L1)], // TTBR0_EL1
  ]);
  return h;
}

describe('guest virtual addresses in hypercall arguments', () => {
  it('translate through the stage-1 tables', () => {
    const h = withMmu();
    const phys = h.p.domain.access.phys;
    expect(translateForHypervisor(h.cpus[0]!, phys, 0x80001234n, false)).toBe(RAM + 0x1234);
    expect(translateForHypervisor(h.cpus[0]!, phys, 0xc0001234n, false)).toBe(RAM + 0x1234);
    expect(translateForHypervisor(h.cpus[0]!, phys, 0xc0001234n, true)).toBe(-1);
    expect(translateForHypervisor(h.cpus[0]!, phys, 0x1000n, false)).toBe(-1);
  });

  it('copy_to_guest writes through the mapping; read-only or unmapped VAs are -EFAULT', () => {
    const h = withMmu();
    expect(h.hypercall(17, [1n, 0x80003000n])).toBe(0n); // XENVER_extraversion
    expect(Buffer.from(h.mem.bytes(RAM + 0x3000, 2)).toString()).toBe('.7');
    expect(h.hypercall(17, [1n, 0xc0003000n])).toBe(-14n);
    expect(h.hypercall(17, [1n, 0x3000n])).toBe(-14n);
  });

  it('copy_from_guest reads a read-only mapping (console_io write of a string in rodata)', () => {
    const h = withMmu();
    'ok\n'.split('').forEach((c, i) => h.mem.w8(RAM + 0x5000 + i, c.charCodeAt(0)));
    expect(h.hypercall(18, [0n, 3n, 0xc0005000n])).toBe(0n);
    const ev = h.events.find((e) => e.kind === 'console');
    expect(ev?.kind === 'console' && Buffer.from(ev.bytes).toString()).toBe('ok\n');
  });

  it('a buffer that crosses into an unmapped page faults as a whole', () => {
    const h = withMmu();
    // 0x7FFFFFF8.. starts in the unmapped L1[1] and ends in the block; 0x80000FF8.. crosses a page inside it
    expect(h.hypercall(18, [0n, 16n, 0x7ffffff8n])).toBe(-14n);
    expect(h.hypercall(18, [0n, 16n, 0x80000ff8n])).toBe(0n);
    // a block beyond the end of RAM (VA 0xBFFF_F000 → RAM + 1 GiB − 4 KiB) has no memory behind it
    expect(h.hypercall(18, [0n, 16n, 0xbffff000n])).toBe(-14n);
  });
});
