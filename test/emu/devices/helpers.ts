// Small real helpers for device tests: a recorder that keeps events, a sink that remembers levels.
import type { DeviceRegion, NewEvent } from '../../../capture/model.ts';
import { staticEnv } from '../../../emu/devices/irq.ts';
import type { IrqSink, Recorder } from '../../../emu/types.ts';

export class ListRecorder implements Recorder {
  readonly enabled = true;
  readonly events: NewEvent[] = [];
  record(ev: NewEvent): void {
    this.events.push(ev);
  }
  of<K extends NewEvent['kind']>(kind: K): Extract<NewEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<NewEvent, { kind: K }> => e.kind === kind);
  }
}

export class LevelSink implements IrqSink {
  readonly levels = new Map<string, boolean>();
  readonly changes: { intid: number; level: boolean; vcpu?: number }[] = [];
  setLine(intid: number, level: boolean, vcpu?: number): void {
    this.levels.set(`${intid}/${vcpu ?? -1}`, level);
    this.changes.push({ intid, level, vcpu });
  }
  level(intid: number, vcpu = -1): boolean {
    return this.levels.get(`${intid}/${vcpu}`) ?? false;
  }
}

export function testEnv() {
  const rec = new ListRecorder();
  const env = staticEnv(rec);
  return { rec, env };
}

export function reg(name: string, model: string, base: number, size: number, intid?: number): DeviceRegion {
  return { name, model, role: 'other', base, size, ...(intid !== undefined ? { intid } : {}) };
}
