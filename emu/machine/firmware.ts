// Booting through firmware (--bios, as QEMU's -bios on virt): the image goes to flash bank 0 and
// vCPU 0 starts at its reset vector (0x0, EL1, MMU off); the kernel, initrd and command line are
// handed over through fw_cfg (the firmware loads them), and the DTB is placed at the start of RAM,
// where QEMU puts it for firmware to find. Checks the images before anything runs.

import { gunzipSync } from 'node:zlib';
import { baseItems, kernelItems, type FwCfgContent, type FwCfgFile } from '../devices/fw-cfg.ts';
import { PFLASH_BANK_SIZE } from '../devices/pflash.ts';
import { GuestImageError, type BootInfo } from './load.ts';
import type { Machine } from './index.ts';

/** "_FVH": EFI_FIRMWARE_VOLUME_HEADER.Signature (UEFI PI Specification 1.7, Vol. 3 §3.2.1). */
const FVH_SIGNATURE = 0x4856465f;
const FVH_SIGNATURE_OFFSET = 0x28;
const FVH_HEADER_LENGTH_OFFSET = 0x30;
const FVH_LENGTH_OFFSET = 0x20;
/** Where a firmware volume may start in an image (volumes are block aligned); searched in the first MiB. */
const FV_ALIGN = 0x1000;
const FV_SEARCH = 0x10_0000;
const MAX_GUNZIP = 256 * 1024 * 1024;

/**
 * A valid firmware volume header at `off`: the signature, a header length that fits, a volume
 * length within the image, and the 16-bit sum of the header equal to zero (PI Vol. 3 §3.2.1, Checksum).
 */
export function fvHeaderAt(b: Uint8Array, off: number): boolean {
  if (off + 0x48 > b.length) return false;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(off + FVH_SIGNATURE_OFFSET, true) !== FVH_SIGNATURE) return false;
  const hlen = dv.getUint16(off + FVH_HEADER_LENGTH_OFFSET, true);
  const fvLen = Number(dv.getBigUint64(off + FVH_LENGTH_OFFSET, true));
  if (hlen < 0x48 || hlen % 2 !== 0 || off + hlen > b.length || fvLen < hlen || off + fvLen > b.length) return false;
  let sum = 0;
  for (let i = 0; i < hlen; i += 2) sum = (sum + dv.getUint16(off + i, true)) & 0xffff;
  return sum === 0;
}

/** The --bios image, checked: not empty, fits bank 0, and holds a UEFI firmware volume. */
export function checkFirmwareImage(b: Uint8Array, file: string): void {
  if (b.length === 0) throw new GuestImageError(`${file}: the firmware image is empty`);
  if (b.length > PFLASH_BANK_SIZE) {
    throw new GuestImageError(
      `${file}: the firmware image is ${b.length.toLocaleString('en-US')} bytes, larger than flash bank 0 (64 MiB = ${PFLASH_BANK_SIZE.toLocaleString('en-US')} bytes)`,
    );
  }
  for (let off = 0; off < Math.min(b.length, FV_SEARCH); off += FV_ALIGN) if (fvHeaderAt(b, off)) return;
  throw new GuestImageError(
    `${file}: not a UEFI flash image: no firmware volume header ('_FVH' with a valid checksum) at a 4 KiB boundary in its first MiB`,
  );
}

/**
 * The --efi-vars file, checked: exactly the bank's size (as QEMU requires of a pflash drive), and
 * either blank (all 0x00 or all 0xFF: the firmware formats it) or a variable store that starts with
 * a valid firmware volume header.
 */
export function checkVarsImage(b: Uint8Array, file: string): void {
  if (b.length !== PFLASH_BANK_SIZE) {
    throw new GuestImageError(
      `${file}: a UEFI variable store must be exactly 64 MiB (${PFLASH_BANK_SIZE.toLocaleString('en-US')} bytes, flash bank 1), this file is ${b.length.toLocaleString('en-US')} bytes`,
    );
  }
  const first = b[0]!;
  if ((first === 0 || first === 0xff) && b.every((x) => x === first)) return;
  if (!fvHeaderAt(b, 0)) {
    throw new GuestImageError(
      `${file}: corrupt UEFI variable store: no valid firmware volume header at offset 0 ('_FVH' signature and header checksum)`,
    );
  }
}

/** The kernel as QEMU hands it to firmware: gzip-compressed images are unpacked first. */
export function firmwareKernel(kernel: Uint8Array, file: string): Uint8Array {
  if (kernel[0] !== 0x1f || kernel[1] !== 0x8b) return kernel;
  try {
    return new Uint8Array(gunzipSync(kernel, { maxOutputLength: MAX_GUNZIP }));
  } catch (err) {
    throw new GuestImageError(`${file}: gzip-compressed kernel does not decompress: ${(err as Error).message}`);
  }
}

/** The fw_cfg contents QEMU 7.2's virt machine gives firmware for these options. */
export function firmwareFwCfg(opts: {
  smp: number;
  kernel?: Uint8Array;
  initrd?: Uint8Array;
  append?: string;
  files?: FwCfgFile[];
}): FwCfgContent {
  const items = baseItems(opts.smp);
  // QEMU gives the command line item whenever there is a kernel (empty when no -append).
  for (const [k, v] of kernelItems(opts.kernel, opts.initrd, opts.kernel ? (opts.append ?? '') : undefined)) items.set(k, v);
  const files: FwCfgFile[] = [
    { name: 'bootorder', data: new Uint8Array(0) },
    { name: 'bios-geometry', data: new Uint8Array(0) },
    // etc/boot-fail-wait: how long before a failed boot retries; QEMU's default is −1 (never), le32.
    { name: 'etc/boot-fail-wait', data: Uint8Array.of(0xff, 0xff, 0xff, 0xff) },
    ...(opts.files ?? []),
  ];
  return { items, files };
}

/** Place the DTB at the start of RAM and power on vCPU 0 at the reset vector. */
export function loadFirmwareBoot(m: Machine, append: string | undefined): BootInfo {
  const dtb = m.personality.buildDtb(append !== undefined ? { bootargs: append } : {});
  m.bus.load(m.bus.ramBase, dtb);
  return { kind: 'firmware', entry: 0n, regs: [0n, 0n, 0n, 0n], dtbAddr: m.bus.ramBase, dtb, notes: [] };
}
