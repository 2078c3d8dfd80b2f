// GDB remote serial protocol framing (GDB manual, "Remote Protocol" → "Overview"): packets are
// `$data#cc` with a two-hex-digit modulo-256 checksum; '+'/'-' acknowledge until no-ack mode;
// '}' escapes '#', '$', '}' and '*' (XOR 0x20); a bare 0x03 byte asks a running target to stop.

/** What the reader found in the byte stream. */
export type Incoming =
  { kind: 'packet'; data: string } | { kind: 'bad'; raw: string } | { kind: 'interrupt' } | { kind: 'ack'; ok: boolean };

export function checksum(s: string): number {
  let c = 0;
  for (let i = 0; i < s.length; i++) c = (c + s.charCodeAt(i)) & 0xff;
  return c;
}

/** Escape the characters the protocol reserves (binary replies, e.g. qXfer data). */
export function escape(s: string): string {
  return s.replace(/[#$}*]/g, (ch) => '}' + String.fromCharCode(ch.charCodeAt(0) ^ 0x20));
}

function unescape(s: string): string {
  return s.replace(/}([\s\S])/g, (_, ch: string) => String.fromCharCode(ch.charCodeAt(0) ^ 0x20));
}

/** One framed packet, ready to send. */
export function frame(data: string): string {
  return `$${data}#${checksum(data).toString(16).padStart(2, '0')}`;
}

/** Hex of a string's bytes (qRcmd replies, O packets). */
export const toHex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
export const fromHex = (h: string): string => Buffer.from(h, 'hex').toString('utf8');

/** Splits the byte stream from gdb into packets, acks and interrupts. */
export class PacketReader {
  private buf = '';
  /** Bytes of an unfinished packet bigger than this are dropped as a bad packet. */
  static readonly MAX = 1 << 20;

  push(chunk: Buffer): Incoming[] {
    this.buf += chunk.toString('latin1');
    const out: Incoming[] = [];
    for (;;) {
      if (this.buf.length === 0) break;
      const c = this.buf[0]!;
      if (c === '+' || c === '-') {
        out.push({ kind: 'ack', ok: c === '+' });
        this.buf = this.buf.slice(1);
        continue;
      }
      if (c === '\x03') {
        out.push({ kind: 'interrupt' });
        this.buf = this.buf.slice(1);
        continue;
      }
      if (c !== '$') {
        // noise between packets (e.g. a stray newline): skip to the next packet start
        const next = this.buf.search(/[$+\-\x03]/);
        out.push({ kind: 'bad', raw: next < 0 ? this.buf : this.buf.slice(0, next) });
        this.buf = next < 0 ? '' : this.buf.slice(next);
        continue;
      }
      const hash = this.buf.indexOf('#');
      if (hash < 0 || this.buf.length < hash + 3) {
        if (this.buf.length > PacketReader.MAX) {
          out.push({ kind: 'bad', raw: this.buf.slice(0, 64) });
          this.buf = '';
        }
        break;
      }
      const body = this.buf.slice(1, hash);
      const sum = this.buf.slice(hash + 1, hash + 3);
      this.buf = this.buf.slice(hash + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(sum) || parseInt(sum, 16) !== checksum(body)) out.push({ kind: 'bad', raw: `$${body}#${sum}` });
      else out.push({ kind: 'packet', data: unescape(body) });
    }
    return out;
  }
}
