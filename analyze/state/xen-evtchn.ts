// Xen event channels as far as the hypercalls show them: sub-operations used, ports sent to and
// unmasked, and upcalls (the event-channel PPI, INTID 31) delivered. Bounded by the port count.

import type { EventOf } from '../../capture/model.ts';

export const XEN_EVTCHN_PPI = 31;
const MAX_TRACKED_PORTS = 1 << 17;

export class XenEvtchnState {
  readonly subops = new Map<string, number>();
  /** Ports the guest signalled (send) or unmasked. */
  readonly sent = new Set<number>();
  readonly unmasked = new Set<number>();
  upcalls = 0;
  calls = 0;

  applyCall(e: EventOf<'hypercall'>): void {
    if (e.name !== 'event_channel_op' && e.name !== 'event_channel_op_compat') return;
    this.calls++;
    const sub = e.subop || `#${e.args[0] ?? ''}`;
    this.subops.set(sub, (this.subops.get(sub) ?? 0) + 1);
  }

  /** A port argument, when the caller decoded it (args[1] is the guest pointer; ports come as args[2]). */
  notePort(which: 'sent' | 'unmasked', port: number): void {
    const set = which === 'sent' ? this.sent : this.unmasked;
    if (set.size < MAX_TRACKED_PORTS) set.add(port);
  }

  applyDeliver(e: EventOf<'irq_deliver'>): void {
    if (e.intid === XEN_EVTCHN_PPI) this.upcalls++;
  }
}
