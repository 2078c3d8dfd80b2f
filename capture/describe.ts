// Human and machine renderings of trace events, derived from the model's field table so
// every consumer (CLI, TUI, reports) prints events the same way.

import { gntstName, xenbusStateName } from '../arch/hypercalls/xen-io.ts';
import { COMMON_FIELDS, KIND_FIELDS, type EventOf, type TraceEvent } from './model.ts';

const hex = (v: bigint | number): string => '0x' + v.toString(16);

/** A JSON-safe plain object: bigints become hex strings, bytes become text (latin1-safe). */
export function eventToJson(e: TraceEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const rec = e as unknown as Record<string, unknown>;
  for (const name of Object.keys(COMMON_FIELDS)) {
    const v = rec[name];
    if (v !== undefined) out[name] = typeof v === 'bigint' ? hex(v) : v;
  }
  out.kind = e.kind;
  for (const [name, spec] of Object.entries(KIND_FIELDS[e.kind])) {
    out[name] = fieldToJson(rec[name], spec.type);
  }
  return out;
}

function fieldToJson(v: unknown, type: string): unknown {
  if (type === 'u64') return hex(v as bigint);
  if (type === 'u64[]') return (v as bigint[]).map(hex);
  if (type === 'bytes') return bytesToText(v as Uint8Array);
  return v;
}

/** Bytes as a string, one char per byte (latin1), so console output survives a round trip. */
export function bytesToText(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function printable(b: Uint8Array): string {
  return JSON.stringify(bytesToText(b));
}

/** One-line summary of what an event says (without seq/time/vcpu). */
export function describeEvent(e: TraceEvent): string {
  switch (e.kind) {
    case 'mmio_read':
    case 'mmio_write': {
      const dir = e.kind === 'mmio_read' ? 'read ' : 'write';
      const where = e.device ? `${e.device}${e.register ? '.' + e.register : '+' + hex(e.addr)}` : hex(e.addr);
      const outcome = e.outcome === 'handled' ? '' : ` [${e.outcome}]`;
      return `${dir} ${where} = ${hex(e.value)} (${e.size}B @${hex(e.addr)})${outcome}`;
    }
    case 'irq_line':
      return `line INTID ${e.intid} ${e.trigger} ${e.level ? 'assert' : 'deassert'}${e.source ? ' from ' + e.source : ''}`;
    case 'irq_deliver':
      return `deliver INTID ${e.intid} as ${e.exception.toUpperCase()}`;
    case 'irq_ack':
      return `ack INTID ${e.intid}${e.intid < 16 ? ' from cpu' + e.source_cpu : ''} via ${e.via}`;
    case 'irq_eoi':
      return `EOI INTID ${e.intid} via ${e.via}`;
    case 'irq_deactivate':
      return `deactivate INTID ${e.intid} via ${e.via}`;
    case 'hypercall': {
      const name = e.name || `func ${hex(e.func)}`;
      const sub = e.subop ? `/${e.subop}` : '';
      const args = e.args.map(hex).join(', ');
      const res = e.results.length ? ` -> ${e.results.map(hex).join(', ')}` : '';
      return `${e.conduit.toUpperCase()} #${hex(e.imm)} ${name}${sub}(${args})${res}`;
    }
    case 'exception':
      return `exception EC ${hex(e.ec)} ESR ${hex(e.esr)} FAR ${hex(e.far)} EL${e.from_el}->EL${e.to_el}${e.detail ? ' ' + e.detail : ''}`;
    case 'sysreg':
      return `${e.write ? 'msr' : 'mrs'} ${e.name} = ${hex(e.value)}${e.outcome === 'handled' ? '' : ` [${e.outcome}]`}`;
    case 'wfx':
      return `${e.wfe ? 'WFE' : 'WFI'} woke by ${e.wake} after ${e.slept}`;
    case 'console':
      return `console ${e.port} ${printable(e.bytes)}`;
    case 'input':
      return `input ${e.port} ${printable(e.bytes)}`;
    case 'vcpu_state':
      return `vcpu ${e.target} ${e.state}${e.entry ? ' entry ' + hex(e.entry) : ''}${e.reason ? ' (' + e.reason + ')' : ''}`;
    case 'timer':
      return `timer ${e.timer} ${e.op} ${hex(e.value)}`;
    case 'block_request':
      return `block ${e.device} q${e.queue} #${e.request} ${e.op}${e.op === 'flush' ? '' : ` sector ${e.sector} +${e.length}`}`;
    case 'block_complete':
      return `block ${e.device} q${e.queue} #${e.request} ${e.op} done ${e.status} (${e.length} bytes)${e.intid ? ' -> INTID ' + e.intid : ''}`;
    case 'net_frame':
      return `net ${e.device} q${e.queue} ${e.direction} ${e.length} bytes ethertype ${hex(e.ethertype)}`;
    case 'device_error':
      return `device error ${e.device}: ${e.detail}`;
    case 'msi':
      return `MSI from ${e.device}: write ${hex(e.msi_data)} to ${hex(e.addr)}${e.intid ? ' -> INTID ' + e.intid : ''}`;
    case 'pci_config': {
      const what = e.register || '+' + hex(e.offset);
      const bar = e.bar >= 0 ? (e.bar === 6 ? ' [ROM]' : ` [BAR${e.bar}]`) : '';
      const absent = e.outcome === 'absent' ? ' [absent]' : '';
      return `pci ${e.write ? 'write' : 'read '} ${e.bdf} ${what} = ${hex(e.value)} (${e.size}B @${hex(e.offset)})${e.device ? ' ' + e.device : ''}${bar}${absent}`;
    }
    case 'xenstore': {
      const tx = e.tx ? ` tx ${e.tx}` : '';
      const token = e.token ? ` token ${JSON.stringify(e.token)}` : '';
      const data = e.data.length ? ' ' + printable(e.data) : '';
      return `xenstore d${e.domid} ${e.xs_op}${e.req_id ? ' #' + e.req_id : ''}${tx} ${e.path || '-'}${data}${token} -> ${e.result}`;
    }
    case 'xen_grant':
      return `grant ${e.backend} d${e.granter} gref ${e.gref} ${e.access} flags ${hex(e.flags)} frame ${hex(e.gfn)} -> ${gntstName(e.gntst)}`;
    case 'xenbus_state':
      return `xenbus ${e.device} ${e.end} ${xenbusStateName(e.xb_state) || 'state'} (${e.xb_state})`;
    case 'xen_evtchn':
      return `evtchn port ${e.evtchn} ${e.dir === 'to_guest' ? e.peer + ' -> guest' : 'guest -> ' + e.peer}`;
    case 'its_command':
      return `ITS ${e.cmd}${itsArgs(e)} @${hex(e.offset)}${e.error ? ' [' + e.error + ']' : ''}`;
    case 'its_translate':
      return `ITS message from ${e.source}: DeviceID ${e.devid} EventID ${e.eventid} -> ${e.intid ? 'LPI ' + e.intid + ' (collection ' + e.icid + ')' : 'dropped: ' + e.error}${e.lpi_config !== e.table_config && e.intid ? ` [config ${lpiCfg(e.lpi_config)}, table ${lpiCfg(e.table_config)}]` : ''}`;
  }
}

/** Full one-line rendering: seq, time, vCPU, PC and the summary. */
export function formatEventLine(e: TraceEvent): string {
  const vcpu = e.vcpu < 0 ? '-' : String(e.vcpu);
  const pc = e.pc !== undefined ? ' pc=' + hex(e.pc) : '';
  return `#${e.seq} t=${e.time} cpu${vcpu} ${e.kind.padEnd(14)} ${describeEvent(e)}${pc}`;
}

const lpiCfg = (v: number): string => (v < 0 ? 'none' : hex(v));

/** The operands an ITS command names (Arm IHI 0069H §5.3). */
function itsArgs(e: EventOf<'its_command'>): string {
  switch (e.cmd) {
    case 'MAPD':
      return ` DeviceID ${e.devid}${e.valid ? '' : ' V=0'}`;
    case 'MAPC':
      return ` ICID ${e.icid} -> RD ${e.rdbase}${e.valid ? '' : ' V=0'}`;
    case 'MAPTI':
    case 'MAPI':
      return ` DeviceID ${e.devid} EventID ${e.eventid} -> LPI ${e.intid} ICID ${e.icid}`;
    case 'INVALL':
      return ` ICID ${e.icid}`;
    case 'MOVI':
      return ` DeviceID ${e.devid} EventID ${e.eventid} -> ICID ${e.icid}`;
    case 'SYNC':
    case 'MOVALL':
      return ` RD ${e.rdbase}`;
    default:
      return e.cmd.startsWith('unknown') ? '' : ` DeviceID ${e.devid} EventID ${e.eventid}`;
  }
}
