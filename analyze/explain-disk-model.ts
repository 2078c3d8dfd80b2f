// What `explain disk` concludes: its verdicts and the reports it gives per bus and block device.

import type { Evidence } from './rules/rule.ts';

/**
 * Verdicts, in the order they are tried: each one is the first thing missing on the way from the
 * bus to a mounted root file system (docs/analyzers.md, "explain disk").
 */
export const DISK_VERDICTS = [
  /** No bus to find a disk on: no PCIe host, or the kernel never enumerated it; Xen: no xenstore traffic from the guest. */
  'no-bus',
  /** The bus works but holds no block device (the machine was given no disk). */
  'no-disk',
  /** The device was found but no driver took it: no virtio DRIVER status / the xenbus frontend stays Initialising. */
  'driver-not-bound',
  /** A driver took it but the two ends did not agree: FEATURES_OK refused, FAILED, no DRIVER_OK; xenbus never Connected. */
  'negotiation-failed',
  /** The disk answered requests with errors (error completions, the kernel's "I/O error" lines). */
  'io-errors',
  /** The disk came up but root= names another device, and the root file system was not mounted. */
  'wrong-root',
  /** The disk came up and root= names it (or names no device), yet mounting the root file system failed. */
  'root-not-mounted',
  /** The disk came up, its I/O completed without error and (when the console shows it) the root file system was mounted. */
  'disk-ok',
] as const;
export type DiskVerdict = (typeof DISK_VERDICTS)[number];

/** A console line the verdict relies on (guest text: control bytes already shown as \xNN). */
export interface DiskLine {
  seq: number;
  text: string;
}

export interface DiskBusReport {
  /** 'pci' (virtio-blk over PCIe, the kvm machine) or 'xenbus' (blkfront/blkback, the xen machine). */
  kind: 'pci' | 'xenbus';
  /** The platform has the bus: a PCIe host region; Xen: a xenstore connection (always, on a domU). */
  present: boolean;
  /** PCI configuration accesses; Xen: xenstore messages of the guest (not the backends'). */
  accesses: number;
  /** PCI functions the enumeration found (configuration reads that a function answered). */
  functions: string[];
  /** Xen: the xenstore ring was dropped (its error), '' otherwise. */
  error: string;
  first: Evidence | null;
}

export interface DiskDeviceReport {
  /** As in the block events: 'virtio-blk@00:01.0', 'vbd-51712'. */
  name: string;
  transport: 'virtio-pci' | 'xen-blkif';
  /** The event that shows the guest found it (its first configuration read; the guest's first xenstore access to its frontend directory). */
  found: Evidence | null;
  /** virtio: the device status values the driver wrote, in order (hex, at most 16); Xen: unused. */
  statusWrites: string[];
  /** virtio: the highest set of status bits reached ('0x0' when never written). */
  status: string;
  /** virtio: FEATURES_OK read back clear after the driver set it (the device refused the features). */
  featuresRefused: boolean;
  /** Xen: the states each end went through (io/xenbus.h numbers). */
  frontend: number[];
  backend: number[];
  requests: number;
  completions: number;
  /** Completions with status ioerr or unsupported. */
  errors: number;
  firstError: Evidence | null;
  /** The first problem the device model reported (a `device_error` event: a guest mistake, or the backend giving up), '' if none. */
  deviceError: string;
  /** The kernel's names for it (vda, xvda), from its probe lines. */
  kernelNames: string[];
}

export interface DiskExplanation {
  verdict: DiskVerdict;
  /** The guest has a working root disk (the verdict is disk-ok). */
  hasRootDisk: boolean;
  summary: string;
  reasons: string[];
  bus: DiskBusReport;
  devices: DiskDeviceReport[];
  kernel: {
    /** The kernel's command line (its "Kernel command line:" line, else the run's --append); null when unknown. */
    commandLine: string | null;
    /** The device root= names ('' when none). */
    root: string;
    /** The console lines about disks, drivers, I/O errors and the root mount (at most 40). */
    lines: DiskLine[];
  };
  evidence: Evidence[];
}
