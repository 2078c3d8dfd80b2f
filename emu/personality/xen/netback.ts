// netback: the network backend the emulated dom0 runs for each `--nic` (io/netif.h), as Linux's
// xen-netback answers a frontend, with nothing at the far end (docs/xen.md "netback"):
//
// - Probe: feature-sg 1, feature-rx-copy 1, feature-rx-flip 0 (and no GSO, checksum offload,
//   split event channels, multi-queue or control ring), then InitWait.
// - Frontend Connected: read tx-ring-ref, rx-ring-ref, event-channel and request-rx-copy (which
//   must be 1: netback has no page flipping); map both rings, bind the channel; Connected.
// - Transmit: every packet the frontend queues (a first slot, `more_data` fragments, extra-info
//   slots answered NETIF_RSP_NULL) is copied through its grants and recorded as a `net_frame`
//   event (direction tx), then answered NETIF_RSP_OKAY; a slot whose grant Xen would refuse or
//   whose data crosses its page makes the packet NETIF_RSP_ERROR.
// - Receive: the frontend's rx requests stay posted; no frame ever arrives.

import {
  GNTST,
  NETIF_EXTRA_FLAG_MORE,
  NETIF_RSP,
  NETIF_RX_ENTRY,
  NETIF_TX_REQ,
  NETIF_TX_RSP,
  NETTXF,
  XENBUS_STATE,
} from '../../../arch/hypercalls/xen-io.ts';
import { XenbusBackend, type BackendContext } from './backend.ts';
import { BackRing } from './ring.ts';

/** XEN_NETBK_LEGACY_SLOTS_MAX: slots one packet may use before netback calls the frontend malicious. */
const MAX_SLOTS = 18;

interface TxSlot {
  gref: number;
  offset: number;
  size: number;
  id: number;
  /** Extra-info slots carry no data; they are answered NULL, their first bytes left as they are. */
  extra: boolean;
}

interface Connection {
  tx: BackRing;
  rx: BackRing;
  dom0Port: number;
}

export class NetBack extends XenbusBackend {
  readonly devid: number;
  readonly mac: string;
  private conn: Connection | undefined;
  readonly stats = { frames: 0, errors: 0 };

  constructor(ctx: BackendContext, devid: number, mac: string, paths: { frontend: string; backend: string }) {
    super(ctx, `vif-${devid}`, paths);
    this.devid = devid;
    this.mac = mac;
  }

  protected probe(): void {
    const be = this.backend;
    this.xs.write(`${be}/feature-sg`, '1');
    this.xs.write(`${be}/feature-rx-copy`, '1');
    this.xs.write(`${be}/feature-rx-flip`, '0');
    this.xs.write(`${be}/hotplug-status`, 'connected');
  }

  protected frontendChanged(state: number): void {
    switch (state) {
      case XENBUS_STATE.Initialising:
        if (this.state === XENBUS_STATE.Closed) this.switchState(XENBUS_STATE.InitWait);
        break;
      case XENBUS_STATE.Connected:
        if (this.state === XENBUS_STATE.Connected) break;
        this.disconnect();
        if (this.connectRings()) this.switchState(XENBUS_STATE.Connected);
        break;
      case XENBUS_STATE.Closing:
        this.switchState(XENBUS_STATE.Closing);
        break;
      case XENBUS_STATE.Closed:
        this.disconnect();
        this.switchState(XENBUS_STATE.Closed);
        break;
      default:
        break;
    }
  }

  private connectRings(): boolean {
    const fe = this.frontend;
    const txRef = this.readUint(`${fe}/tx-ring-ref`);
    const rxRef = this.readUint(`${fe}/rx-ring-ref`);
    if (txRef === undefined || rxRef === undefined) {
      this.fatal(22, `reading ${fe}/ring-ref`);
      return false;
    }
    if (this.readUint(`${fe}/request-rx-copy`) !== 1) {
      this.fatal(95, `${fe}/request-rx-copy not supported`);
      return false;
    }
    const evtchn = this.readUint(`${fe}/event-channel`);
    if (evtchn === undefined) {
      this.fatal(22, `reading ${fe}/event-channel`);
      return false;
    }
    const map = (ref: number): DataView | undefined => {
      const g = this.ctx.grants.use(this.name, ref, 'write', this.ctx.bus.vcpu);
      return g.status === GNTST.okay ? this.ctx.grants.page(g.pa) : undefined;
    };
    const tx = map(txRef);
    const rx = map(rxRef);
    if (!tx || !rx) {
      this.fatal(22, `mapping shared-frames ${txRef}/${rxRef} port ${evtchn}`);
      return false;
    }
    const port = this.ctx.channels.bind(evtchn, this);
    if (port < 0) {
      this.fatal(-port, `binding port ${evtchn}`);
      return false;
    }
    this.conn = { tx: new BackRing([tx], NETIF_TX_REQ.ENTRY), rx: new BackRing([rx], NETIF_RX_ENTRY), dom0Port: port };
    return true;
  }

  private disconnect(): void {
    if (this.conn) this.ctx.channels.unbind(this.conn.dom0Port);
    this.conn = undefined;
  }

  onNotify(vcpu: number): void {
    const c = this.conn;
    if (!c) return;
    let answered = false;
    for (let rounds = 0; rounds < 1 << 16; rounds++) {
      if (c.tx.overflowed()) break;
      while (c.tx.pending() > 0) {
        this.transmit(c.tx, vcpu);
        answered = true;
      }
      if (!c.tx.finalCheck()) break;
    }
    // Posted receive buffers stay where they are: nothing arrives.
    c.rx.finalCheck();
    if (answered && c.tx.pushResponses()) this.ctx.channels.notifyGuest(c.dom0Port, vcpu);
  }

  /** One packet: its slots, their data through the grants, the responses. */
  private transmit(ring: BackRing, vcpu: number): void {
    const slots: TxSlot[] = [];
    let more = true;
    while (more && ring.pending() > 0 && slots.length < MAX_SLOTS) {
      const v = new DataView(ring.takeRequest().buffer);
      const flags = v.getUint16(NETIF_TX_REQ.FLAGS, true);
      slots.push({
        gref: v.getUint32(NETIF_TX_REQ.GREF, true),
        offset: v.getUint16(NETIF_TX_REQ.OFFSET, true),
        size: v.getUint16(NETIF_TX_REQ.SIZE, true),
        id: v.getUint16(NETIF_TX_REQ.ID, true),
        extra: false,
      });
      // Extra-info slots follow a slot flagged extra_info, while each says MORE.
      let extras = (flags & NETTXF.extra_info) !== 0;
      while (extras && ring.pending() > 0) {
        const e = ring.takeRequest();
        slots.push({ gref: 0, offset: 0, size: 0, id: e[0]! | (e[1]! << 8), extra: true });
        extras = (e[1]! & NETIF_EXTRA_FLAG_MORE) !== 0;
      }
      more = (flags & NETTXF.more_data) !== 0;
    }
    const frame = this.gather(
      slots.filter((x) => !x.extra),
      vcpu,
    );
    if (frame) {
      this.stats.frames++;
      const r = this.ctx.env.recorder;
      const ethertype = frame.length >= 14 ? (frame[12]! << 8) | frame[13]! : 0;
      if (r.enabled)
        r.record({
          kind: 'net_frame',
          time: this.ctx.env.now(),
          vcpu,
          device: this.name,
          queue: 0,
          direction: 'tx',
          length: frame.length,
          ethertype,
          frame,
        });
    } else {
      this.stats.errors++;
      this.deviceError(
        vcpu,
        `tx packet (slot ids ${slots.map((x) => x.id).join(', ')}): a grant netback may not use, or data across its page; answered NETIF_RSP_ERROR`,
      );
    }
    for (const x of slots) ring.putResponse(txResponse(x.id, x.extra ? NETIF_RSP.NULL : frame ? NETIF_RSP.OKAY : NETIF_RSP.ERROR));
  }

  /** The packet's bytes: the first slot's size is the whole packet's, its own data what the others leave. */
  private gather(data: TxSlot[], vcpu: number): Uint8Array | undefined {
    const total = data[0]?.size ?? 0;
    const lengths = data.map((x, i) => (i === 0 ? total - data.slice(1).reduce((n, y) => n + y.size, 0) : x.size));
    if (data.length === 0 || lengths.some((n, i) => n < 0 || data[i]!.offset + n > 4096)) return undefined;
    const frame = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < data.length; i++) {
      const g = this.ctx.grants.use(this.name, data[i]!.gref, 'read', vcpu);
      const page = g.status === GNTST.okay ? this.ctx.grants.page(g.pa) : undefined;
      if (!page) return undefined;
      frame.set(new Uint8Array(page.buffer, page.byteOffset + data[i]!.offset, lengths[i]!), at);
      at += lengths[i]!;
    }
    return frame;
  }

  get xenbusState(): number {
    return this.state;
  }
}

function txResponse(id: number, status: number): Uint8Array {
  const b = new Uint8Array(4);
  const v = new DataView(b.buffer);
  v.setUint16(NETIF_TX_RSP.ID, id & 0xffff, true);
  v.setInt16(NETIF_TX_RSP.STATUS, status, true);
  return b;
}
