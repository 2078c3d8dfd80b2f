// Drives Debian's gdb-multiarch against `bootscope run|debug … --gdb 0` in tests: everything is
// spawned (never spawnSync: a blocked vitest worker starves its RPC), gdb in batch mode.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from './real-guests.ts';

export interface Child {
  code: number | null;
  out: string;
  err: string;
}

function collect(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { done: Promise<Child>; onErr: (f: (s: string) => void) => void } {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const out: Buffer[] = [],
    err: Buffer[] = [];
  const listeners: ((s: string) => void)[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => {
    err.push(d);
    const all = Buffer.concat(err).toString('utf8');
    for (const l of listeners) l(all);
  });
  const done = new Promise<Child>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: Buffer.concat(out).toString('latin1'), err: Buffer.concat(err).toString('utf8') }));
  });
  return { done, onErr: (f) => listeners.push(f) };
}

/** guests/build.sh NAMES with its outputs (NAME.elf with symbols, NAME.bin) in dir. */
export async function buildGuests(dir: string, names: string[]): Promise<void> {
  const r = await collect('sh', [join(REPO_ROOT, 'guests/build.sh'), ...names], { OUT: dir, BIN: dir }).done;
  if (r.code !== 0) throw new Error(`guests/build.sh failed: ${r.err}`);
}

export interface Served {
  port: number;
  /** The bootscope process, once it exits. */
  done: Promise<Child>;
}

/** `bootscope ARGS --gdb 0`, resolved once it listens (the port it printed). */
export function serve(...args: string[]): Promise<Served> {
  const c = collect(process.execPath, ['--disable-warning=ExperimentalWarning', join(REPO_ROOT, 'cli/main.ts'), ...args, '--gdb', '0'], {});
  return new Promise((resolve, reject) => {
    c.onErr((all) => {
      const m = /target remote [0-9.]+:(\d+)/.exec(all);
      if (m) resolve({ port: Number(m[1]), done: c.done });
    });
    void c.done.then((r) => reject(new Error(`bootscope exited ${r.code} before listening: ${r.err}`)));
  });
}

/** gdb-multiarch in batch mode: connect to port, run the commands; its stdout and stderr together. */
export async function gdb(elf: string, port: number, commands: string[]): Promise<string> {
  const args = [
    '-nx',
    '-batch',
    ...(elf ? [] : ['-ex', 'set architecture aarch64']),
    '-ex',
    'set pagination off',
    '-ex',
    'set confirm off',
    '-ex',
    `target remote 127.0.0.1:${port}`,
  ];
  for (const c of commands) args.push('-ex', c);
  const r = await collect('gdb-multiarch', elf ? [...args, elf] : args).done;
  return r.out + r.err;
}

/** The value gdb printed for a register in `info registers` output. */
export function reg(out: string, name: string, nth = 0): bigint {
  const all = [...out.matchAll(new RegExp(`^${name}\\s+(0x[0-9a-f]+)`, 'gm'))];
  const m = all[nth];
  if (!m) throw new Error(`no ${name} (#${nth}) in gdb output:\n${out}`);
  return BigInt(m[1]!);
}

/** A raw protocol client: send packets, read what comes back. */
export class RawClient {
  private readonly sock: net.Socket;
  private buf = '';
  readonly closed: Promise<void>;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => (this.buf += d.toString('latin1')));
    this.closed = new Promise((r) => sock.on('close', () => r()));
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.on('error', reject);
    });
  }

  write(raw: string): void {
    this.sock.write(raw);
  }

  packet(data: string): void {
    let sum = 0;
    for (const ch of data) sum = (sum + ch.charCodeAt(0)) & 0xff;
    this.write(`$${data}#${sum.toString(16).padStart(2, '0')}`);
  }

  /** Wait until what arrived matches re (polling the socket's buffer); returns everything so far and clears it. */
  async expect(re: RegExp): Promise<string> {
    while (!re.test(this.buf)) {
      if (this.sock.destroyed && !re.test(this.buf)) throw new Error(`connection closed; received ${JSON.stringify(this.buf)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const b = this.buf;
    this.buf = '';
    return b;
  }

  destroy(): void {
    this.sock.destroy();
  }
}
