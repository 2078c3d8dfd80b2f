// Generic timer state per vCPU and timer (from `timer` events): CTL, CVAL, and whether it was used.

import type { EventOf } from '../../capture/model.ts';

export interface TimerRegs {
  ctl: number;
  cval: bigint;
  /** Number of times the timer was enabled (CTL.ENABLE 0 → 1, or re-armed while enabled). */
  armed: number;
  firstUseSeq: number;
}

export class TimerState {
  /** Key `${vcpu}:${timer}`. Bounded by vCPUs × 7 timers. */
  readonly timers = new Map<string, TimerRegs>();
  /** Timer names the guest enabled at least once. */
  readonly used = new Set<string>();
  /** First seq of a `timer` event per timer name. */
  readonly firstSeq = new Map<string, number>();

  get(vcpu: number, timer: string): TimerRegs {
    const key = `${vcpu}:${timer}`;
    let t = this.timers.get(key);
    if (!t) this.timers.set(key, (t = { ctl: 0, cval: 0n, armed: 0, firstUseSeq: -1 }));
    return t;
  }

  apply(e: EventOf<'timer'>): void {
    if (!this.firstSeq.has(e.timer)) this.firstSeq.set(e.timer, e.seq);
    const t = this.get(e.vcpu, e.timer);
    if (e.op === 'ctl') {
      const v = Number(e.value & 0xffn);
      if (v & 1) {
        t.armed++;
        this.used.add(e.timer);
        if (t.firstUseSeq < 0) t.firstUseSeq = e.seq;
      }
      t.ctl = v;
    } else if (e.op === 'cval' || e.op === 'tval') {
      t.cval = e.value;
      if (t.ctl & 1) t.armed++;
    }
  }
}
