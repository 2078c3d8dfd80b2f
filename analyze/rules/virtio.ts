// virtio 1.x driver rules (OASIS virtio 1.2, cs01): the device status sequence of §3.1.1, the
// FEATURES_OK re-read, VERSION_1 for a modern device (§6.1), queues set up before DRIVER_OK and no
// notification before it. Read from the transport's register accesses as the trace names them:
// virtio-pci's common configuration (`device_status`, `driver_feature_select`, `driver_feature`,
// `queue_enable`, `notify.qN`) and virtio-mmio's (`Status`, `DriverFeaturesSel`, `DriverFeatures`,
// `QueueReady`, `QueueNotify`).

import type { EventOf, TraceEvent } from '../../capture/model.ts';
import type { Analysis, ReplayContext } from '../analysis.ts';
import type { FindingSink, RuleDef, RuleFamily } from './rule.ts';

const SPEC = 'virtio 1.2';
/** Device status bits (§2.1). */
const ACKNOWLEDGE = 1,
  DRIVER = 2,
  DRIVER_OK = 4,
  FEATURES_OK = 8;

export const VIRTIO_RULES = {
  statusOrder: {
    id: 'virtio.status-order',
    severity: 'error',
    clause: `${SPEC} §3.1.1 (ACKNOWLEDGE, then DRIVER, then FEATURES_OK, then DRIVER_OK)`,
    title: 'device status set out of order',
    trigger: 'a status write that sets DRIVER without ACKNOWLEDGE, FEATURES_OK without DRIVER, or DRIVER_OK without FEATURES_OK',
  },
  featuresNotReread: {
    id: 'virtio.features-ok-not-reread',
    severity: 'warning',
    clause: `${SPEC} §3.1.1 step 6 (re-read device status to ensure FEATURES_OK is still set)`,
    title: 'FEATURES_OK not re-read before DRIVER_OK',
    trigger: 'DRIVER_OK set with no read of the device status since FEATURES_OK was written',
  },
  version1: {
    id: 'virtio.no-version-1',
    severity: 'error',
    clause: `${SPEC} §6.1 (a driver MUST accept VERSION_1 if it is offered; modern devices offer it)`,
    title: 'VERSION_1 not negotiated on a modern device',
    trigger: 'FEATURES_OK written on virtio-pci modern while the driver feature bits 32-63 (select 1) lack bit 0 (VERSION_1)',
  },
  queueAfterDriverOk: {
    id: 'virtio.queue-after-driver-ok',
    severity: 'error',
    clause: `${SPEC} §3.1.1 step 7 (discover and set up the virtqueues, then set DRIVER_OK)`,
    title: 'virtqueue enabled after DRIVER_OK',
    trigger: 'queue_enable / QueueReady written 1 while DRIVER_OK is set',
  },
  notifyBeforeDriverOk: {
    id: 'virtio.notify-before-driver-ok',
    severity: 'error',
    clause: `${SPEC} §3.1.1 (the driver MUST NOT send any buffer available notifications to the device before setting DRIVER_OK)`,
    title: 'notification before DRIVER_OK',
    trigger: 'a queue notify write while DRIVER_OK is not set',
  },
} as const satisfies Record<string, RuleDef>;

interface Dev {
  status: number;
  /** Device status read since FEATURES_OK was written. */
  reread: boolean;
  featSel: number;
  /** Driver feature bits 32-63 as last written (undefined: never written). */
  featHi: number | undefined;
  modern: boolean;
}

const NOTIFY = /^(notify\.q\d+|QueueNotify)$/;

class VirtioRules implements Analysis<void> {
  readonly name = 'rules.virtio';
  readonly kinds = ['mmio_read', 'mmio_write'] as const;
  private readonly sink: FindingSink;
  private readonly devs = new Map<string, Dev>();

  constructor(sink: FindingSink) {
    this.sink = sink;
  }

  onEvent(e: TraceEvent, _ctx: ReplayContext): void {
    if ((e.kind !== 'mmio_read' && e.kind !== 'mmio_write') || !e.device.startsWith('virtio')) return;
    const reg = e.register.slice(e.register.lastIndexOf(' ') + 1);
    let d = this.devs.get(e.device);
    if (!d) this.devs.set(e.device, (d = { status: 0, reread: false, featSel: 0, featHi: undefined, modern: false }));
    // virtio-pci's common configuration exists only on modern (1.x) devices.
    if (reg === 'device_status') d.modern = true;
    if (e.kind === 'mmio_read') {
      if ((reg === 'device_status' || reg === 'Status') && d.status & FEATURES_OK) d.reread = true;
      return;
    }
    const v = Number(e.value);
    if (reg === 'device_status' || reg === 'Status') this.status(e, d, v);
    else if (reg === 'driver_feature_select' || reg === 'DriverFeaturesSel') d.featSel = v;
    else if ((reg === 'driver_feature' || reg === 'DriverFeatures') && d.featSel === 1) d.featHi = v;
    else if ((reg === 'queue_enable' || reg === 'QueueReady') && v === 1 && d.status & DRIVER_OK)
      this.sink.report(
        VIRTIO_RULES.queueAfterDriverOk,
        e.device,
        `${e.device}: a virtqueue was enabled after DRIVER_OK; set every queue up first, then DRIVER_OK.`,
        [e],
      );
    else if (NOTIFY.test(reg) && !(d.status & DRIVER_OK))
      this.sink.report(
        VIRTIO_RULES.notifyBeforeDriverOk,
        e.device,
        `${e.device}: ${reg} written while the device status is 0x${d.status.toString(16)} (no DRIVER_OK); the device need not look at the queue yet.`,
        [e],
      );
  }

  private status(e: EventOf<'mmio_write'>, d: Dev, v: number): void {
    const added = v & ~d.status;
    d.status = v;
    if (v === 0) {
      // Reset: the sequence starts again.
      Object.assign(d, { reread: false, featSel: 0, featHi: undefined });
      return;
    }
    const R = VIRTIO_RULES;
    const missing =
      added & DRIVER && !(v & ACKNOWLEDGE)
        ? 'DRIVER without ACKNOWLEDGE'
        : added & FEATURES_OK && !(v & DRIVER)
          ? 'FEATURES_OK without DRIVER'
          : added & DRIVER_OK && !(v & FEATURES_OK) && d.modern
            ? 'DRIVER_OK without FEATURES_OK'
            : '';
    if (missing) this.sink.report(R.statusOrder, e.device, `${e.device}: status 0x${v.toString(16)} sets ${missing}.`, [e]);
    if (added & FEATURES_OK) {
      d.reread = false;
      if (d.modern && !((d.featHi ?? 0) & 1))
        this.sink.report(
          R.version1,
          e.device,
          `${e.device}: FEATURES_OK without VERSION_1 (driver features 32-63 = 0x${(d.featHi ?? 0).toString(16)}); a modern device works only with the 1.x interface.`,
          [e],
        );
    }
    if (added & DRIVER_OK && v & FEATURES_OK && !d.reread)
      this.sink.report(
        R.featuresNotReread,
        e.device,
        `${e.device}: DRIVER_OK set without reading the status back after FEATURES_OK; the device may have refused the features.`,
        [e],
      );
  }

  finish(): void {}
}

export const virtioFamily: RuleFamily = {
  family: 'virtio',
  rules: Object.values(VIRTIO_RULES),
  create: (sink) => new VirtioRules(sink),
};
