// `explain disk`'s verdict: the first thing missing on the way from the bus to a mounted root file
// system, judged from what analyze/explain-disk.ts collected in one pass.

import type { DiskBusReport, DiskDeviceReport, DiskLine, DiskVerdict } from './explain-disk-model.ts';
import type { Evidence } from './rules/rule.ts';

export interface DiskState {
  xen: boolean;
  bus: DiskBusReport;
  devices: DiskDeviceReport[];
  /** root= as the command line gives it ('' when none). */
  root: string;
  lines: DiskLine[];
}

export interface DiskVerdictResult {
  verdict: DiskVerdict;
  summary: string;
  reasons: string[];
  /** The device the verdict is about ('' when none). */
  device: string;
  evidence: Evidence[];
}

const CONNECTED = 4;
/** virtio device status bits (OASIS virtio 1.2 §2.1). */
const DRIVER = 2,
  DRIVER_OK = 4,
  FEATURES_OK = 8,
  FAILED = 0x80;

const MOUNTED = /^(EXT4-fs \((\S+)\): mounted filesystem|VFS: Mounted root)/;
const MOUNT_FAILED =
  /^(VFS: Cannot open root device|VFS: Unable to mount root|Kernel panic - not syncing: VFS|Please append a correct "root="|.*does not exist\.\s+Dropping to a shell|Gave up waiting for root|BOOTSCOPE-INITRAMFS: (no \/dev\/|mount \S+ failed))/;
const IO_ERROR = /I\/O error/;
const NEGOTIATION_LINE = /(probe of \S+ failed|device refuses features|blkfront.*(failed|error)|xenbus.*error)/;
/** Lines that tell why no driver took a device ("Device with no driver" is also printed before a module loads). */
const DRIVER_LINE = /(Module \S+ is blacklisted|insmod \S+ failed|Device with no driver|Initialising != Connected)/;

const quote = (l: DiskLine) => `console seq ${l.seq}: "${l.text}"`;
const at = (e: Evidence | null) => (e ? ` (seq ${e.seq})` : '');

/** The device the root file system should come from: the one root= names, else the first found. */
function rootDevice(s: DiskState): DiskDeviceReport | undefined {
  const name = s.root.replace(/^\/dev\//, '');
  const found = s.devices.filter((d) => d.found || d.requests);
  return found.find((d) => d.kernelNames.includes(name)) ?? found[0] ?? s.devices[0];
}

function driverBound(d: DiskDeviceReport): boolean {
  if (d.transport === 'xen-blkif') return d.frontend.some((x) => x >= 2);
  return (Number(d.status) & DRIVER) !== 0;
}

function negotiated(d: DiskDeviceReport): boolean {
  if (d.transport === 'xen-blkif') return d.frontend.includes(CONNECTED) && d.backend.includes(CONNECTED);
  const st = Number(d.status);
  return (st & DRIVER_OK) !== 0 && !(st & FAILED) && !d.featuresRefused;
}

export function diskVerdict(s: DiskState): DiskVerdictResult {
  const reasons: string[] = [];
  const evidence: Evidence[] = [];
  const done = (verdict: DiskVerdict, summary: string, device = ''): DiskVerdictResult => ({ verdict, summary, reasons, device, evidence });
  const lines = (re: RegExp) => s.lines.filter((l) => re.test(l.text));
  const bus = s.bus;

  // 1. The bus.
  if (!s.xen && !bus.present) {
    reasons.push('the trace has no PCIe host region: the machine has no PCI bus for a virtio-blk function');
    return done('no-bus', 'no PCI bus: the machine has no PCIe host, so no disk could be found');
  }
  if (!s.xen && bus.accesses === 0) {
    reasons.push('the platform has a PCIe host but the trace has no PCI configuration access: the kernel never enumerated the bus');
    return done('no-bus', 'no PCI enumeration: the kernel never looked for devices on the PCIe host');
  }
  if (s.xen && bus.accesses === 0) {
    reasons.push('the guest sent no xenstore message: xenbus never came up, so no PV device (and no disk) could be found');
    return done('no-bus', 'xenbus dead: no xenstore traffic from the guest');
  }
  if (bus.first) evidence.push(bus.first);
  if (s.xen) reasons.push(`xenbus: ${bus.accesses} xenstore messages from the guest${at(bus.first)}`);
  else reasons.push(`PCI: ${bus.accesses} configuration accesses found ${bus.functions.join(', ') || 'no function'}${at(bus.first)}`);

  // 2. The device.
  const d = rootDevice(s);
  if (!d || !(d.found || d.requests)) {
    if (s.xen && bus.error) {
      reasons.push(`the xenstore connection was dropped (${bus.error}) before a virtual disk was found`);
      return done('no-bus', `xenbus dead: the xenstore ring failed (${bus.error})`);
    }
    reasons.push(
      s.xen
        ? 'xenstore names no virtual block device (no device/vbd directory): the domain was given no disk'
        : 'PCI enumeration found no virtio-blk function: the machine was given no disk',
    );
    return done('no-disk', 'no block device on the bus');
  }
  if (d.found) evidence.push(d.found);
  reasons.push(`${d.name} found${at(d.found)}${d.kernelNames.length ? `; the kernel calls it ${d.kernelNames.join(', ')}` : ''}`);

  // 3. The driver.
  if (!driverBound(d)) {
    if (d.transport === 'xen-blkif')
      reasons.push(
        `the frontend never left Initialising (${d.frontend.length ? `states ${d.frontend.join(' ')}` : 'no frontend state change'}): no blkfront driver took the device`,
      );
    else
      reasons.push(
        d.statusWrites.length
          ? `virtio device status writes ${d.statusWrites.join(', ')} never set DRIVER (2): the virtio bus knows the device but no virtio-blk driver probed it`
          : 'no virtio device status write after PCI enumeration found the function: no virtio driver took it',
      );
    for (const l of lines(DRIVER_LINE)) reasons.push(quote(l));
    return done('driver-not-bound', `${d.name} was found but no driver was bound to it`, d.name);
  }

  // 4. Negotiation.
  if (!negotiated(d)) {
    if (d.transport === 'xen-blkif')
      reasons.push(
        `the xenbus handshake never connected: frontend states ${d.frontend.join(' ') || 'none'}, backend states ${d.backend.join(' ') || 'none'} (Connected is 4)`,
      );
    else {
      const st = Number(d.status);
      if (d.featuresRefused) reasons.push('the device cleared FEATURES_OK when the driver read the status back: it refused the features');
      if (st & FAILED) reasons.push('the driver set FAILED (0x80): it gave up on the device');
      if (!(st & DRIVER_OK)) reasons.push(`DRIVER_OK was never set (status writes ${d.statusWrites.join(', ')})`);
    }
    if (d.deviceError) reasons.push(`the device model reported: ${d.deviceError}`);
    for (const l of lines(NEGOTIATION_LINE)) reasons.push(quote(l));
    return done(
      'negotiation-failed',
      `the ${d.transport === 'xen-blkif' ? 'xenbus handshake' : 'virtio feature negotiation'} for ${d.name} failed`,
      d.name,
    );
  }
  reasons.push(
    d.transport === 'xen-blkif'
      ? `frontend and backend reached Connected (frontend ${d.frontend.join(' ')}, backend ${d.backend.join(' ')})`
      : `the driver reached DRIVER_OK (status writes ${d.statusWrites.join(', ')})`,
  );

  // 5. I/O.
  const ioLines = lines(IO_ERROR);
  if (d.errors || ioLines.length) {
    if (d.firstError) evidence.push(d.firstError);
    reasons.push(`${d.errors} of ${d.completions} completions reported an error${at(d.firstError)}`);
    for (const l of ioLines.slice(0, 8)) reasons.push(quote(l));
    return done('io-errors', `${d.name} came up but its I/O failed`, d.name);
  }
  reasons.push(`${d.requests} request${d.requests === 1 ? '' : 's'}, ${d.completions} completed without error`);

  // 6. The root mount.
  const mounted = lines(MOUNTED);
  const failed = lines(MOUNT_FAILED);
  const root = s.root.replace(/^\/dev\//, '');
  const known = s.devices.flatMap((x) => x.kernelNames);
  const namesOther = s.root.startsWith('/dev/') && known.length > 0 && !known.includes(root);
  if (failed.length || (namesOther && !mounted.length)) {
    for (const l of failed.slice(0, 8)) reasons.push(quote(l));
    if (namesOther) {
      reasons.push(`the command line says root=${s.root}, but the disk that came up is ${known.map((n) => '/dev/' + n).join(', ')}`);
      return done('wrong-root', `the disk came up as ${known.join(', ')} but root=${s.root} names another device`, d.name);
    }
    reasons.push(s.root ? `root=${s.root} names the disk, yet the mount failed` : 'the command line has no root=');
    return done('root-not-mounted', `${d.name} came up but the root file system was not mounted`, d.name);
  }
  for (const l of mounted.slice(0, 2)) reasons.push(quote(l));
  return done(
    'disk-ok',
    mounted.length
      ? `${d.name} came up and the root file system on it was mounted`
      : `${d.name} came up and its I/O completed (the console shows no mount)`,
    d.name,
  );
}
