// Interdomain event channels between the domU and the emulated dom0 (xen/common/event_channel.c
// semantics, public/event_channel.h): dom0's side of each channel, owned by a backend
// (xenstored, the console daemon, blkback, netback). The domU's side lives in its 2-level port
// table (../xen-events.ts); this file binds the two, carries notifications both ways and records
// each as a `xen_evtchn` event.
//
// - The toolstack allocates the domU's xenstore and console ports unbound for dom0, and
//   xenstored / xenconsoled bind them when the domain is introduced, so they are interdomain from
//   the first instruction.
// - A frontend allocates an unbound port for dom0 (EVTCHNOP_alloc_unbound) and writes it to
//   xenstore; the backend binds it (EVTCHNOP_bind_interdomain from dom0).
// - EVTCHNOP_send on an interdomain port runs the backend (synchronously, in the hypercall);
//   a backend's notification sets the domU port pending (upcall on PPI 31 if unmasked).
// - When the domU closes its end, dom0's port goes back to unbound and later notifications from
//   the backend go nowhere, as Xen drops sends on unbound ports.

import type { DeviceEnv } from '../../devices/irq.ts';
import type { XenEvents } from '../xen-events.ts';

/** What a backend does when the domU notifies it. */
export interface BackendEndpoint {
  /** Name recorded in `xen_evtchn` events: xenstored, console, vbd/51712, vif/0. */
  readonly name: string;
  onNotify(vcpu: number): void;
}

interface Dom0Port {
  state: 'unbound' | 'interdomain';
  /** The domU's port at the other end (interdomain), or -1. */
  remotePort: number;
  backend: BackendEndpoint;
}

export const DOM0 = 0;

export class InterdomainChannels {
  private readonly events: XenEvents;
  private readonly env: DeviceEnv;
  private readonly domid: number;
  /** dom0's ports, by number (allocated from 1 upwards, as a fresh dom0 would). */
  private readonly dom0 = new Map<number, Dom0Port>();
  private nextDom0Port = 1;
  /** Notifications each way (for the run summary and the benchmark). */
  readonly counts = { toBackend: 0, toGuest: 0 };

  constructor(events: XenEvents, domid: number, env: DeviceEnv) {
    this.events = events;
    this.domid = domid;
    this.env = env;
  }

  /** The toolstack's xc_evtchn_alloc_unbound(domU, remote dom0): a domU port dom0 may bind. */
  allocForDom0(): number {
    return this.events.allocPort({ kind: 'unbound', vcpu: 0, remote: DOM0 });
  }

  /**
   * EVTCHNOP_bind_interdomain issued by a backend in dom0 for the domU's port: it must be unbound
   * and reserved for dom0 (else -EINVAL, as Xen). Returns dom0's new port, or a negative errno.
   */
  bind(guestPort: number, backend: BackendEndpoint): number {
    const s = this.events.port(guestPort);
    if (!s || s.kind !== 'unbound' || s.remote !== DOM0) return -22;
    const port = this.nextDom0Port++;
    this.dom0.set(port, { state: 'interdomain', remotePort: guestPort, backend });
    this.events.ports[guestPort] = { kind: 'interdomain', vcpu: s.vcpu, remote: DOM0, remotePort: port };
    return port;
  }

  /** dom0 closes its port (a backend disconnecting): the domU's end goes back to unbound for dom0. */
  unbind(dom0Port: number): void {
    const p = this.dom0.get(dom0Port);
    if (!p) return;
    this.dom0.delete(dom0Port);
    if (p.state !== 'interdomain') return;
    const s = this.events.port(p.remotePort);
    if (s?.kind === 'interdomain' && s.remote === DOM0 && s.remotePort === dom0Port) {
      this.events.ports[p.remotePort] = { kind: 'unbound', vcpu: s.vcpu, remote: DOM0 };
    }
  }

  /** The domU sent on an interdomain port whose other end is in dom0. */
  sendFromGuest(guestPort: number, dom0Port: number, vcpu: number): void {
    const p = this.dom0.get(dom0Port);
    if (!p || p.state !== 'interdomain' || p.remotePort !== guestPort) return;
    this.counts.toBackend++;
    this.record(guestPort, p.backend.name, 'to_backend', vcpu);
    p.backend.onNotify(vcpu);
  }

  /** A backend notifies the domU through its dom0 port (nothing happens when unbound). */
  notifyGuest(dom0Port: number, vcpu = -1): void {
    const p = this.dom0.get(dom0Port);
    if (!p || p.state !== 'interdomain') return;
    this.counts.toGuest++;
    this.record(p.remotePort, p.backend.name, 'to_guest', vcpu);
    this.events.setPending(p.remotePort);
  }

  /** The domU closed its end of an interdomain channel with dom0. */
  guestClosed(dom0Port: number): void {
    const p = this.dom0.get(dom0Port);
    if (p) {
      p.state = 'unbound';
      p.remotePort = -1;
    }
  }

  /** Is dom0's port bound to this domU port (for EVTCHNOP_status)? */
  dom0PortOf(guestPort: number): number | undefined {
    const s = this.events.port(guestPort);
    return s?.kind === 'interdomain' && s.remote === DOM0 ? s.remotePort : undefined;
  }

  get domainId(): number {
    return this.domid;
  }

  private record(port: number, peer: string, dir: 'to_backend' | 'to_guest', vcpu: number): void {
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'xen_evtchn', time: this.env.now(), vcpu, evtchn: port, peer, dir });
  }
}
