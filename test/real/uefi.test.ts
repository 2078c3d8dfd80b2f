// Debian's EDK2 (qemu-efi-aarch64, QEMU_EFI.fd) on the kvm machine with --bios: run from the reset
// vector in flash bank 0, it formats the variable store in bank 1 (CFI block erases and buffered
// programs), loads the kernel through fw_cfg's DMA interface and starts it; the kernel's EFI stub
// runs and the kernel reaches the rootfs panic. DT mode (--acpi off): EDK2 passes QEMU's DT on.
// The replay of the run (variable store included) is identical. ACPI mode (the default): the
// tables the kernel lists, and the tables' bytes, are those of real QEMU 7.2 booting the same
// firmware and kernel (its tables dumped from /sys/firmware/acpi/tables by a busybox initramfs).
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootscope, fetchGuests, tempDir } from '../helpers/real-guests.ts';
import { runOnQemu } from '../helpers/qemu-runs.ts';
import { makeInitramfs } from '../../scripts/make-initramfs.ts';
import { DISK_MARKER, makeTestDisk } from '../../scripts/make-test-disk.ts';
import { smbiosTables } from '../../emu/machine/smbios.ts';

const tmp = tempDir('bootscope-real-uefi-');
afterAll(() => tmp.cleanup());

const PANIC = 'end Kernel panic';

/** "ACPI: XSDT 0x000000005C43FE98 000064 (v01 BOCHS  BXPC …)" → the table and its header, address dropped. */
const acpiList = (console: string): string[] =>
  console
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => /\] ACPI: ([A-Z0-9]{4}) 0x[0-9A-F]{16} (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]}`);

/** /init that prints each ACPI table as hex (busybox od) between markers, then powers off. */
const DUMP_INIT = [
  '#!/bin/sh',
  '/bin/busybox mount -t sysfs sysfs /sys',
  'for f in /sys/firmware/acpi/tables/* /sys/firmware/dmi/tables/*; do [ -f $f ] && echo TABLE ${f##*/} && /bin/busybox od -An -tx1 -v $f; done',
  'echo ENDTABLES',
  '/bin/busybox poweroff -f',
  '',
].join('\n');

function dumpedTables(console: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let cur: string | undefined;
  let bytes: number[] = [];
  for (const line of console.replace(/\r/g, '').split('\n')) {
    const m = /^TABLE (\S+)$/.exec(line);
    if (m || line === 'ENDTABLES') {
      if (cur) out.set(cur, Uint8Array.from(bytes));
      cur = m?.[1];
      bytes = [];
    } else if (cur && /^( [0-9a-f]{2})+$/.test(line))
      bytes.push(
        ...line
          .trim()
          .split(' ')
          .map((h) => parseInt(h, 16)),
      );
  }
  return out;
}

describe('EDK2 (QEMU_EFI.fd) on --machine kvm --bios', () => {
  const { kernel, edk2 } = fetchGuests();
  const dtTrace = tmp.file('uefi-dt.trace');

  it('DT mode, 1 vCPU, GICv2: EDK2 loads the kernel through fw_cfg, the EFI stub uses the DTB from the configuration table, the kernel panics for want of a root fs', async () => {
    const r = await bootscope(
      tmp.dir,
      'run',
      '--kernel',
      kernel,
      '--bios',
      edk2,
      '--acpi',
      'off',
      '--gic',
      '2',
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
    // The ACPI cases below run GICv3; this one takes EDK2 and the kernel through the GICv2 (and v2m) path.
    expect(lines.some((l) => /\] GICv2m: range\[mem 0x08020000-0x08020fff\], SPI\[80:143\]$/.test(l))).toBe(true);
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

  it("check finds no error (the one warning is the kernel's PL011 driver changing the baud rate while the UART is enabled, as on a direct boot)", async () => {
    const c = JSON.parse((await bootscope(tmp.dir, 'check', dtTrace, '--json')).out);
    const fs = c.findings as { rule: string; severity: string }[];
    expect(fs.filter((f) => f.severity === 'error')).toEqual([]);
    expect(fs.map((f) => f.rule)).toEqual(['uart.lcr-while-enabled']);
  });

  it('replays identically (the variable store starts empty again)', async () => {
    const r = await bootscope(tmp.dir, 'replay', dtTrace, '--json');
    expect(r.err).toBe('');
    expect(JSON.parse(r.out).identical).toBe(true);
  });
});

describe('EDK2 with ACPI (the default with --bios) against QEMU 7.2', () => {
  const { kernel, edk2, busybox } = fetchGuests();
  const acpiTrace = tmp.file('uefi-acpi.trace');
  /** QEMU's log of the same firmware's MMIO (memory_region_ops_*), for the importer. */
  const qemuLog = tmp.file('uefi-acpi-qemu.log');
  let qemuConsole = '';
  const initrd = tmp.file('acpidump.cpio.gz');
  beforeAll(async () => {
    writeFileSync(initrd, makeInitramfs(readFileSync(busybox), '', DUMP_INIT));
    const q = await runOnQemu(
      { id: 'uefi-acpi', guest: 'uart', gic: 3, smp: 1 },
      {
        kernel,
        killAfterMs: 600_000,
        extraArgs: ['-bios', edk2, '-initrd', initrd, '-append', 'console=ttyAMA0', '-trace', 'memory_region_ops_*', '-D', qemuLog],
      },
    );
    qemuConsole = q.stdout;
  });

  it('boots to the rootfs panic through ACPI: SPCR gives the console, the kernel lists the tables QEMU 7.2 gives', async () => {
    const r = await bootscope(
      tmp.dir,
      'run',
      '--kernel',
      kernel,
      '--bios',
      edk2,
      '--append',
      'console=ttyAMA0',
      '--stop-on',
      PANIC,
      '--max-insns',
      '3e9',
      '-o',
      acpiTrace,
      '--json',
    );
    expect(r.err).toBe('');
    const s = JSON.parse(r.out);
    expect(s.stopMessage).toBe(`console printed "${PANIC}"`);
    expect(s.config.acpi).toBe(true);
    const lines = (s.console as string).replace(/\r/g, '').split('\n');
    expect(lines).toContain('EFI stub: Generating empty DTB');
    expect(lines.some((l) => l.endsWith('] ACPI: SPCR: console: pl011,mmio,0x9000000,9600'))).toBe(true);
    expect(lines.some((l) => l.endsWith('] ACPI: PCI Root Bridge [PCI0] (domain 0000 [bus 00-ff])'))).toBe(true);
    expect(lines.some((l) => /Kernel panic - not syncing: VFS: Unable to mount root fs/.test(l))).toBe(true);
    const mine = acpiList(s.console as string);
    expect(mine.map((l) => l.slice(0, 4))).toEqual([
      'RSDP',
      'XSDT',
      'FACP',
      'DSDT',
      'APIC',
      'PPTT',
      'GTDT',
      'MCFG',
      'SPCR',
      'DBG2',
      'IORT',
    ]);
    expect(mine).toEqual(acpiList(qemuConsole));
  });

  it('check is clean on the correct boot; the same firmware on QEMU TCG writes to a redistributor QEMU resets asleep (gic.redist-before-waker)', async () => {
    // The kvm machine's redistributor is KVM's: GICR_WAKER reads 0, so EDK2, which never touches
    // WAKER, uses an awake redistributor (docs/rules.md, gic.redist-before-waker).
    const mine = JSON.parse((await bootscope(tmp.dir, 'check', acpiTrace, '--json')).out);
    expect(mine.findings).toEqual([]);
    const imported = tmp.file('uefi-acpi-qemu.trace');
    expect((await bootscope(tmp.dir, 'import', qemuLog, '-o', imported)).err).toBe('');
    const theirs = JSON.parse((await bootscope(tmp.dir, 'check', imported, '--json')).out);
    const errors = (theirs.findings as { rule: string; severity: string; count: number; message: string }[]).filter(
      (f) => f.severity === 'error',
    );
    expect(errors.map((f) => f.rule)).toEqual(['gic.redist-before-waker']);
    expect(errors[0]!.message).toContain("QEMU TCG's GICv3 resets ProcessorSleep to 1 and nothing cleared it");
    expect(errors[0]!.count).toBeGreaterThan(50);
  });

  it("the tables the guest was given (stored in the trace) are QEMU 7.2's byte for byte, but for the pointers the firmware patches and the PMU interrupt", async () => {
    const qemu = dumpedTables(qemuConsole);
    qemu.delete('DMI');
    qemu.delete('smbios_entry_point');
    expect([...qemu.keys()].sort()).toEqual(['APIC', 'DBG2', 'DSDT', 'FACP', 'GTDT', 'IORT', 'MCFG', 'PPTT', 'SPCR']);
    const info = JSON.parse((await bootscope(tmp.dir, 'info', acpiTrace, '--json')).out);
    const given = info.meta.extra.acpi as { sig: string; base64: string }[];
    expect(given.map((t) => t.sig)).toEqual(['DSDT', 'FACP', 'APIC', 'PPTT', 'GTDT', 'MCFG', 'SPCR', 'DBG2', 'IORT']);
    for (const t of given) {
      const ours = Uint8Array.from(Buffer.from(t.base64, 'base64'));
      const theirs = qemu.get(t.sig)!;
      expect(ours.length, t.sig).toBe(theirs.length);
      // Bytes QEMU's firmware patched after the fact (checksum, FADT → DSDT) or that we set apart (no PMU).
      const skip = new Set([9, ...(t.sig === 'FACP' ? [40, 41, 42, 43, 140, 141, 142, 143] : []), ...(t.sig === 'APIC' ? [88] : [])]);
      const diffs = [...ours.keys()].filter((i) => !skip.has(i) && ours[i] !== theirs[i]);
      expect(diffs, t.sig).toEqual([]);
    }
  });

  it("SMBIOS through fw_cfg: EDK2 installs QEMU 7.2's structures byte for byte (the product named as under KVM), and the kernel's DMI line shows them", async () => {
    const structs = (d: Uint8Array): Uint8Array[] => {
      const out: Uint8Array[] = [];
      for (let i = 0; i < d.length;) {
        let j = i + d[i + 1]!;
        while (d[j] !== 0 || d[j + 1] !== 0) j++;
        out.push(d.subarray(i, j + 2));
        if (d[i] === 127) break;
        i = j + 2;
      }
      return out;
    };
    // QEMU's structures as EDK2 installed them (EDK2 adds type 0 and its own end-of-table).
    const theirs = structs(dumpedTables(qemuConsole).get('DMI')!).filter((x) => x[0] !== 0 && x[0] !== 127);
    expect(theirs.map((x) => x[0])).toEqual([1, 3, 4, 16, 17, 32]);
    // The QEMU run has 128 MiB; under TCG QEMU names the product "QEMU Virtual Machine".
    const ours = structs(smbiosTables({ smp: 1, memBytes: 128 << 20, product: 'QEMU Virtual Machine' })).filter((x) => x[0] !== 127);
    expect(ours.map((x) => Buffer.from(x).toString('hex'))).toEqual(theirs.map((x) => Buffer.from(x).toString('hex')));
    expect(qemuConsole).toMatch(/\] DMI: QEMU QEMU Virtual Machine, BIOS 0\.0\.0 02\/06\/2015\r?$/m);
    // Two vCPUs: QEMU 7.2 makes them cores of one socket, its thread count 2.
    const q2 = await runOnQemu(
      { id: 'uefi-smbios-smp2', guest: 'uart', gic: 3, smp: 2 },
      { kernel, killAfterMs: 600_000, extraArgs: ['-bios', edk2, '-initrd', initrd, '-append', 'console=ttyAMA0'] },
    );
    const theirs2 = structs(dumpedTables(q2.stdout).get('DMI')!).filter((x) => x[0] !== 0 && x[0] !== 127);
    const ours2 = structs(smbiosTables({ smp: 2, memBytes: 128 << 20, product: 'QEMU Virtual Machine' })).filter((x) => x[0] !== 127);
    expect(ours2.map((x) => Buffer.from(x).toString('hex'))).toEqual(theirs2.map((x) => Buffer.from(x).toString('hex')));
    // The emulator's boot (the ACPI test above): SMBIOS reached the kernel, product as QEMU names it under KVM.
    const mine = (await bootscope(tmp.dir, 'console', acpiTrace)).out;
    expect(mine).toMatch(/\] efi: SMBIOS 3\.0=0x[0-9a-f]+ /m);
    expect(mine).toMatch(/\] SMBIOS 3\.0\.0 present\.\r?$/m);
    expect(mine).toMatch(/\] DMI: QEMU KVM Virtual Machine, BIOS 0\.0\.0 02\/06\/2015\r?$/m);
  });
});

describe('EDK2, ACPI, 2 vCPUs GICv3 with the ITS: to the disk', () => {
  const { kernel, edk2, busybox } = fetchGuests();

  it("loads the initrd through fw_cfg and reaches the ext4 disk's init over virtio-blk-pci (MSI-X through the ITS the IORT maps); check's acpi rules and explain uart agree", async () => {
    const { disk, initramfs } = makeTestDisk(kernel, busybox, tmp.file('disk'));
    const trace = tmp.file('uefi-disk.trace');
    const r = await bootscope(
      tmp.dir,
      'run',
      ...['--kernel', kernel, '--bios', edk2, '--smp', '2', '--initrd', initramfs, '--disk', disk, '--append', 'console=ttyAMA0'],
      ...['--stop-on', DISK_MARKER, '--max-insns', '5e9', '-o', trace, '--json'],
    );
    expect(r.err).toBe('');
    const s = JSON.parse(r.out);
    expect(s.stopMessage).toBe(`console printed "${DISK_MARKER}"`);
    const lines = (s.console as string).replace(/\r/g, '').split('\n');
    expect(lines).toContain('EFI stub: Loaded initrd from LINUX_EFI_INITRD_MEDIA_GUID device path');
    expect(lines).toContain('EFI stub: Generating empty DTB');
    expect(lines.some((l) => l.endsWith('] smp: Brought up 1 node, 2 CPUs'))).toBe(true);
    expect(lines.some((l) => l.endsWith('] PCI/MSI: ITS@0x8080000 domain created'))).toBe(true);
    expect(lines.some((l) => /\] EXT4-fs \(vda\): mounted filesystem/.test(l))).toBe(true);
    const check = JSON.parse((await bootscope(tmp.dir, 'check', trace, '--rules', 'acpi', '--json')).out);
    expect(check.findings).toEqual([]);
    const uart = JSON.parse((await bootscope(tmp.dir, 'explain', 'uart', trace, '--json')).out);
    expect(uart.verdict).toBe('working-acpi');
  });
});
