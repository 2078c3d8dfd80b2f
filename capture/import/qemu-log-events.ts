// The QEMU trace events the importer maps onto the model: one handler per event, reading the
// arguments as QEMU's trace-events format strings print them (the log backend's text, or a simple
// backend record rendered as that text). The line form, the clock, the MMIO merge window and the
// output are the importer's (qemu-log.ts); a handler reads one event's arguments and hands the
// importer model events through QemuLineSink.
import type { DeviceRegion, NewEvent } from '../model.ts';
import { TIMER_NAMES } from '../model.ts';
import { decodeSmccc } from '../../arch/hypercalls/smccc.ts';
import { GICV3_REDIST_STRIDE } from '../../arch/regmaps/gicv3.ts';
import { ICC, iccEncoding } from '../../arch/sysregs.ts';
import { big, bigAfter, decAt, hexAt, hexBigAt, numAfter, numEnd, numOverflow, validVcpu } from './parse.ts';

/** What the handlers need from the importer (capture/import/qemu-log.ts). */
export interface QemuLineSink {
  /** Time of the current line: ns after the first line, or the line number when the log has no timestamps. */
  readonly now: number;
  readonly lineNumber: number;
  /** Queue a model event (in line order, behind MMIO events still waiting for their partner). */
  push(ev: NewEvent): void;
  /** A device trace line's MMIO access (offset within `region`); false when `region` is undefined. */
  deviceMmio(
    region: DeviceRegion | undefined,
    off: number,
    write: boolean,
    value: bigint | undefined,
    size: number,
    vcpu: number,
    outcome: 'handled' | 'raz_wi',
  ): boolean;
  /** A memory_region_ops_read/write line (absolute address). */
  opsMmio(write: boolean, cpu: number, addr: number, value: bigint, size: number, mrName: string): void;
  /** The log shows a GICv2 or GICv3: add its regions to QEMU virt's map (once). */
  ensureGic(version: 2 | 3): void;
  /** vCPU index from an MPIDR affinity value as QEMU virt assigns them. */
  cpuIndex(mpidr: number): number;
  regionByModel(model: string): DeviceRegion | undefined;
  /** What drives an INTID: the region with that interrupt, a generic timer's PPI, or ''. */
  sourceOf(intid: number): string;
  /** vCPU of the line's thread, once a memory_region_ops line has tied the thread to one; else -1. */
  vcpuOfThread(): number;
  /** A vCPU number the store cannot hold: the line is bad, and says why. */
  badVcpu(cpu: number): false;
}

/** true: mapped; false: the arguments could not be read; 'unmapped': well-formed, but no model event. */
type Handler = (imp: QemuLineSink, t: string, p: number, e: number) => boolean | 'unmapped';

/** PPI of each generic timer, by QEMU's timer index (BSA numbering, as virt wires them). */
export const TIMER_PPI = [30, 27, 26, 29, 28, 20, 19];

const H = new Map<string, Handler>();
export const QEMU_HANDLERS: ReadonlyMap<string, Handler> = H;

/** Names of the QEMU events this importer maps onto the model (for detection and the docs). */
export function mappedQemuEvents(): string[] {
  return [...H.keys()].sort();
}

function common(imp: QemuLineSink, vcpu: number) {
  return { time: imp.now, vcpu, src_line: imp.lineNumber };
}

// PL011 / PL031: "addr 0x%08x value 0x%08x[ reg NAME]" (QEMU ≥ 8.1 appends the register name).
function primecell(model: string, write: boolean): Handler {
  return (imp, t, p, e) => {
    const off = numAfter(t, 'addr ', p, e);
    const v = bigAfter(t, 'value ', numEnd, e);
    if (off !== off || v === undefined) return false;
    return imp.deviceMmio(imp.regionByModel(model), off, write, v, 4, imp.vcpuOfThread(), 'handled');
  };
}
export const PL011_READ = primecell('pl011', false);
export const PL011_WRITE = primecell('pl011', true);
H.set('pl011_read', PL011_READ);
H.set('pl011_write', PL011_WRITE);
H.set('pl031_read', primecell('pl031', false));
H.set('pl031_write', primecell('pl031', true));
H.set('pl011_irq_state', (imp, t, p, e) => {
  const level = numAfter(t, 'irq state ', p, e);
  if (level !== level) return false;
  const uart = imp.regionByModel('pl011');
  imp.push({
    kind: 'irq_line',
    ...common(imp, -1),
    intid: uart?.intid ?? 33,
    level: level ? 1 : 0,
    trigger: 'level',
    source: uart?.name ?? '',
  });
  return true;
});

// GICv2
function gicDist(write: boolean): Handler {
  return (imp, t, p, e) => {
    imp.ensureGic(2);
    const off = numAfter(t, 'at ', p, e);
    const size = numAfter(t, 'size ', numEnd, e);
    const v = bigAfter(t, ': ', numEnd, e);
    if (off !== off || size !== size || v === undefined) return false;
    return imp.deviceMmio(imp.regionByModel('gicv2-dist'), off, write, v, size, imp.vcpuOfThread(), 'handled');
  };
}
H.set('gic_dist_read', gicDist(false));
H.set('gic_dist_write', gicDist(true));
function gicCpu(write: boolean): Handler {
  return (imp, t, p, e) => {
    imp.ensureGic(2);
    const isV = t.startsWith(' vcpu', p);
    const cpu = decAt(t, p + (isV ? 6 : 5), e);
    const off = numAfter(t, 'at ', numEnd, e);
    const v = hexBigAt(t, numEnd + (write ? 1 : 2), e);
    if (cpu !== cpu || off !== off || v === undefined) return false;
    if (!validVcpu(cpu)) return imp.badVcpu(cpu);
    const region = isV ? imp.regionByModel('gicv2-vcpu') : imp.regionByModel('gicv2-cpu');
    if (!region) return 'unmapped'; // the virtual CPU interface has no region on this map
    return imp.deviceMmio(region, off, write, v, 4, cpu, 'handled');
  };
}
H.set('gic_cpu_read', gicCpu(false));
H.set('gic_cpu_write', gicCpu(true));
H.set('gic_acknowledge_irq', (imp, t, p, e) => {
  imp.ensureGic(2);
  const cpu = numAfter(t, 'cpu ', p, e);
  const irq = numAfter(t, 'irq ', numEnd, e);
  if (cpu !== cpu || irq !== irq) return false;
  if (!validVcpu(cpu)) return imp.badVcpu(cpu);
  imp.push({ kind: 'irq_ack', ...common(imp, cpu), intid: irq, source_cpu: 0, via: 'gicc_mmio' });
  return true;
});
H.set('gic_set_irq', (imp, t, p, e) => {
  imp.ensureGic(2);
  const irq = numAfter(t, 'irq ', p, e);
  const level = numAfter(t, 'level ', numEnd, e);
  const mask = numAfter(t, 'cpumask ', numEnd, e);
  if (irq !== irq || level !== level || mask !== mask) return false;
  const vcpu = irq < 32 && mask > 0 ? 31 - Math.clz32(mask & -mask) : -1;
  imp.push({
    kind: 'irq_line',
    ...common(imp, vcpu),
    intid: irq,
    level: level ? 1 : 0,
    trigger: irq < 16 ? 'edge' : 'level',
    source: imp.sourceOf(irq),
  });
  return true;
});

// GICv3 distributor / redistributor / ITS: "offset 0x%x data 0x%x size %u secure %d[: error]"
function gicv3Mmio(model: string, write: boolean, bad: boolean, redist: boolean): Handler {
  return (imp, t, p, e) => {
    imp.ensureGic(3);
    let from = p;
    let cpu = -1;
    if (redist) {
      const affid = numAfter(t, 'redistributor ', p, e);
      if (affid !== affid) return false;
      cpu = imp.cpuIndex(affid);
      from = numEnd;
    }
    let off = numAfter(t, 'offset ', from, e);
    const data = !bad || write ? bigAfter(t, 'data ', numEnd, e) : 0n;
    const size = numAfter(t, 'size ', numEnd, e);
    if (off !== off || data === undefined || size !== size) return false;
    if (redist) off += cpu * GICV3_REDIST_STRIDE;
    return imp.deviceMmio(
      imp.regionByModel(model),
      off,
      write,
      bad && !write ? undefined : data,
      size,
      redist ? cpu : imp.vcpuOfThread(),
      bad ? 'raz_wi' : 'handled',
    );
  };
}
for (const [ev, model, redist] of [
  ['dist', 'gicv3-dist', false],
  ['redist', 'gicv3-redist', true],
  ['its', 'gicv3-its', false],
] as const) {
  H.set(`gicv3_${ev}_read`, gicv3Mmio(model, false, false, redist));
  H.set(`gicv3_${ev}_write`, gicv3Mmio(model, true, false, redist));
  H.set(`gicv3_${ev}_badread`, gicv3Mmio(model, false, true, redist));
  H.set(`gicv3_${ev}_badwrite`, gicv3Mmio(model, true, true, redist));
}
H.set('gicv3_dist_set_irq', (imp, t, p, e) => {
  imp.ensureGic(3);
  const irq = numAfter(t, 'interrupt ', p, e);
  const level = numAfter(t, 'changed to ', numEnd, e);
  if (irq !== irq || level !== level) return false;
  imp.push({ kind: 'irq_line', ...common(imp, -1), intid: irq, level: level ? 1 : 0, trigger: 'level', source: imp.sourceOf(irq) });
  return true;
});
H.set('gicv3_redist_set_irq', (imp, t, p, e) => {
  imp.ensureGic(3);
  const cpu = numAfter(t, 'redistributor ', p, e);
  const irq = numAfter(t, 'interrupt ', numEnd, e);
  const level = numAfter(t, 'changed to ', numEnd, e);
  if (cpu !== cpu || irq !== irq || level !== level) return false;
  imp.push({
    kind: 'irq_line',
    ...common(imp, imp.cpuIndex(cpu)),
    intid: irq,
    level: level ? 1 : 0,
    trigger: 'level',
    source: imp.sourceOf(irq),
  });
  return true;
});
H.set('gicv3_redist_send_sgi', (imp, t, p, e) => {
  imp.ensureGic(3);
  const cpu = numAfter(t, 'redistributor ', p, e);
  const irq = numAfter(t, 'SGI ', numEnd, e);
  if (cpu !== cpu || irq !== irq) return false;
  imp.push({ kind: 'irq_line', ...common(imp, imp.cpuIndex(cpu)), intid: irq, level: 1, trigger: 'edge', source: 'sgi' });
  return true;
});
// "GICv3 CPU i/f 0x%x generating SGI %d IRM %d target affinity 0x%xxx targetlist 0x%x":
// rebuilt as the ICC_SGI1R_EL1 write that caused it.
H.set('gicv3_icc_generate_sgi', (imp, t, p, e) => {
  imp.ensureGic(3);
  const cpu = numAfter(t, 'i/f ', p, e);
  const sgi = numAfter(t, 'SGI ', numEnd, e);
  const irm = numAfter(t, 'IRM ', numEnd, e);
  const aff = numAfter(t, 'affinity ', numEnd, e);
  const list = numAfter(t, 'targetlist ', numEnd, e);
  if ([cpu, sgi, irm, aff, list].some((v) => v !== v)) return false;
  const value =
    (BigInt(aff >>> 16) << 48n) |
    (BigInt(irm) << 40n) |
    (BigInt((aff >>> 8) & 0xff) << 32n) |
    (BigInt(sgi) << 24n) |
    (BigInt(aff & 0xff) << 16n) |
    BigInt(list);
  imp.push({
    kind: 'sysreg',
    ...common(imp, imp.cpuIndex(cpu)),
    name: 'ICC_SGI1R_EL1',
    encoding: ICC.SGI1R_EL1,
    write: true,
    value,
    outcome: 'handled',
  });
  return true;
});
function iccAck(imp: QemuLineSink, t: string, p: number, e: number, kind: 'irq_ack' | 'irq_eoi' | 'irq_deactivate'): boolean {
  imp.ensureGic(3);
  const cpu = numAfter(t, 'cpu ', p, e);
  const v = numAfter(t, 'value ', numEnd, e);
  if (cpu !== cpu || v !== v) return false;
  const c = common(imp, imp.cpuIndex(cpu));
  const intid = v & 0xffffff;
  if (kind === 'irq_ack') imp.push({ kind, ...c, intid, source_cpu: 0, via: 'icc_sysreg' });
  else imp.push({ kind, ...c, intid, via: 'icc_sysreg' });
  return true;
}
H.set('gicv3_icc_iar0_read', (imp, t, p, e) => iccAck(imp, t, p, e, 'irq_ack'));
H.set('gicv3_icc_iar1_read', (imp, t, p, e) => iccAck(imp, t, p, e, 'irq_ack'));
H.set('gicv3_icc_eoir_write', (imp, t, p, e) => iccAck(imp, t, p, e, 'irq_eoi'));
H.set('gicv3_icc_dir_write', (imp, t, p, e) => iccAck(imp, t, p, e, 'irq_deactivate'));
// Other ICC registers: "GICv3 ICC_<REG> read|write cpu 0x%x value 0x%x" → sysreg events.
const iccSysreg: Handler = (imp, t, p, e) => {
  imp.ensureGic(3);
  const r = t.indexOf('ICC_', p);
  if (r < 0 || r >= e) return false;
  const sp = t.indexOf(' ', r);
  let name = t.slice(r, sp);
  if (!name.endsWith('_EL3')) name += '_EL1';
  const write = t.startsWith(' write', sp);
  const cpu = numAfter(t, 'cpu ', sp, e);
  const v = bigAfter(t, 'value ', numEnd, e);
  if (cpu !== cpu || v === undefined) return false;
  imp.push({
    kind: 'sysreg',
    ...common(imp, imp.cpuIndex(cpu)),
    name,
    encoding: iccEncoding(name) ?? 0,
    write,
    value: v,
    outcome: 'handled',
  });
  return true;
};
for (const reg of ['pmr', 'bpr', 'ap', 'igrpen', 'igrpen1_el3', 'ctlr', 'ctlr_el3', 'hppir0', 'hppir1', 'rpr']) {
  H.set(`gicv3_icc_${reg}_read`, iccSysreg);
  if (!reg.startsWith('hppir') && reg !== 'rpr') H.set(`gicv3_icc_${reg}_write`, iccSysreg);
}

// Generic timer: "gt_<op>_write: timer %d value 0x%x", "gt recalc: timer %d [irqstate %d ]next tick 0x%x"
function gtOp(op: 'ctl' | 'cval' | 'tval' | 'recalc' | 'disabled' | 'imask_toggle', key: string | undefined): Handler {
  return (imp, t, p, e) => {
    const timer = numAfter(t, 'timer ', p, e);
    let v: bigint | undefined = 0n;
    if (key) v = key === 'irqstate ' ? big(Math.max(0, numAfter(t, key, numEnd, e) || 0)) : bigAfter(t, key, numEnd, e);
    const name = TIMER_NAMES[timer];
    if (name === undefined || v === undefined || numOverflow) return false;
    imp.push({ kind: 'timer', ...common(imp, imp.vcpuOfThread()), timer: name, op, value: v });
    return true;
  };
}
H.set('arm_gt_ctl_write', gtOp('ctl', 'value '));
H.set('arm_gt_cval_write', gtOp('cval', 'value '));
H.set('arm_gt_tval_write', gtOp('tval', 'value '));
H.set('arm_gt_recalc', gtOp('recalc', 'next tick '));
H.set('arm_gt_recalc_disabled', gtOp('disabled', undefined));
H.set('arm_gt_imask_toggle', gtOp('imask_toggle', 'irqstate '));
H.set('arm_gt_cntvoff_write', (imp, t, p, e) => {
  const v = bigAfter(t, 'value ', p, e);
  if (v === undefined) return false;
  imp.push({ kind: 'timer', ...common(imp, imp.vcpuOfThread()), timer: 'virt', op: 'cntvoff', value: v });
  return true;
});
H.set('arm_gt_update_irq', (imp, t, p, e) => {
  const timer = numAfter(t, 'timer ', p, e);
  const level = numAfter(t, 'irqstate ', numEnd, e);
  if (TIMER_NAMES[timer] === undefined || level !== level) return false;
  imp.push({
    kind: 'irq_line',
    ...common(imp, imp.vcpuOfThread()),
    intid: TIMER_PPI[timer]!,
    level: level ? 1 : 0,
    trigger: 'level',
    source: `timer_${TIMER_NAMES[timer]}`,
  });
  return true;
});

// virtio-mmio: "virtio_mmio_read offset 0x%x" (no value), "virtio_mmio_write offset 0x%x value 0x%x".
// The device lines do not say which of the 32 slots; the memory_region_ops partner does.
H.set('virtio_mmio_read', (imp, t, p, e) => {
  const off = numAfter(t, 'offset ', p, e);
  if (off !== off) return false;
  return imp.deviceMmio(imp.regionByModel('virtio-mmio'), off, false, undefined, 4, imp.vcpuOfThread(), 'handled');
});
H.set('virtio_mmio_write_offset', (imp, t, p, e) => {
  const off = numAfter(t, 'offset ', p, e);
  const v = bigAfter(t, 'value ', numEnd, e);
  if (off !== off || v === undefined) return false;
  return imp.deviceMmio(imp.regionByModel('virtio-mmio'), off, true, v, 4, imp.vcpuOfThread(), 'handled');
});

// memory_region_ops_*: "cpu %d mr %p addr 0x%x value 0x%x size %u name '%s'" (older QEMU: no name).
function mro(write: boolean): Handler {
  return (imp, t, p, e) => {
    const cpu = t.startsWith(' cpu ', p) ? decAt(t, p + 5, e) : numAfter(t, 'cpu ', p, e);
    // Skip " mr 0x…" (absent in some QEMU versions) without searching for it.
    let q = numEnd;
    if (t.startsWith(' mr ', q)) q = t.indexOf(' ', q + 4);
    const addr = t.startsWith(' addr ', q) ? hexAt(t, q + 6, e) : numAfter(t, ' addr ', q, e);
    const v = bigAfter(t, 'value ', numEnd, e);
    const size = numAfter(t, 'size ', numEnd, e);
    if (cpu !== cpu || addr !== addr || v === undefined || size !== size) return false;
    if (!validVcpu(cpu)) return imp.badVcpu(cpu);
    let name = '';
    const nq = t.indexOf("name '", numEnd);
    if (nq >= 0 && nq < e) name = t.slice(nq + 6, t.charCodeAt(e - 1) === 39 ? e - 1 : e);
    imp.opsMmio(write, cpu, addr, v, size, name);
    return true;
  };
}
export const MRO_READ = mro(false);
export const MRO_WRITE = mro(true);
H.set('memory_region_ops_read', MRO_READ);
H.set('memory_region_ops_write', MRO_WRITE);

// PSCI (TCG: arm_psci_call; HVF: hvf_psci_call): "PSCI Call x0=0x%016x x1=… x2=… x3=… cpuid=0x%x"
const psci: Handler = (imp, t, p, e) => {
  const x0 = bigAfter(t, 'x0=', p, e);
  const x1 = bigAfter(t, 'x1=', p, e);
  const x2 = bigAfter(t, 'x2=', p, e);
  const x3 = bigAfter(t, 'x3=', p, e);
  let cpu = numAfter(t, 'cpuid=', p, e);
  if (cpu !== cpu) cpu = numAfter(t, 'cpu=', p, e);
  if (x0 === undefined || x1 === undefined || x2 === undefined || x3 === undefined || numOverflow) return false;
  const func = Number(BigInt.asUintN(32, x0));
  imp.push({
    kind: 'hypercall',
    ...common(imp, cpu === cpu ? imp.cpuIndex(cpu) : imp.vcpuOfThread()),
    conduit: 'hvc',
    imm: 0,
    func,
    name: decodeSmccc(func).name,
    subop: '',
    args: [x1, x2, x3],
    results: [],
  });
  return true;
};
H.set('arm_psci_call', psci);
H.set('hvf_psci_call', psci);
// "cpu %u (EL %u, %s) @ 0x%x with R0 = 0x%x": cpu is the target's MPIDR affinity.
H.set('arm_powerctl_set_cpu_on', (imp, t, p, e) => {
  const cpu = numAfter(t, 'cpu ', p, e);
  const entry = bigAfter(t, '@ ', numEnd, e);
  const ctx = bigAfter(t, 'R0 = ', p, e);
  if (cpu !== cpu || entry === undefined || ctx === undefined) return false;
  imp.push({
    kind: 'vcpu_state',
    ...common(imp, imp.vcpuOfThread()),
    state: 'on',
    target: imp.cpuIndex(cpu),
    entry,
    context: ctx,
    reason: 'PSCI_CPU_ON',
  });
  return true;
});
