// The domU's own output, taken out of real Xen's serial console (scripts/xen-oracle/run.sh).
// Xen 4.17 prints a domU's text two ways (docs/xen.md "The oracle"):
//   - console_io writes (earlycon=xenboot, or a domU's hvc0 without a PV console ring): Xen
//     buffers them per line (xen/drivers/char/console.c, guest_console_write: non-printable bytes
//     dropped, at most 199 bytes a line) and prints `(d1) LINE`;
//   - the vpl011 with Xen as its backend (xen/arch/arm/vpl011.c, vpl011_write_data_xen): bytes are
//     buffered up to a '\n' or 126 bytes and printed as `(XEN) DOM1: CHUNK`, so a longer line arrives
//     as several chunks of exactly 126 bytes and a last one; they are joined again here.
// Xen's serial driver ends its lines with "\r\n" and the guest's own '\r' (Linux's serial console
// writes "\r\n") survives in vpl011 chunks: every '\r' is dropped.
//
//   ./bootscope node scripts/xen-oracle/domu-log.ts SERIAL [DOMID]    (default domain 1)
// prints the domU's lines, in the order Xen printed them.

import { readFileSync } from 'node:fs';

/** vpl011_write_data_xen flushes its buffer at SBSA_UART_OUT_BUF_SIZE - 2 bytes. */
export const VPL011_CHUNK = 126;

/** The domU's lines in Xen's serial output `serial` (bytes as latin1), '\r' dropped. */
export function domuLines(serial: string, domid = 1): string[] {
  const ioPrefix = `(d${domid}) `;
  const uartPrefix = `(XEN) DOM${domid}: `;
  const out: string[] = [];
  let pending: string | undefined; // a vpl011 line still being joined
  for (const raw of serial.split('\n')) {
    // A chunk's length counts the guest's '\r' (it was one of the 126 bytes); Xen's own '\r' ends the line.
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith(uartPrefix)) {
      const chunk = line.slice(uartPrefix.length);
      pending = (pending ?? '') + chunk;
      if (chunk.length !== VPL011_CHUNK) {
        out.push(pending.replace(/\r/g, ''));
        pending = undefined;
      }
    } else if (line.startsWith(ioPrefix)) {
      out.push(line.slice(ioPrefix.length).replace(/\r/g, ''));
    }
  }
  if (pending !== undefined) out.push(pending.replace(/\r/g, ''));
  return out;
}

if (import.meta.main) {
  const [file, dom] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: domu-log.ts SERIAL [DOMID]\n');
    process.exit(2);
  }
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch (e) {
    process.stderr.write(`domu-log: ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    process.exit(1);
  }
  const lines = domuLines(text, dom === undefined ? 1 : Number(dom));
  process.stdout.write(lines.map((l) => `${l}\n`).join(''));
}
