// The kvm machine's DSDT as QEMU 7.2's virt machine writes it (device order, names, _HIDs and
// resources): the CPUs (ACPI0007), the PL011 (ARMH0011), fw_cfg (QEMU0002), the 32 virtio-mmio
// transports (LNRO0005), the PCIe host (PNP0A08) with its INTx routing through four interrupt link
// devices, _CBA, _CRS windows, _OSC and _DSM, the Generic Event Device (ACPI0013) and the power
// button (PNP0C0C). Object semantics: ACPI 6.4 §6 (device configuration), §9.27 (ACPI0013), PCI
// Firmware Specification 3.2 §4.5 (_OSC), §4.6 (_DSM).

import * as A from './aml.ts';
import { table } from './tables.ts';

const VIRTIO_BASE = 0x0a000000;
const VIRTIO_SIZE = 0x200;
const VIRTIO_COUNT = 32;
const PCIE_INTX_GSI = 35; // SPI 3
const GED_BASE = 0x09080000;
const GED_GSI = 41; // SPI 9

function cpus(smp: number): A.Aml[] {
  const out: A.Aml[] = [];
  for (let i = 0; i < smp; i++) {
    out.push(A.device(`C${i.toString(16).toUpperCase().padStart(3, '0')}`, A.name('_HID', A.str('ACPI0007')), A.name('_UID', A.int(i))));
  }
  return out;
}

function uart(): A.Aml {
  return A.device(
    'COM0',
    A.name('_HID', A.str('ARMH0011')),
    A.name('_UID', A.int(0)),
    A.name('_CRS', A.resourceTemplate(A.memory32Fixed(0x09000000, 0x1000), A.interrupt(33))),
  );
}

function fwCfg(): A.Aml {
  return A.device(
    'FWCF',
    A.name('_HID', A.str('QEMU0002')),
    A.name('_STA', A.int(0x0b)),
    A.name('_CCA', A.int(1)),
    A.name('_CRS', A.resourceTemplate(A.memory32Fixed(0x09020000, 0x18))),
  );
}

function virtio(): A.Aml[] {
  const out: A.Aml[] = [];
  for (let i = 0; i < VIRTIO_COUNT; i++) {
    out.push(
      A.device(
        `VR${String(i).padStart(2, '0')}`,
        A.name('_HID', A.str('LNRO0005')),
        A.name('_UID', A.int(i)),
        A.name('_CCA', A.int(1)),
        A.name('_CRS', A.resourceTemplate(A.memory32Fixed(VIRTIO_BASE + i * VIRTIO_SIZE, VIRTIO_SIZE), A.interrupt(48 + i))),
      ),
    );
  }
  return out;
}

/** _PRT (ACPI 6.4 §6.2.13): slot s, pin p (0–3) → link GSI((s + p) mod 4), for the 32 slots. */
function prt(): A.Aml {
  const entries: A.Aml[] = [];
  for (let slot = 0; slot < 32; slot++) {
    for (let pin = 0; pin < 4; pin++) {
      entries.push(A.pkgOf(A.int((slot << 16) | 0xffff), A.int(pin), A.ref(`GSI${(slot + pin) % 4}`), A.int(0)));
    }
  }
  return A.name('_PRT', A.varPkgOf(...entries));
}

/** PCI interrupt link devices (PNP0C0F), each fixed to one SPI. */
function links(): A.Aml[] {
  return [0, 1, 2, 3].map((i) =>
    A.device(
      `GSI${i}`,
      A.name('_HID', A.str('PNP0C0F')),
      A.name('_UID', A.int(i)),
      A.name('_PRS', A.resourceTemplate(A.interrupt(PCIE_INTX_GSI + i))),
      A.name('_CRS', A.resourceTemplate(A.interrupt(PCIE_INTX_GSI + i))),
      A.method('_SRS', 1, false),
    ),
  );
}

/** _OSC for the PCI host bridge: grant the OS the controls it asks for, of the first five. */
function osc(): A.Aml {
  const cdw1 = A.ref('CDW1');
  return A.method(
    '_OSC',
    4,
    false,
    A.createDWordField(A.arg(3), A.int(0), 'CDW1'),
    A.ifOp(
      A.lequal(A.arg(0), A.uuid('33db4d5b-1ff7-401c-9657-7441c03dd766')),
      A.createDWordField(A.arg(3), A.int(4), 'CDW2'),
      A.createDWordField(A.arg(3), A.int(8), 'CDW3'),
      A.store(A.ref('CDW2'), A.ref('SUPP')),
      A.store(A.ref('CDW3'), A.ref('CTRL')),
      A.and(A.ref('CTRL'), A.int(0x1f), A.ref('CTRL')),
      A.ifOp(A.lnot(A.lequal(A.arg(1), A.int(1))), A.or(cdw1, A.int(0x08), cdw1)),
      A.ifOp(A.lnot(A.lequal(A.ref('CDW3'), A.ref('CTRL'))), A.or(cdw1, A.int(0x10), cdw1)),
      A.store(A.ref('CTRL'), A.ref('CDW3')),
      A.ret(A.arg(3)),
    ),
    A.elseOp(A.or(cdw1, A.int(0x04), cdw1), A.ret(A.arg(3))),
  );
}

/** _DSM: the Device Labeling Interface UUID lists function 0 only. */
function dsm(): A.Aml {
  return A.method(
    '_DSM',
    4,
    false,
    A.ifOp(
      A.lequal(A.arg(0), A.uuid('e5c937d0-3553-4d7a-9117-ea4d19c3434d')),
      A.ifOp(A.lequal(A.arg(2), A.int(0)), A.ret(A.buffer([0x01]))),
    ),
    A.ret(A.buffer([0x00])),
  );
}

function pcie(): A.Aml {
  const ecam = 0x40_1000_0000n;
  return A.device(
    'PCI0',
    A.name('_HID', A.str('PNP0A08')),
    A.name('_CID', A.str('PNP0A03')),
    A.name('_SEG', A.int(0)),
    A.name('_BBN', A.int(0)),
    A.name('_UID', A.int(0)),
    A.name('_STR', A.unicode('PCIe 0 Device')),
    A.name('_CCA', A.int(1)),
    prt(),
    ...links(),
    A.method('_CBA', 0, false, A.ret(A.qword(ecam))),
    A.name(
      '_CRS',
      A.resourceTemplate(
        A.wordBusNumber(0, 0xff),
        A.dwordSpace(0, 0x10000000, 0x3efeffff, 0, 0x2eff0000),
        A.dwordSpace(1, 0, 0xffff, 0x3eff0000, 0x10000),
        A.qwordMemory(0x80_0000_0000n, 0xff_ffff_ffffn, 0x80_0000_0000n),
      ),
    ),
    A.name('SUPP', A.int(0)),
    A.name('CTRL', A.int(0)),
    osc(),
    dsm(),
    A.device(
      'RES0',
      A.name('_HID', A.str('PNP0C02')),
      A.name('_CRS', A.resourceTemplate(A.qwordMemory(ecam, ecam + 0xfff_ffffn, 0x1000_0000n))),
    ),
  );
}

/** The Generic Event Device (ACPI 6.4 §5.6.9): event selector at 0x09080000, power button on bit 1. */
function ged(): A.Aml {
  return A.device(
    '\\_SB.GED',
    A.name('_HID', A.str('ACPI0013')),
    A.name('_UID', A.str('GED')),
    A.name('_CRS', A.resourceTemplate(A.interrupt(GED_GSI, true))),
    A.opRegionMemory('EREG', GED_BASE, 4),
    A.field('EREG', 0x03 | (0 << 4) | (2 << 5), 'ESEL', 32), // DWordAcc, NoLock, WriteAsZeros
    A.method(
      '_EVT',
      1,
      true,
      A.store(A.ref('ESEL'), A.local(0)),
      A.ifOp(A.lequal(A.and(A.local(0), A.int(2)), A.int(2)), A.notify(A.ref('PWRB'), A.int(0x80))),
    ),
  );
}

export function dsdt(smp: number): Uint8Array {
  const body = A.scope(
    '\\_SB',
    ...cpus(smp),
    uart(),
    fwCfg(),
    ...virtio(),
    pcie(),
    ged(),
    A.device('PWRB', A.name('_HID', A.str('PNP0C0C')), A.name('_UID', A.int(0))),
  );
  return table('DSDT', 2, body);
}
