// What every emulated dom0 backend shares (Linux's xenbus backend core, drivers/xen/xenbus/):
// probe writes the backend's feature keys and moves to InitWait, a watch on the frontend's
// `state` node drives the handshake, state changes are xenstore writes, and a fatal error writes
// dom0's `error/<backend path>/error` node and moves to Closing (xenbus_dev_fatal).

import { XENBUS_STATE } from '../../../arch/hypercalls/xen-io.ts';
import type { DeviceEnv } from '../../devices/irq.ts';
import type { BackendEndpoint, InterdomainChannels } from './evtchn.ts';
import type { GrantTable } from './grant-table.ts';
import type { Dom0Xenstore, XenBus } from './xenbus.ts';

export interface BackendContext {
  bus: XenBus;
  channels: InterdomainChannels;
  grants: GrantTable;
  env: DeviceEnv;
  /** The frontend's domain. */
  domid: number;
}

export abstract class XenbusBackend implements BackendEndpoint {
  /** Device name in events: vbd-51712, vif-0. */
  readonly name: string;
  readonly frontend: string;
  readonly backend: string;
  protected readonly ctx: BackendContext;
  protected state: number = XENBUS_STATE.Initialising;

  constructor(ctx: BackendContext, name: string, paths: { frontend: string; backend: string }) {
    this.ctx = ctx;
    this.name = name;
    this.frontend = paths.frontend;
    this.backend = paths.backend;
  }

  protected get xs(): Dom0Xenstore {
    return this.ctx.bus.dom0;
  }

  /** The toolstack created the device: probe (quietly: before the domU runs) and wait in InitWait. */
  start(): void {
    const xs = this.xs;
    xs.quiet = true;
    try {
      this.probe();
      this.switchState(XENBUS_STATE.InitWait);
      xs.watch(`${this.frontend}/state`, `${this.name}:otherend`, () => this.otherendChanged());
      // The registration's first event ran nothing yet: run it now, still quietly.
      this.ctx.bus.drain();
    } finally {
      xs.quiet = false;
    }
  }

  /** Write the keys the backend offers before the frontend connects. */
  protected abstract probe(): void;

  /** The frontend moved to `state` (Linux's otherend_changed callback). */
  protected abstract frontendChanged(state: number): void;

  abstract onNotify(vcpu: number): void;

  private otherendChanged(): void {
    const raw = this.xs.read(`${this.frontend}/state`);
    const s = raw === undefined ? XENBUS_STATE.Unknown : Number.parseInt(raw, 10);
    this.frontendChanged(Number.isFinite(s) ? s : XENBUS_STATE.Unknown);
  }

  protected switchState(s: number): void {
    if (this.state === s) return;
    this.state = s;
    this.xs.write(`${this.backend}/state`, String(s));
  }

  /** xenbus_dev_fatal: record the reason where the toolstack looks for it, then Closing. */
  protected fatal(errno: number, message: string): void {
    this.deviceError(this.ctx.bus.vcpu, `${message} (error ${errno}): the backend gives up and moves to Closing`);
    this.xs.write(`/local/domain/0/error${this.backend.slice('/local/domain/0'.length)}/error`, `${errno} ${message}`);
    this.switchState(XENBUS_STATE.Closing);
  }

  /** A frontend mistake the backend noticed (a `device_error` event). */
  protected deviceError(vcpu: number, detail: string): void {
    const r = this.ctx.env.recorder;
    if (r.enabled) r.record({ kind: 'device_error', time: this.ctx.env.now(), vcpu, device: this.name, detail });
  }

  /** A key read as xenbus_scanf("%u") reads it: leading digits; undefined when absent or none. */
  protected readUint(path: string): number | undefined {
    const raw = this.xs.read(path);
    const m = raw === undefined ? null : /^\s*(\d+)/.exec(raw);
    if (!m) return undefined;
    const n = Number.parseInt(m[1]!, 10);
    return n <= 0xffffffff ? n : undefined;
  }
}
