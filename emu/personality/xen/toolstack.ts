// The xenstore tree the xl toolstack (libxl 4.17) writes for one arm64 domU before unpausing it:
// the domain's home with the permissions libxl__domain_make gives each directory, the values
// libxl__build_post writes, and for each PV device its frontend directory (owned by the domU,
// readable by the backend domain) and backend directory (owned by dom0, readable by the domU),
// as libxl__device_generic_add lays them out. docs/xen.md lists the resulting tree.
//
// Only the layout is modelled: there is no hotplug script, so the values those scripts write
// (physical-device, hotplug-status) are written here directly.

import { XENBUS_STATE } from '../../../arch/hypercalls/xen-io.ts';
import type { Dom0Xenstore, XenBus } from './xenbus.ts';
import { homePath } from './xenstore.ts';

export interface ToolstackDisk {
  /** Linux-style name: xvda, xvdb… */
  vdev: string;
  /** io/blkif.h virtual-device number: 51712 for xvda. */
  devid: number;
  /** The image, as `params` names it. */
  target: string;
  readonly: boolean;
}

export interface ToolstackNic {
  devid: number;
  /** aa:bb:cc:dd:ee:ff */
  mac: string;
}

export interface ToolstackDomain {
  domid: number;
  name: string;
  uuid: string;
  memKb: number;
  vcpus: number;
  storePort: number;
  storeGfn: number;
  consolePort: number;
  consoleGfn: number;
  disks: readonly ToolstackDisk[];
  nics: readonly ToolstackNic[];
}

/** Frontend and backend directories of a device. */
export function devicePaths(domid: number, kind: 'vbd' | 'vif', devid: number): { frontend: string; backend: string } {
  return { frontend: `${homePath(domid)}/device/${kind}/${devid}`, backend: `${homePath(0)}/backend/${kind}/${domid}/${devid}` };
}

/** Write the domain's tree (quietly: the toolstack works before the guest's first instruction). */
export function populateDomain(bus: XenBus, d: ToolstackDomain): void {
  const xs = bus.dom0;
  xs.quiet = true;
  try {
    writeDomain(xs, d);
    for (const disk of d.disks) writeDisk(bus, d, disk);
    for (const nic of d.nics) writeNic(bus, d, nic);
  } finally {
    xs.quiet = false;
  }
}

function writeDomain(xs: Dom0Xenstore, d: ToolstackDomain): void {
  const dom = homePath(d.domid);
  const vm = `/vm/${d.uuid}`;
  const ro = ['n0', `r${d.domid}`];
  const rw = [`n${d.domid}`];
  const mk = (path: string, perms: string[]): void => {
    xs.mkdir(path);
    xs.setPerms(path, perms);
  };
  xs.mkdir(homePath(0));
  mk(dom, ro);
  mk(vm, ro);
  mk(`/libxl/${d.domid}`, ['n0']);
  mk(`/libxl/${d.domid}/device`, ['n0']);
  xs.write(`${dom}/vm`, vm);
  for (const sub of ['cpu', 'memory', 'device']) mk(`${dom}/${sub}`, ro);
  mk(`${dom}/device/suspend/event-channel`, rw);
  mk(`${dom}/control`, ro);
  for (const sub of ['shutdown', 'feature-poweroff', 'feature-reboot', 'feature-suspend', 'sysrq']) mk(`${dom}/control/${sub}`, rw);
  for (const sub of ['data', 'drivers', 'feature', 'attr', 'error']) mk(`${dom}/${sub}`, rw);
  xs.write(`${vm}/uuid`, d.uuid);
  xs.write(`${vm}/name`, d.name);
  xs.write(`${dom}/control/platform-feature-multiprocessor-suspend`, '1');
  xs.write(`${dom}/control/platform-feature-xs_reset_watches`, '1');
  xs.write(`/libxl/${d.domid}/type`, 'pvh');
  xs.write(`${dom}/name`, d.name);
  // libxl__build_post
  xs.write(`${dom}/memory/static-max`, String(d.memKb));
  xs.write(`${dom}/memory/target`, String(d.memKb));
  xs.write(`${dom}/memory/videoram`, '0');
  xs.write(`${dom}/domid`, String(d.domid));
  xs.write(`${dom}/store/port`, String(d.storePort));
  xs.write(`${dom}/store/ring-ref`, String(d.storeGfn));
  for (let i = 0; i < d.vcpus; i++) xs.write(`${dom}/cpu/${i}/availability`, 'online');
  // Console 0: the domain's `console` directory is read-only to it (it is configuration).
  const cons = `${dom}/console`;
  const consBack = `${homePath(0)}/backend/console/${d.domid}/0`;
  mk(cons, ['n0', `r${d.domid}`]);
  for (const [k, v] of [
    ['backend', consBack],
    ['backend-id', '0'],
    ['limit', '1048576'],
    ['type', 'xenconsoled'],
    ['output', 'pty'],
    ['tty', ''],
    ['port', String(d.consolePort)],
    ['ring-ref', String(d.consoleGfn)],
  ] as const) {
    xs.write(`${cons}/${k}`, v);
  }
  mk(consBack, ['n0', `r${d.domid}`]);
  for (const [k, v] of [
    ['frontend', cons],
    ['frontend-id', String(d.domid)],
    ['online', '1'],
    ['state', String(XENBUS_STATE.Initialising)],
    ['protocol', 'vt100'],
  ] as const) {
    xs.write(`${consBack}/${k}`, v);
  }
}

/** libxl__device_generic_add: frontend (domU-owned, backend may read) and backend (dom0-owned, domU may read). */
function writeDevice(
  bus: XenBus,
  d: ToolstackDomain,
  kind: 'vbd' | 'vif',
  devid: number,
  front: [string, string][],
  back: [string, string][],
): void {
  const xs = bus.dom0;
  const { frontend, backend } = devicePaths(d.domid, kind, devid);
  bus.addDevice({ name: `${kind}-${devid}`, frontend, backend });
  const lib = `/libxl/${d.domid}/device/${kind}/${devid}`;
  xs.write(`${lib}/frontend`, frontend);
  xs.write(`${lib}/backend`, backend);
  xs.mkdir(frontend);
  xs.setPerms(frontend, [`n${d.domid}`, 'r0']);
  xs.write(`${frontend}/backend`, backend);
  for (const [k, v] of front) xs.write(`${frontend}/${k}`, v);
  xs.mkdir(backend);
  xs.setPerms(backend, ['n0', `r${d.domid}`]);
  xs.write(`${backend}/frontend`, frontend);
  for (const [k, v] of back) xs.write(`${backend}/${k}`, v);
}

function writeDisk(bus: XenBus, d: ToolstackDomain, disk: ToolstackDisk): void {
  const init = String(XENBUS_STATE.Initialising);
  writeDevice(
    bus,
    d,
    'vbd',
    disk.devid,
    [
      ['backend-id', '0'],
      ['state', init],
      ['virtual-device', String(disk.devid)],
      ['device-type', 'disk'],
      ['trusted', '1'],
    ],
    [
      ['params', disk.target],
      ['script', '/etc/xen/scripts/block'],
      ['frontend-id', String(d.domid)],
      ['online', '1'],
      ['removable', '0'],
      ['bootable', '1'],
      ['state', init],
      ['dev', disk.vdev],
      ['type', 'phy'],
      ['mode', disk.readonly ? 'r' : 'w'],
      ['device-type', 'disk'],
      ['discard-enable', '1'],
      ['specification', 'xen'],
    ],
  );
}

function writeNic(bus: XenBus, d: ToolstackDomain, nic: ToolstackNic): void {
  const init = String(XENBUS_STATE.Initialising);
  writeDevice(
    bus,
    d,
    'vif',
    nic.devid,
    [
      ['backend-id', '0'],
      ['state', init],
      ['handle', String(nic.devid)],
      ['mac', nic.mac],
      ['mtu', '1500'],
      ['trusted', '1'],
    ],
    [
      ['frontend-id', String(d.domid)],
      ['online', '1'],
      ['state', init],
      ['script', '/etc/xen/scripts/vif-bridge'],
      ['mac', nic.mac],
      ['bridge', 'xenbr0'],
      ['handle', String(nic.devid)],
      ['type', 'vif'],
    ],
  );
}
