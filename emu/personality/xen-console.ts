// The PV console (public/io/console.h xencons_interface) in the console magic page
// (GUEST_MAGIC_BASE + 0): in[1024] @0, out[2048] @1024, in_cons @3072, in_prod @3076,
// out_cons @3080, out_prod @3084. The backend (xenconsoled's part) runs when the guest notifies
// the console event channel: it takes every byte between out_cons and out_prod, records them as
// `console` events on port 'hvc0', moves out_cons and notifies the guest back. Typed input goes
// into the in ring with a notification.

import type { DeviceEnv } from '../devices/irq.ts';
import type { GuestAccess } from './xen-guest-memory.ts';

const IN_SIZE = 1024;
const OUT_SIZE = 2048;
const OFF = { IN: 0, OUT: 1024, IN_CONS: 3072, IN_PROD: 3076, OUT_CONS: 3080, OUT_PROD: 3084 } as const;

export class XenPvConsole {
  readonly pa: number;
  private readonly access: GuestAccess;
  private readonly env: DeviceEnv;
  private readonly onByte: (b: number) => void;

  constructor(pa: number, access: GuestAccess, env: DeviceEnv, onByte: (b: number) => void) {
    this.pa = pa;
    this.access = access;
    this.env = env;
    this.onByte = onByte;
  }

  /** Drain the out ring; returns the number of bytes taken. */
  drain(vcpu: number): number {
    const v = this.access.physView(this.pa, 4096);
    if (!v) return 0;
    let cons = v.getUint32(OFF.OUT_CONS, true);
    const prod = v.getUint32(OFF.OUT_PROD, true);
    // A producer more than a ring ahead is a broken guest: take at most one ring.
    const n = Math.min((prod - cons) >>> 0, OUT_SIZE);
    if (n === 0) return 0;
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++, cons = (cons + 1) >>> 0) bytes[i] = v.getUint8(OFF.OUT + (cons & (OUT_SIZE - 1)));
    v.setUint32(OFF.OUT_CONS, cons, true);
    for (const b of bytes) this.onByte(b);
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'console', time: this.env.now(), vcpu, port: 'hvc0', bytes });
    return n;
  }

  /** Put typed bytes into the in ring (as many as fit); returns how many went in. */
  feed(bytes: Uint8Array): number {
    const v = this.access.physView(this.pa, 4096);
    if (!v) return 0;
    const cons = v.getUint32(OFF.IN_CONS, true);
    let prod = v.getUint32(OFF.IN_PROD, true);
    let i = 0;
    for (; i < bytes.length && (prod - cons) >>> 0 < IN_SIZE; i++, prod = (prod + 1) >>> 0)
      v.setUint8(OFF.IN + (prod & (IN_SIZE - 1)), bytes[i]!);
    v.setUint32(OFF.IN_PROD, prod, true);
    return i;
  }
}
