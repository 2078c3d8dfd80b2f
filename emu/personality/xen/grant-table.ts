// What the emulated dom0's backends do with the domU's grant table (public/grant_table.h, v1):
// look up an entry the frontend wrote, check it as Xen's grant mapping does, and give the backend
// the guest frame to read or write. Every use is recorded as a `xen_grant` event.
//
// Xen's checks, in its order (grant_table.c, map and copy paths): a reference beyond the table's
// current size is GNTST_bad_gntref; an entry that is not GTF_permit_access, or that grants another
// domain, is GNTST_general_error; writing through a GTF_readonly entry is GNTST_general_error. The
// table's frames are where the domU mapped them (XENMEM_add_to_physmap); a frame it never mapped
// reads as empty entries. The GTF_reading/GTF_writing bits Xen sets while a mapping exists are not
// shown: each backend use maps, copies and unmaps within one notification.

import { GNTST, GRANT_ENTRIES_PER_FRAME, GRANT_ENTRY_V1_SIZE, GTF } from '../../../arch/hypercalls/xen-io.ts';
import type { DeviceEnv } from '../../devices/irq.ts';
import type { GuestAccess } from '../xen-guest-memory.ts';

export interface GrantTableState {
  /** Frames in the table, and where the domU mapped each (-1: not mapped). */
  readonly grant: { nrFrames: number; gfn: number[] };
  canBack(gfn: number): boolean;
}

export interface GrantUse {
  status: number;
  /** Guest-physical address of the granted frame (when status is GNTST_okay). */
  pa: number;
}

export class GrantTable {
  private readonly dom: GrantTableState;
  private readonly access: GuestAccess;
  private readonly env: DeviceEnv;
  private readonly domid: number;
  /** Uses that failed, per backend (for `info` and tests). */
  readonly failures = new Map<string, number>();

  constructor(dom: GrantTableState, access: GuestAccess, env: DeviceEnv, domid: number) {
    this.dom = dom;
    this.access = access;
    this.env = env;
    this.domid = domid;
  }

  /** The v1 entry for a reference: { flags, domid, frame }, or undefined beyond the table. */
  entry(gref: number): { flags: number; domid: number; frame: number } | undefined {
    const g = this.dom.grant;
    if (!Number.isInteger(gref) || gref < 0 || gref >= g.nrFrames * GRANT_ENTRIES_PER_FRAME) return undefined;
    const gfn = g.gfn[Math.floor(gref / GRANT_ENTRIES_PER_FRAME)] ?? -1;
    const v =
      gfn >= 0 ? this.access.physView(gfn * 4096 + (gref % GRANT_ENTRIES_PER_FRAME) * GRANT_ENTRY_V1_SIZE, GRANT_ENTRY_V1_SIZE) : undefined;
    if (!v) return { flags: 0, domid: 0, frame: 0 };
    return { flags: v.getUint16(0, true), domid: v.getUint16(2, true), frame: v.getUint32(4, true) };
  }

  /**
   * A backend of domain `backendDom` uses grant `gref` to `access` the page. Recorded; returns
   * the page's guest-physical address or the GNTST_* error Xen would give.
   */
  use(backend: string, gref: number, access: 'read' | 'write', vcpu: number, backendDom = 0): GrantUse {
    const e = this.entry(gref);
    let status: number = GNTST.okay;
    if (!e) status = GNTST.bad_gntref;
    else if ((e.flags & GTF.type_mask) !== GTF.permit_access || e.domid !== backendDom) status = GNTST.general_error;
    else if (access === 'write' && e.flags & GTF.readonly) status = GNTST.general_error;
    else if (!this.dom.canBack(e.frame)) status = GNTST.general_error;
    const r = this.env.recorder;
    if (r.enabled) {
      r.record({
        kind: 'xen_grant',
        time: this.env.now(),
        vcpu,
        backend,
        gref: gref >>> 0,
        granter: this.domid,
        flags: e?.flags ?? 0,
        gfn: e?.frame ?? 0,
        access,
        gntst: status,
      });
    }
    if (status !== GNTST.okay) this.failures.set(backend, (this.failures.get(backend) ?? 0) + 1);
    return { status, pa: status === GNTST.okay ? e!.frame * 4096 : -1 };
  }

  /** A view of a granted page (after a successful use). */
  page(pa: number): DataView | undefined {
    return this.access.physView(pa, 4096);
  }
}
