// The DTB a guest got, kept in the trace metadata so analyses can read the guest's own description:
// meta.extra.dtbBase64 (the blob with its trailing zero padding trimmed — QEMU's dumpdtb pads to
// 1 MiB) and meta.extra.dtbSize (the original length, which restores the padding). The emulator's
// `run` and `import --dtb` both write it this way, so readers see no difference.

export interface DtbMeta {
  dtbBase64: string;
  dtbSize: number;
}

export function dtbMeta(dtb: Uint8Array): DtbMeta {
  let n = dtb.length;
  while (n > 0 && dtb[n - 1] === 0) n--;
  return { dtbBase64: Buffer.from(dtb.subarray(0, n)).toString('base64'), dtbSize: dtb.length };
}

/** The stored DTB with its padding restored, or undefined when the trace carries none. */
export function dtbFromMeta(extra: Readonly<Record<string, unknown>>): Uint8Array | undefined {
  const b64 = extra['dtbBase64'];
  if (typeof b64 !== 'string') return undefined;
  const raw = Buffer.from(b64, 'base64');
  const size = typeof extra['dtbSize'] === 'number' ? extra['dtbSize'] : raw.length;
  const out = new Uint8Array(Math.max(size, raw.length));
  out.set(raw);
  return out;
}
