// virtio-blk (OASIS virtio 1.2 §5.2) backed by a disk image (emu/storage/disk.ts): read, write,
// flush, get-id, discard and write-zeroes, completed synchronously when the driver notifies a
// queue. The features and configuration follow QEMU 7.2's virtio-blk-pci for a raw image: segment
// limit, geometry, block size, topology, flush, writeback cache control, discard and write-zeroes,
// one request queue per vCPU (multi-queue when there is more than one), read-only for `,ro` disks.
//
// Every request is recorded as block_request and block_complete events (the device-independent
// kinds the Xen block backend records too). A request the disk cannot serve (outside the disk,
// not a whole number of sectors, a write to a read-only disk) completes with VIRTIO_BLK_S_IOERR;
// an unknown type with VIRTIO_BLK_S_UNSUPP; a malformed chain is a guest error (device reset).

import type { BLOCK_OPS } from '../../capture/model.ts';
import { VIRTIO_ID } from '../../arch/regmaps/virtio-pci.ts';
import { SECTOR, type DiskImage } from '../storage/disk.ts';
import type { VirtioBackend, VirtioTransport } from './virtio-pci.ts';
import { chainBytes, readChain, VirtqError, writeChain, type Chain } from './virtqueue.ts';

export const VIRTIO_BLK_T = { IN: 0, OUT: 1, FLUSH: 4, GET_ID: 8, GET_LIFETIME: 10, DISCARD: 11, WRITE_ZEROES: 13 } as const;
export const VIRTIO_BLK_S = { OK: 0, IOERR: 1, UNSUPP: 2 } as const;
/** Feature bits (§5.2.3). */
export const VIRTIO_BLK_F = {
  SIZE_MAX: 1,
  SEG_MAX: 2,
  GEOMETRY: 4,
  RO: 5,
  BLK_SIZE: 6,
  FLUSH: 9,
  TOPOLOGY: 10,
  CONFIG_WCE: 11,
  MQ: 12,
  DISCARD: 13,
  WRITE_ZEROES: 14,
} as const;
/** Device configuration offsets (§5.2.4). */
export const VIRTIO_BLK_CFG = {
  CAPACITY: 0x00,
  SIZE_MAX: 0x08,
  SEG_MAX: 0x0c,
  CYLINDERS: 0x10,
  HEADS: 0x12,
  SECTORS: 0x13,
  BLK_SIZE: 0x14,
  PHYSICAL_BLOCK_EXP: 0x18,
  ALIGNMENT_OFFSET: 0x19,
  MIN_IO_SIZE: 0x1a,
  OPT_IO_SIZE: 0x1c,
  WRITEBACK: 0x20,
  NUM_QUEUES: 0x22,
  MAX_DISCARD_SECTORS: 0x24,
  MAX_DISCARD_SEG: 0x28,
  DISCARD_SECTOR_ALIGNMENT: 0x2c,
  MAX_WRITE_ZEROES_SECTORS: 0x30,
  MAX_WRITE_ZEROES_SEG: 0x34,
  WRITE_ZEROES_MAY_UNMAP: 0x38,
  SIZE: 0x3c,
} as const;
export const VIRTIO_BLK_ID_BYTES = 20;
const QUEUE_SIZE = 256;
/** QEMU's default discard / write-zeroes limit (BDRV_REQUEST_MAX_SECTORS). */
const MAX_DISCARD_SECTORS = 0x3fffff;

type BlockOp = (typeof BLOCK_OPS)[number];

interface Done {
  queue: number;
  head: number;
  op: BlockOp;
  status: number;
  len: number;
}

export class VirtioBlk implements VirtioBackend {
  readonly deviceType = VIRTIO_ID.BLOCK;
  readonly classCode = 0x010000;
  readonly features: bigint;
  readonly queueSizes: number[];
  readonly config = new Uint8Array(VIRTIO_BLK_CFG.SIZE);
  private readonly disk: DiskImage;
  private readonly serial: string;
  private t!: VirtioTransport;

  constructor(disk: DiskImage, opts: { queues?: number; serial?: string } = {}) {
    this.disk = disk;
    this.serial = opts.serial ?? '';
    const nq = Math.max(1, opts.queues ?? 1);
    this.queueSizes = Array.from({ length: nq }, () => QUEUE_SIZE);
    const bits: number[] = [
      VIRTIO_BLK_F.SEG_MAX,
      VIRTIO_BLK_F.GEOMETRY,
      VIRTIO_BLK_F.BLK_SIZE,
      VIRTIO_BLK_F.FLUSH,
      VIRTIO_BLK_F.TOPOLOGY,
      VIRTIO_BLK_F.CONFIG_WCE,
      VIRTIO_BLK_F.DISCARD,
      VIRTIO_BLK_F.WRITE_ZEROES,
    ];
    if (nq > 1) bits.push(VIRTIO_BLK_F.MQ);
    if (disk.readOnly) bits.push(VIRTIO_BLK_F.RO);
    this.features = bits.reduce((a, b) => a | (1n << BigInt(b)), 0n);
    this.fillConfig(nq);
  }

  private fillConfig(nq: number): void {
    const v = new DataView(this.config.buffer);
    const C = VIRTIO_BLK_CFG;
    v.setBigUint64(C.CAPACITY, BigInt(this.disk.sectors), true);
    v.setUint32(C.SEG_MAX, QUEUE_SIZE - 2, true);
    // A CHS guess for a disk with no partition table: 16 heads, 63 sectors per track.
    v.setUint16(C.CYLINDERS, Math.max(2, Math.min(16383, Math.floor(this.disk.sectors / (16 * 63)))), true);
    v.setUint8(C.HEADS, 16);
    v.setUint8(C.SECTORS, 63);
    v.setUint32(C.BLK_SIZE, SECTOR, true);
    v.setUint8(C.WRITEBACK, 1);
    v.setUint16(C.NUM_QUEUES, nq, true);
    v.setUint32(C.MAX_DISCARD_SECTORS, MAX_DISCARD_SECTORS, true);
    v.setUint32(C.MAX_DISCARD_SEG, 1, true);
    v.setUint32(C.DISCARD_SECTOR_ALIGNMENT, 1, true);
    v.setUint32(C.MAX_WRITE_ZEROES_SECTORS, MAX_DISCARD_SECTORS, true);
    v.setUint32(C.MAX_WRITE_ZEROES_SEG, 1, true);
    v.setUint8(C.WRITE_ZEROES_MAY_UNMAP, 1);
  }

  attach(t: VirtioTransport): void {
    this.t = t;
  }

  reset(): void {
    this.config[VIRTIO_BLK_CFG.WRITEBACK] = 1;
  }

  /** --disk-fault refuse: the device will not work with any feature set (§2.2.2 lets it clear FEATURES_OK). */
  acceptFeatures(): boolean {
    return !this.disk.faults.refuse;
  }

  writeConfig(offset: number, size: number, value: number): void {
    // Only the writeback byte is the driver's to change (with VIRTIO_BLK_F_CONFIG_WCE).
    if (offset === VIRTIO_BLK_CFG.WRITEBACK && size === 1 && this.t.negotiated(VIRTIO_BLK_F.CONFIG_WCE)) this.config[offset] = value & 1;
  }

  notify(q: number): void {
    const queue = this.t.queues[q]!;
    const eventIdx = this.t.negotiated(29);
    const done: Done[] = [];
    for (;;) {
      const chain = queue.pop(eventIdx);
      if (!chain) break;
      const d = this.serve(q, chain);
      queue.push(chain.head, d.len);
      done.push(d);
    }
    if (!done.length) return;
    this.t.signalUsed(q, (intid) => {
      const r = this.t.env.recorder;
      if (!r.enabled) return;
      for (const d of done) {
        r.record({
          kind: 'block_complete',
          time: this.t.env.now(),
          vcpu: this.t.vcpu,
          device: this.t.name,
          queue: d.queue,
          request: BigInt(d.head),
          op: d.op,
          status: d.status === VIRTIO_BLK_S.OK ? 'ok' : d.status === VIRTIO_BLK_S.UNSUPP ? 'unsupported' : 'ioerr',
          length: d.len,
          intid,
        });
      }
    });
  }

  /** Serves one request; returns what to complete it with. */
  private serve(q: number, chain: Chain): Done {
    const mem = this.t.memory.mem;
    if (chainBytes(chain.readable) < 16)
      throw new VirtqError(`queue ${q}: request ${chain.head} has a ${chainBytes(chain.readable)}-byte header (16 needed)`);
    const inLen = chainBytes(chain.writable);
    if (inLen < 1) throw new VirtqError(`queue ${q}: request ${chain.head} has no status byte`);
    const hdr = readChain(mem, chain.readable, 0, 16);
    const hv = new DataView(hdr.buffer, hdr.byteOffset, 16);
    const type = hv.getUint32(0, true);
    const sector = hv.getUint32(8, true) + hv.getUint32(12, true) * 0x100000000;
    const dataIn = inLen - 1; // writable bytes before the status byte
    const dataOut = chainBytes(chain.readable) - 16;
    const op = opName(type);
    const reqLen = type === VIRTIO_BLK_T.IN || type === VIRTIO_BLK_T.GET_ID ? dataIn : type === VIRTIO_BLK_T.FLUSH ? 0 : dataOut;
    const r = this.t.env.recorder;
    if (r.enabled)
      r.record({
        kind: 'block_request',
        time: this.t.env.now(),
        vcpu: this.t.vcpu,
        device: this.t.name,
        queue: q,
        request: BigInt(chain.head),
        op,
        sector: type === VIRTIO_BLK_T.IN || type === VIRTIO_BLK_T.OUT ? sector : 0,
        length: reqLen,
      });
    const status = this.execute(type, sector, chain, dataIn, dataOut);
    writeChain(mem, chain.writable, inLen - 1, Uint8Array.of(status));
    return { queue: q, head: chain.head, op, status, len: inLen };
  }

  private execute(type: number, sector: number, chain: Chain, dataIn: number, dataOut: number): number {
    const mem = this.t.memory.mem;
    const disk = this.disk;
    switch (type) {
      case VIRTIO_BLK_T.IN: {
        if (!disk.inRange(sector, dataIn) || disk.failsAt(sector, dataIn)) return VIRTIO_BLK_S.IOERR;
        const buf = new Uint8Array(dataIn);
        disk.read(sector, buf);
        writeChain(mem, chain.writable, 0, buf);
        return VIRTIO_BLK_S.OK;
      }
      case VIRTIO_BLK_T.OUT: {
        if (disk.readOnly || !disk.inRange(sector, dataOut) || disk.failsAt(sector, dataOut)) return VIRTIO_BLK_S.IOERR;
        disk.write(sector, readChain(mem, chain.readable, 16, dataOut));
        return VIRTIO_BLK_S.OK;
      }
      case VIRTIO_BLK_T.FLUSH:
        disk.flush();
        return VIRTIO_BLK_S.OK;
      case VIRTIO_BLK_T.GET_ID: {
        const id = new TextEncoder().encode(this.serial + '\0').subarray(0, Math.min(VIRTIO_BLK_ID_BYTES, dataIn));
        writeChain(mem, chain.writable, 0, id);
        return VIRTIO_BLK_S.OK;
      }
      case VIRTIO_BLK_T.DISCARD:
      case VIRTIO_BLK_T.WRITE_ZEROES:
        return this.zeroRanges(chain, dataOut);
      default:
        return VIRTIO_BLK_S.UNSUPP;
    }
  }

  /** Discard and write-zeroes: one {sector, num_sectors, flags} segment (max_*_seg is 1); both read back as zeros. */
  private zeroRanges(chain: Chain, dataOut: number): number {
    if (this.disk.readOnly || dataOut !== 16) return VIRTIO_BLK_S.IOERR;
    const seg = readChain(this.t.memory.mem, chain.readable, 16, 16);
    const v = new DataView(seg.buffer, seg.byteOffset, 16);
    const sector = v.getUint32(0, true) + v.getUint32(4, true) * 0x100000000;
    const n = v.getUint32(8, true);
    if (n > MAX_DISCARD_SECTORS || !this.disk.inRange(sector, n * SECTOR)) return VIRTIO_BLK_S.IOERR;
    const zeros = new Uint8Array(Math.min(n, 2048) * SECTOR);
    for (let done = 0; done < n; done += zeros.length / SECTOR)
      this.disk.write(sector + done, zeros.subarray(0, Math.min(zeros.length, (n - done) * SECTOR)));
    return VIRTIO_BLK_S.OK;
  }
}

function opName(type: number): BlockOp {
  switch (type) {
    case VIRTIO_BLK_T.IN:
      return 'read';
    case VIRTIO_BLK_T.OUT:
      return 'write';
    case VIRTIO_BLK_T.FLUSH:
      return 'flush';
    case VIRTIO_BLK_T.GET_ID:
      return 'get_id';
    case VIRTIO_BLK_T.DISCARD:
      return 'discard';
    case VIRTIO_BLK_T.WRITE_ZEROES:
      return 'write_zeroes';
    default:
      return 'other';
  }
}
