// scripts/xen-oracle/domu-log.ts: the domU's lines taken out of real Xen's serial console — console_io
// lines as `(d1) …`, vpl011 output as `(XEN) DOM1: …` chunks of at most 126 bytes that are joined
// again, Xen's own lines and other domains' lines dropped, every '\r' removed.
import { describe, expect, it } from 'vitest';
import { domuLines, VPL011_CHUNK } from '../../../../scripts/xen-oracle/domu-log.ts';

/** What Xen's vpl011 backend prints for one guest line (Linux's console writes "\r\n"). */
function vpl011Print(guestLine: string): string {
  const bytes = `${guestLine}\r\n`;
  let out = '';
  let buf = '';
  for (const c of bytes) {
    buf += c;
    if (buf.length === VPL011_CHUNK || c === '\n') {
      out += `(XEN) DOM1: ${buf.endsWith('\n') ? buf.slice(0, -1) : buf}\r\n`; // Xen's serial writes "\r\n"
      buf = '';
    }
  }
  return out;
}

describe('domuLines', () => {
  it('keeps console_io lines and drops Xen and other domains', () => {
    const serial = '(XEN) Xen version 4.17.7\r\n(d1) [    0.000000] Booting Linux\r\n(d2) other\r\n(XEN) DOM2: other\r\n(d1) second\r\n';
    expect(domuLines(serial)).toEqual(['[    0.000000] Booting Linux', 'second']);
    expect(domuLines(serial, 2)).toEqual(['other', 'other']);
  });

  it('joins vpl011 chunks of 126 bytes, whatever the line length', () => {
    for (const len of [0, 1, 124, 125, 126, 127, 250, 251, 252, 400]) {
      const line = 'x'.repeat(len);
      const serial = `(XEN) Xen line\r\n${vpl011Print(line)}${vpl011Print('next')}`;
      expect(domuLines(serial), `length ${len}`).toEqual([line, 'next']);
    }
  });

  it("a chunk that fills at the guest's \\r is followed by an empty one, which ends the line", () => {
    // 125 characters + "\r" fill the buffer; the "\n" then arrives alone and Xen prints an empty chunk.
    const serial = vpl011Print('y'.repeat(125));
    expect(serial.split('\r\n')[1]).toBe('(XEN) DOM1: ');
    expect(domuLines(serial)).toEqual(['y'.repeat(125)]);
  });

  it('Xen lines between the chunks of one line do not break it', () => {
    const chunks = vpl011Print('z'.repeat(200)).split('\r\n');
    const serial = `${chunks[0]}\r\n(XEN) d1v0 something\r\n${chunks[1]}\r\n`;
    expect(domuLines(serial)).toEqual(['z'.repeat(200)]);
  });
});
