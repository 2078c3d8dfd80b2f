// The back end of a shared I/O ring (public/io/ring.h): a 64-byte header (req_prod, req_event,
// rsp_prod, rsp_event) followed by a power-of-two number of request/response slots, over one or
// more granted pages that the backend sees as one contiguous buffer (as a backend maps them).
// Requests are copied out of the ring before use, so a frontend changing a slot afterwards cannot
// change what the backend does with it (as Linux's backends copy them).

import { ringSize, SRING } from '../../../arch/hypercalls/xen-io.ts';

export class BackRing {
  readonly size: number;
  readonly entry: number;
  /** Private indices: the next request to take, the next response slot to fill. */
  reqCons = 0;
  rspProdPvt = 0;
  private readonly pages: DataView[];

  constructor(pages: DataView[], entry: number) {
    this.pages = pages;
    this.entry = entry;
    this.size = ringSize(pages.length, entry);
  }

  private u32(off: number): number {
    return this.pages[0]!.getUint32(off, true);
  }

  private setU32(off: number, v: number): void {
    this.pages[0]!.setUint32(off, v >>> 0, true);
  }

  reqProd(): number {
    return this.u32(SRING.REQ_PROD);
  }

  /** RING_REQUEST_PROD_OVERFLOW: the frontend claims more requests than the ring holds. */
  overflowed(): boolean {
    return (this.reqProd() - this.reqCons) >>> 0 > this.size;
  }

  /** Requests produced and not yet taken. */
  pending(): number {
    return (this.reqProd() - this.reqCons) >>> 0;
  }

  /** Copy the next request out of its slot and advance req_cons. */
  takeRequest(): Uint8Array {
    const out = this.read(this.slotOffset(this.reqCons), this.entry);
    this.reqCons = (this.reqCons + 1) >>> 0;
    return out;
  }

  /** Put a response in the next slot (it becomes visible at pushResponses). */
  putResponse(bytes: Uint8Array): void {
    this.write(this.slotOffset(this.rspProdPvt), bytes);
    this.rspProdPvt = (this.rspProdPvt + 1) >>> 0;
  }

  /** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publish rsp_prod; true when the frontend asked to be told. */
  pushResponses(): boolean {
    const old = this.u32(SRING.RSP_PROD);
    const now = this.rspProdPvt;
    this.setU32(SRING.RSP_PROD, now);
    const event = this.u32(SRING.RSP_EVENT);
    return (now - event) >>> 0 < (now - old) >>> 0;
  }

  /** RING_FINAL_CHECK_FOR_REQUESTS: ask for a notification at the next request; true if one came meanwhile. */
  finalCheck(): boolean {
    if (this.pending() > 0) return true;
    this.setU32(SRING.REQ_EVENT, this.reqCons + 1);
    return this.pending() > 0;
  }

  private slotOffset(index: number): number {
    return SRING.HEADER + (index & (this.size - 1)) * this.entry;
  }

  private read(off: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      const at = off + i;
      out[i] = this.pages[at >>> 12]!.getUint8(at & 4095);
    }
    return out;
  }

  private write(off: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const at = off + i;
      this.pages[at >>> 12]!.setUint8(at & 4095, data[i]!);
    }
  }
}
