// Shared fixtures for the store tests: temp files and events of every kind.

import fs from 'node:fs';
import Database from 'better-sqlite3';
import os from 'node:os';
import path from 'node:path';
import type { NewEvent, TraceEvent } from '../../../capture/model.ts';
import { createTrace, type WriterOptions } from '../../../capture/store/index.ts';
import { BOOT_MIX_DEVICES } from '../../../bench/boot-mix.ts';

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-store-'));
}

export const BASE_OPTS: WriterOptions = {
  source: { type: 'synthetic', name: 'test', config: { purpose: 'store tests' } },
  clock: { kind: 'instructions', counterHz: 62500000, instructionsPerSecond: 1e9 },
  devices: BOOT_MIX_DEVICES,
  hashes: { kernel: 'sha256:00' },
};

/** One event of every kind, with awkward values (64-bit extremes, empty strings, bytes). */
export function everyKind(t0 = 0): NewEvent[] {
  let t = t0;
  return [
    {
      kind: 'mmio_read',
      time: (t += 1),
      vcpu: 0,
      pc: 0xffff800008001234n,
      addr: 0x09000018,
      size: 4,
      value: 0x90n,
      device: 'pl011@9000000',
      register: 'UARTFR',
      outcome: 'handled',
    },
    {
      kind: 'mmio_write',
      time: (t += 1),
      vcpu: 1,
      addr: 0x0a000000,
      size: 8,
      value: 0xffffffffffffffffn,
      device: '',
      register: '',
      outcome: 'unassigned',
    },
    { kind: 'irq_line', time: (t += 1), vcpu: -1, intid: 33, level: 1, trigger: 'level', source: 'pl011@9000000' },
    { kind: 'irq_deliver', time: (t += 1), vcpu: 0, intid: 33, exception: 'fiq' },
    { kind: 'irq_ack', time: (t += 1), vcpu: 0, intid: 1023, source_cpu: 3, via: 'icc_sysreg' },
    { kind: 'irq_eoi', time: (t += 1), vcpu: 0, intid: 33, via: 'gicc_mmio' },
    { kind: 'irq_deactivate', time: (t += 1), vcpu: 0, intid: 33, via: 'unknown' },
    {
      kind: 'hypercall',
      time: (t += 1),
      vcpu: 0,
      pc: 0x40080000n,
      conduit: 'smc',
      imm: 0xea1,
      func: 0x84000000,
      name: 'PSCI_VERSION',
      subop: '',
      args: [],
      results: [0x10001n, 0x8000000000000000n],
    },
    {
      kind: 'exception',
      time: (t += 1),
      vcpu: 0,
      ec: 0x24,
      esr: 0x93c08004,
      far: 0xdead0000beefn,
      from_el: 0,
      to_el: 1,
      detail: 'data abort, unassigned MMIO',
    },
    { kind: 'sysreg', time: (t += 1), vcpu: 0, name: 'CNTV_CTL_EL0', encoding: 0xdf19, write: true, value: 1n, outcome: 'trapped' },
    { kind: 'wfx', time: (t += 1), vcpu: 0, wfe: true, wake: 'event', slept: 2 ** 40 },
    { kind: 'console', time: (t += 1), vcpu: 0, port: 'pl011@9000000', bytes: new Uint8Array([0x68, 0x69, 0x00, 0xff, 0x0a]) },
    { kind: 'input', time: (t += 1), vcpu: 0, port: 'pl011@9000000', bytes: new Uint8Array(0) },
    {
      kind: 'vcpu_state',
      time: (t += 1),
      vcpu: 0,
      state: 'on_pending',
      target: 7,
      entry: 0x40200000n,
      context: 0n,
      reason: 'PSCI_CPU_ON',
      src_line: 12,
    },
    { kind: 'timer', time: (t += 1), vcpu: 0, timer: 'sel2virt', op: 'imask_toggle', value: 0n, src_line: 9 },
    {
      kind: 'block_request',
      time: (t += 1),
      vcpu: 1,
      pc: 0xffff800008123450n,
      device: 'virtio-blk@00:02.0',
      queue: 0,
      request: 0xffffffffffffffffn,
      op: 'write',
      sector: 2 ** 40,
      length: 4096,
    },
    {
      kind: 'block_complete',
      time: (t += 1),
      vcpu: 1,
      device: 'virtio-blk@00:02.0',
      queue: 0,
      request: 0xffffffffffffffffn,
      op: 'get_id',
      status: 'unsupported',
      length: 1,
      intid: 0,
    },
    {
      kind: 'net_frame',
      time: (t += 1),
      vcpu: 0,
      device: 'vif-0',
      queue: 1,
      direction: 'rx',
      length: 3,
      ethertype: 0,
      frame: new Uint8Array([1, 2, 3]),
    },
    {
      kind: 'pci_config',
      time: (t += 1),
      vcpu: 0,
      bdf: '00:1f.7',
      device: '',
      write: false,
      offset: 0xffc,
      size: 4,
      value: 0xffffffffn,
      register: '',
      bar: -1,
      outcome: 'absent',
    },
    {
      kind: 'device_error',
      time: (t += 1),
      vcpu: -1,
      device: 'virtio-blk@00:02.0',
      detail: 'queue 0: descriptor chain loops; device needs reset',
    },
    { kind: 'msi', time: (t += 1), vcpu: 0, device: 'virtio-blk@00:02.0', addr: 0x8020040, msi_data: 80, intid: 80 },
  ];
}

/** What a reader should give back for events written without seq. */
export function withSeq(evs: NewEvent[], first = 0): TraceEvent[] {
  return evs.map((e, i) => ({ ...e, seq: e.seq ?? first + i }) as TraceEvent);
}

/** Events as comparable plain data (bytes as arrays). */
export function plain(e: unknown): unknown {
  return JSON.parse(
    JSON.stringify(e, (_k, v) =>
      typeof v === 'bigint'
        ? `${v}n`
        : v instanceof Uint8Array
          ? [...v]
          : v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data) // Buffer.toJSON()
            ? v.data
            : v,
    ),
  );
}

export function writeEvents(file: string, evs: Iterable<NewEvent>, opts: Partial<WriterOptions> = {}) {
  const w = createTrace(file, { ...BASE_OPTS, ...opts });
  for (const e of evs) w.record(e);
  return w.close();
}

/** Flips a byte in the middle of one stored chunk (its CRC no longer matches). */
export function corruptChunk(file: string, id: number): void {
  const db = new Database(file);
  const row = db.prepare('SELECT data FROM chunk_data WHERE id = ?').get(id) as { data: Buffer };
  const data = Buffer.from(row.data);
  data[Math.floor(data.length / 2)]! ^= 0x55;
  db.prepare('UPDATE chunk_data SET data = ? WHERE id = ?').run(data, id);
  db.close();
}
