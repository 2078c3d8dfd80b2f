// bootscope's pinned outside inputs (guests/inputs.lock, described in docs/inputs.md) and the one
// code path that fetches the guests: scripts/fetch-guests.sh, run as a child process. The demo uses
// it with a progress bar on a terminal; the tests use it to know which files the pins name.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { UserError } from './errors.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const INPUTS_FILE = join(ROOT, 'guests/inputs.lock');
export const FETCH_GUESTS = join(ROOT, 'scripts/fetch-guests.sh');

/** oracle: a Debian package like a guest, fetched only when asked for (the KVM oracle's host). */
export type InputKind = 'guest' | 'oracle' | 'node' | 'tool';

/** One line of guests/inputs.lock ('-' fields become undefined). */
export interface Input {
  kind: InputKind;
  role: string;
  package: string;
  version: string;
  arch: string;
  size?: number;
  /** `sha256:HEX` of a .deb, an npm integrity `sha512-BASE64`, or undefined for a tool. */
  hash?: string;
  file?: string;
  pool?: string;
}

/** A one-line, user-facing error about the manifest or a fetch. */
export class InputsError extends UserError {}

/** Parses the manifest; a malformed line is an error naming the file and line. */
export function parseInputs(text: string, file = INPUTS_FILE): Input[] {
  const out: Input[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const f = line.trim().split(/\s+/);
    const where = `${file}:${i + 1}`;
    if (f.length !== 9)
      throw new InputsError(`${where}: expected 9 fields (kind role package version arch size hash file pool), found ${f.length}`);
    const [kind, role, pkg, version, arch, size, hash, path, pool] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (kind !== 'guest' && kind !== 'oracle' && kind !== 'node' && kind !== 'tool')
      throw new InputsError(`${where}: unknown kind '${kind}' (guest, oracle, node or tool)`);
    const opt = (s: string) => (s === '-' ? undefined : s);
    if ((kind === 'guest' || kind === 'oracle') && !/^sha256:[0-9a-f]{64}$/.test(hash))
      throw new InputsError(
        `${where}: a${kind === 'guest' ? ' guest' : 'n oracle package'}'s hash must be sha256:<64 hex digits>, found '${hash}'`,
      );
    if (kind === 'node' && !/^sha512-[A-Za-z0-9+/]{86}==$/.test(hash))
      throw new InputsError(`${where}: a node's hash must be the registry's sha512- integrity, found '${hash}'`);
    if (size !== '-' && !/^\d+$/.test(size)) throw new InputsError(`${where}: size '${size}' is not a number of bytes`);
    out.push({
      kind,
      role,
      package: pkg,
      version,
      arch,
      size: size === '-' ? undefined : Number(size),
      hash: opt(hash),
      file: opt(path),
      pool: opt(pool),
    });
  });
  return out;
}

export function readInputs(file = INPUTS_FILE): Input[] {
  return parseInputs(readFileSync(file, 'utf8'), file);
}

/** The pinned guest of a role (kernel, kernel-6.12, u-boot, busybox, xen, edk2). */
export function guestPin(role: string, inputs = readInputs()): Input {
  const pin = inputs.find((i) => i.kind === 'guest' && i.role === role);
  if (!pin) throw new InputsError(`${INPUTS_FILE}: no guest with role '${role}'`);
  return pin;
}

export type FetchStep = 'download' | 'verify' | 'unpack';
export interface FetchOptions {
  /** Called for each step of each package fetched (nothing is called for what is cached). */
  onStep?: (role: string, step: FetchStep, percent: number) => void;
  env?: NodeJS.ProcessEnv;
}

/** Fetch the pinned guests of `roles` (all when empty); resolves to role → absolute path. */
export function fetchGuests(roles: string[] = [], opts: FetchOptions = {}): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(FETCH_GUESTS, ['--progress', ...roles], { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let out = '',
      errTail = '',
      lastError = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const lines = (errTail + d).split('\n');
      errTail = lines.pop()!;
      for (const l of lines) {
        const m = /^progress (\S+) (download|verify|unpack) (\d+)$/.exec(l);
        if (m) opts.onStep?.(m[1]!, m[2] as FetchStep, Number(m[3]));
        else if (l.trim()) lastError = l.replace(/^fetch-guests: /, '');
      }
    });
    child.on('error', (e) => reject(new InputsError(`${FETCH_GUESTS}: ${e.message}`)));
    child.on('close', (code) => {
      if (errTail.trim()) lastError = errTail.replace(/^fetch-guests: /, '');
      if (code !== 0) return reject(new InputsError(lastError || `${FETCH_GUESTS} exited ${code}`));
      resolve(
        Object.fromEntries(
          out
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => {
              const sp = l.indexOf(' ');
              return [l.slice(0, sp), l.slice(sp + 1)];
            }),
        ),
      );
    });
  });
}

/**
 * fetchGuests with a progress bar on stderr when it is a terminal (one bar per package: download,
 * verify, unpack), silent when piped.
 */
export async function fetchGuestsWithProgress(
  roles: string[] = [],
  opts: Omit<FetchOptions, 'onStep'> = {},
): Promise<Record<string, string>> {
  if (!process.stderr.isTTY) return fetchGuests(roles, opts);
  const inputs = readInputs();
  const bars = new cliProgress.MultiBar(
    { format: '{what} {step} [{bar}] {percentage}%', stream: process.stderr, hideCursor: true, fps: 10, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  const byRole = new Map<string, cliProgress.SingleBar>();
  const label = (pin: Input) => `${pin.package} ${pin.version}${pin.size ? ` (${(pin.size / 2 ** 20).toFixed(1)} MiB)` : ''}`;
  const guests = inputs.filter((i) => i.kind === 'guest' && (roles.length === 0 || roles.includes(i.role)));
  const width = Math.max(0, ...guests.map((g) => label(g).length));
  const what = (role: string) => {
    const pin = guests.find((i) => i.role === role);
    return (pin ? label(pin) : role).padEnd(width);
  };
  try {
    return await fetchGuests(roles, {
      ...opts,
      onStep(role, step, percent) {
        let bar = byRole.get(role);
        if (!bar) byRole.set(role, (bar = bars.create(100, 0, { what: what(role), step })));
        bar.update(percent, { step: step.padEnd(8) });
      },
    });
  } finally {
    bars.stop();
  }
}
