// virtio-console (OASIS virtio 1.2 §5.3) with one port and no multiport control queues: Linux
// makes that port its hvc0 console. Bytes the guest writes (transmitq, or the emergency-write
// register) are recorded as console events of this device and go to the run's console output;
// bytes typed at the console are not routed here (the PL011 keeps the input). QEMU's
// virtio-serial-pci with a virtconsole port uses MULTIPORT; bootscope's single-port device is what
// the specification calls the basic console (docs/emulator-platform.md).

import { VIRTIO_ID } from '../../arch/regmaps/virtio-pci.ts';
import type { VirtioBackend, VirtioTransport } from './virtio-pci.ts';
import { chainBytes, readChain } from './virtqueue.ts';

export const VIRTIO_CONSOLE_F = { SIZE: 0, MULTIPORT: 1, EMERG_WRITE: 2 } as const;
export const VIRTIO_CONSOLE_Q = { RX: 0, TX: 1 } as const;
/** Configuration: cols u16 @0, rows u16 @2, max_nr_ports u32 @4, emerg_wr u32 @8 (§5.3.4). */
const EMERG_WR = 8;
const QUEUE_SIZE = 128;

export class VirtioConsole implements VirtioBackend {
  readonly deviceType = VIRTIO_ID.CONSOLE;
  /** QEMU's virtio-serial-pci class: communication controller, other. */
  readonly classCode = 0x078000;
  readonly features = 1n << BigInt(VIRTIO_CONSOLE_F.EMERG_WRITE);
  readonly queueSizes = [QUEUE_SIZE, QUEUE_SIZE];
  readonly config = new Uint8Array(12);
  private t!: VirtioTransport;
  private readonly out: ((byte: number) => void) | undefined;

  constructor(onOutput?: (byte: number) => void) {
    this.out = onOutput;
    this.config[4] = 1; // max_nr_ports (meaningful with MULTIPORT only)
  }

  attach(t: VirtioTransport): void {
    this.t = t;
  }

  reset(): void {}

  writeConfig(offset: number, _size: number, value: number): void {
    if (offset === EMERG_WR && this.t.negotiated(VIRTIO_CONSOLE_F.EMERG_WRITE)) this.emit(Uint8Array.of(value & 0xff));
  }

  notify(q: number): void {
    if (q !== VIRTIO_CONSOLE_Q.TX) return; // receive buffers: no input is routed here
    const queue = this.t.queues[q]!;
    const eventIdx = this.t.negotiated(29);
    let n = 0;
    for (let chain = queue.pop(eventIdx); chain; chain = queue.pop(eventIdx)) {
      this.emit(readChain(this.t.memory.mem, chain.readable, 0, chainBytes(chain.readable)));
      queue.push(chain.head, 0);
      n++;
    }
    if (n) this.t.signalUsed(q);
  }

  private emit(bytes: Uint8Array): void {
    if (!bytes.length) return;
    const r = this.t.env.recorder;
    if (r.enabled) r.record({ kind: 'console', time: this.t.env.now(), vcpu: this.t.vcpu, port: this.t.name, bytes });
    if (this.out) for (const b of bytes) this.out(b);
  }
}
