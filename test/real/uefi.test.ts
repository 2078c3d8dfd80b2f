// Debian's EDK2 (qemu-efi-aarch64, QEMU_EFI.fd) on the kvm machine with --bios: run from the reset
// vector in flash bank 0, it formats the variable store in bank 1 (CFI block erases and buffered
// programs), loads the kernel through fw_cfg's DMA interface and starts it; the kernel's EFI stub
// runs and the kernel reaches the rootfs panic. DT mode (--acpi off): EDK2 passes QEMU's DT on.
// The replay of the run (variable store included) is identical.
import { afterAll, describe, expect, it } from 'vitest';
import { bootscope, fetchGuests, tempDir } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-real-uefi-');
afterAll(() => tmp.cleanup());

const PANIC = 'end Kernel panic';

describe('EDK2 (QEMU_EFI.fd) on --machine kvm --bios', () => {
  const { kernel, edk2 } = fetchGuests();
  const dtTrace = tmp.file('uefi-dt.trace');

  it('DT mode: EDK2 loads the kernel through fw_cfg, the EFI stub uses the DTB from the configuration table, the kernel panics for want of a root fs', async () => {
    const r = await bootscope(
      tmp.dir,
      'run',
      '--kernel',
      kernel,
      '--bios',
      edk2,
      '--acpi',
      'off',
      '--append',
      'console=ttyAMA0',
      '--stop-on',
      PANIC,
      '--max-insns',
      '3e9',
      '-o',
      dtTrace,
      '--json',
    );
    expect(r.err).toBe('');
    const s = JSON.parse(r.out);
    expect(s.stopMessage).toBe(`console printed "${PANIC}"`);
    const lines = (s.console as string).replace(/\r/g, '').split('\n');
    expect(lines[0]).toMatch(/^UEFI firmware \(version/);
    expect(lines.some((l) => l.endsWith('EFI stub: Booting Linux Kernel...'))).toBe(true);
    expect(lines).toContain('EFI stub: Using DTB from configuration table');
    expect(lines).toContain('EFI stub: Exiting boot services...');
    expect(lines.some((l) => /\] efi: EFI v2\.70 by EDK II$/.test(l))).toBe(true);
    expect(lines.some((l) => /Machine model: linux,dummy-virt/.test(l))).toBe(true);
    expect(lines.some((l) => /Kernel panic - not syncing: VFS: Unable to mount root fs/.test(l))).toBe(true);
    // The vCPU started at the reset vector, in flash.
    expect(s.image).toBe('firmware');
    expect(s.entry).toBe(0);
    expect(s.hashes.bios).toMatch(/^[0-9a-f]{64}$/);
    expect(s.config.acpi).toBe(false);
  });

  it('the variable store is formatted as on QEMU 7.2 (20 block erases, 158 buffered programs) and fw_cfg items are decoded', async () => {
    const info = await bootscope(tmp.dir, 'info', dtTrace, '--json');
    const extra = JSON.parse(info.out).extra ?? JSON.parse(info.out).meta?.extra;
    expect(extra.firmware.varsFlash).toEqual({ erases: 20, bufferedPrograms: 158, wordPrograms: 0 });
    const q = await bootscope(
      tmp.dir,
      'sql',
      dtTrace,
      "select register, count(*) n from events where device = 'fw-cfg@9020000' and register like 'select:%' group by 1 order by 1",
      '--json',
    );
    const selects = Object.fromEntries((JSON.parse(q.out) as { register: string; n: number }[]).map((x) => [x.register, x.n]));
    expect(selects['select:kernel_data']).toBe(1);
    expect(selects['select:cmdline_data']).toBe(1);
    expect(selects['select:signature']).toBeGreaterThan(0);
    const dma = await bootscope(
      tmp.dir,
      'sql',
      dtTrace,
      "select sum(cast(substr(register, 22) as integer)) bytes from events where register like 'dma:read:kernel_data:%'",
      '--json',
    );
    // The whole (unpacked) kernel went over fw_cfg DMA.
    expect((JSON.parse(dma.out) as { bytes: number }[])[0]!.bytes).toBeGreaterThan(20_000_000);
  });

  it('replays identically (the variable store starts empty again)', async () => {
    const r = await bootscope(tmp.dir, 'replay', dtTrace, '--json');
    expect(r.err).toBe('');
    expect(JSON.parse(r.out).identical).toBe(true);
  });
});
