// virtio-net (OASIS virtio 1.2 §5.1) with no backend: frames the guest transmits are recorded as
// net_frame events and returned to it; nothing is ever received (the receive queue keeps the
// driver's buffers). The link is up, the MAC is the machine's deterministic one (`--nic mac=`),
// and the control queue acknowledges the driver's receive-mode, MAC-table, VLAN, announce and
// offload commands as QEMU 7.2 does. Features as QEMU 7.2's virtio-net-pci with a user netdev
// (no checksum or TSO offloads): MAC, STATUS, CTRL_VQ, CTRL_RX, CTRL_VLAN, CTRL_RX_EXTRA,
// GUEST_ANNOUNCE, CTRL_MAC_ADDR, MRG_RXBUF, GSO and CTRL_GUEST_OFFLOADS; one queue pair.

import { VIRTIO_ID } from '../../arch/regmaps/virtio-pci.ts';
import type { VirtioBackend, VirtioTransport } from './virtio-pci.ts';
import { chainBytes, readChain, VirtqError, writeChain, type Chain } from './virtqueue.ts';

/** Feature bits (§5.1.3). */
export const VIRTIO_NET_F = {
  CTRL_GUEST_OFFLOADS: 2,
  MAC: 5,
  GSO: 6,
  MRG_RXBUF: 15,
  STATUS: 16,
  CTRL_VQ: 17,
  CTRL_RX: 18,
  CTRL_VLAN: 19,
  CTRL_RX_EXTRA: 20,
  GUEST_ANNOUNCE: 21,
  CTRL_MAC_ADDR: 23,
} as const;
export const VIRTIO_NET_S_LINK_UP = 1;
/** The header before every frame with VIRTIO_F_VERSION_1 (struct virtio_net_hdr_v1). */
export const VIRTIO_NET_HDR_LEN = 12;
export const VIRTIO_NET_Q = { RX: 0, TX: 1, CTRL: 2 } as const;
/** Control classes (§5.1.6.5) the device acknowledges. */
const CTRL_CLASSES = new Set([0 /* RX */, 1 /* MAC */, 2 /* VLAN */, 3 /* ANNOUNCE */, 5 /* GUEST_OFFLOADS */]);
const VIRTIO_NET_OK = 0,
  VIRTIO_NET_ERR = 1;
const QUEUE_SIZE = 256;
/** Largest frame recorded whole (a 64 KiB GSO frame is still recorded whole: frames are rare). */
const MAX_FRAME = 65550;

export class VirtioNet implements VirtioBackend {
  readonly deviceType = VIRTIO_ID.NET;
  readonly classCode = 0x020000;
  readonly features: bigint;
  readonly queueSizes = [QUEUE_SIZE, QUEUE_SIZE, QUEUE_SIZE];
  /** mac[6], status (config size 8: the fields up to the last one a negotiated feature covers). */
  readonly config = new Uint8Array(8);
  private t!: VirtioTransport;

  constructor(mac: Uint8Array) {
    if (mac.length !== 6) throw new RangeError('a MAC address has 6 bytes');
    this.config.set(mac, 0);
    this.config[6] = VIRTIO_NET_S_LINK_UP;
    this.features = Object.values(VIRTIO_NET_F).reduce((a, b) => a | (1n << BigInt(b)), 0n);
  }

  attach(t: VirtioTransport): void {
    this.t = t;
  }

  reset(): void {}

  notify(q: number): void {
    if (q === VIRTIO_NET_Q.TX) this.transmit();
    else if (q === VIRTIO_NET_Q.CTRL) this.control();
    // RX: new receive buffers; there is nothing to give.
  }

  private transmit(): void {
    const queue = this.t.queues[VIRTIO_NET_Q.TX]!;
    const eventIdx = this.t.negotiated(29);
    let n = 0;
    for (let chain = queue.pop(eventIdx); chain; chain = queue.pop(eventIdx)) {
      this.recordFrame(chain);
      queue.push(chain.head, 0);
      n++;
    }
    if (n) this.t.signalUsed(VIRTIO_NET_Q.TX);
  }

  private recordFrame(chain: Chain): void {
    const total = chainBytes(chain.readable);
    if (total < VIRTIO_NET_HDR_LEN)
      throw new VirtqError(`queue ${VIRTIO_NET_Q.TX}: a ${total}-byte transmit buffer has no virtio-net header`);
    const r = this.t.env.recorder;
    if (!r.enabled) return;
    const len = total - VIRTIO_NET_HDR_LEN;
    const frame = readChain(this.t.memory.mem, chain.readable, VIRTIO_NET_HDR_LEN, Math.min(len, MAX_FRAME));
    const ethertype = frame.length >= 14 ? (frame[12]! << 8) | frame[13]! : 0;
    r.record({
      kind: 'net_frame',
      time: this.t.env.now(),
      vcpu: this.t.vcpu,
      device: this.t.name,
      queue: VIRTIO_NET_Q.TX,
      direction: 'tx',
      length: len,
      ethertype,
      frame,
    });
  }

  /** Control commands: class, command, data, then a writable ack byte (§5.1.6.5). */
  private control(): void {
    const queue = this.t.queues[VIRTIO_NET_Q.CTRL]!;
    const eventIdx = this.t.negotiated(29);
    let n = 0;
    for (let chain = queue.pop(eventIdx); chain; chain = queue.pop(eventIdx)) {
      if (chainBytes(chain.readable) < 2 || chainBytes(chain.writable) < 1)
        throw new VirtqError(`queue ${VIRTIO_NET_Q.CTRL}: control command ${chain.head} without class, command or ack`);
      const [cls] = readChain(this.t.memory.mem, chain.readable, 0, 2);
      writeChain(this.t.memory.mem, chain.writable, 0, Uint8Array.of(CTRL_CLASSES.has(cls!) ? VIRTIO_NET_OK : VIRTIO_NET_ERR));
      queue.push(chain.head, 1);
      n++;
    }
    if (n) this.t.signalUsed(VIRTIO_NET_Q.CTRL);
  }
}
