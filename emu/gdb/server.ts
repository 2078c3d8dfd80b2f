// The GDB remote-protocol server (GDB manual, "Remote Protocol"): one gdb at a time over TCP,
// all-stop, vCPUs as threads (thread id = vCPU index + 1). It lives in the run's event loop: the
// machine runs in chunks (DebugTarget.run) and the socket is serviced between them.
//
// Reverse execution (`debug` mode): the machine is deterministic, so going back is running a
// fresh machine from the start to an earlier position (target.ts names positions so that they
// can be found again). The server asks for a fresh machine by failing the current run with
// RestartMachine; its owner (session.ts) builds one and calls drive() again, which carries on
// with what was asked.

import net from 'node:net';
import type { Machine } from '../machine/index.ts';
import type { DebugPoint, StopInfo } from '../scheduler.ts';
import { frame, escape, fromHex, PacketReader, toHex, type Incoming } from './packets.ts';
import { fromLeHex, regHex, REGS, targetXml, writeReg } from './regs.ts';
import { DebugTarget, type Halt, type Position } from './target.ts';
import { monitorCommand, type MonitorHost } from './monitor.ts';
import { formatEventLine } from '../../capture/describe.ts';
import type { TraceEvent } from '../../capture/model.ts';
import { Snapshots, type SnapshotParticipant } from '../snapshot/index.ts';

/** Thrown into the run when the server needs a fresh machine (reverse execution). */
export class RestartMachine extends Error {
  constructor() {
    super('restart');
  }
}

export interface GdbServerOptions {
  host: string;
  /** 0: any free port (see port). */
  port: number;
  /** 'run': forward only, writes allowed; 'debug': a replayed recording, reverse execution. */
  mode: 'run' | 'debug';
  /** debug mode: gdb may write memory and registers (the session then leaves the recording). */
  allowWrites?: boolean;
  /** One line for the person running bootscope (stderr). */
  log: (line: string) => void;
  /** debug mode: stored events by seq and where an event is (for `monitor event N`, `where`). */
  trace?: MonitorHost['trace'];
  /** Asked every 200 ms: a reason (e.g. 'SIGINT') ends the run (stop kind 'interrupted'). */
  interrupt?: () => string | undefined;
  /**
   * debug mode: snapshots every `every` instructions (emu/snapshot), so going back restores the
   * last one before the target and re-executes from there instead of from the start.
   * `participants`: the session's state outside the machine (the replay's comparator).
   */
  snapshots?: { every: number; budget?: number; verify?: boolean; participants?: SnapshotParticipant[] };
}

const ERR = (msg: string): string => `E.${msg}`;

export class GdbServer {
  readonly target = new DebugTarget();
  private readonly srv: net.Server;
  private client: net.Socket | undefined;
  private reader = new PacketReader();
  private noAck = false;
  private queue: Promise<void> = Promise.resolve();
  /** Thread for register and memory accesses (Hg) and for resuming (Hc), as vCPU indexes. */
  private gVcpu = 0;
  private cVcpu = -1;
  private finish: ((s: StopInfo) => void) | undefined;
  private abort: ((e: Error) => void) | undefined;
  private pending: (() => Promise<void>) | undefined;
  private running = false;
  /** Resume packets received and not yet started (an interrupt right behind one applies to it). */
  private resumesQueued = 0;
  private wroteState = false;
  /** The event move under way is --at's, before gdb asked anything: it sends no reply. */
  private quietMove = false;
  private clientSeen = false;
  private waiting: (() => void) | undefined;
  port: number;

  private readonly opts: GdbServerOptions;

  private constructor(opts: GdbServerOptions) {
    this.opts = opts;
    this.port = opts.port;
    this.srv = net.createServer((sock) => this.connection(sock));
  }

  static listen(opts: GdbServerOptions): Promise<GdbServer> {
    const s = new GdbServer(opts);
    return new Promise((resolve, reject) => {
      s.srv.once('error', (e: NodeJS.ErrnoException) =>
        reject(new Error(`--gdb ${opts.host}:${opts.port}: cannot listen (${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message})`)),
      );
      s.srv.listen(opts.port, opts.host, () => {
        s.port = (s.srv.address() as net.AddressInfo).port;
        resolve(s);
      });
    });
  }

  close(): void {
    this.client?.destroy();
    this.srv.close();
  }

  /**
   * RunConfig.debugLoop: serve gdb on this machine until the run ends (resolves with its stop)
   * or a fresh machine is needed (rejects with RestartMachine). The first machine waits for gdb
   * before its first instruction.
   */
  drive(m: Machine, step: (pauseAt: number) => StopInfo | null, state: object[] = []): Promise<StopInfo> {
    this.target.attach(m, step);
    const so = this.opts.snapshots;
    this.target.snapshots =
      so && this.canReverse && !this.wroteState
        ? new Snapshots(m, {
            every: so.every,
            ...(so.budget !== undefined ? { budget: so.budget } : {}),
            ...(so.verify ? { verify: true } : {}),
            roots: state,
            exclude: [this.target.points],
            participants: [this.target.participant, ...(so.participants ?? [])],
          })
        : undefined;
    const done = new Promise<StopInfo>((resolve, reject) => {
      this.finish = resolve;
      this.abort = reject;
    });
    const cont = this.pending;
    this.pending = undefined;
    if (cont) this.serial(cont);
    else if (this.clientSeen && !this.client) this.serial(() => this.runFree());
    // A signal to bootscope ends the run even while it waits for gdb.
    const poll = setInterval(() => {
      const why = this.opts.interrupt?.();
      if (why === undefined) return;
      this.target.interruptRequested = true;
      this.end({ kind: 'interrupted', message: `interrupted by ${why} after ${m.scheduler.executed} instructions` });
    }, 200);
    return done.finally(() => clearInterval(poll));
  }

  /**
   * Before gdb attaches (`--at`): move the first machine to event #seq, or to virtual time `time`
   * (the first moment a vCPU is about to run at or after it).
   */
  startAt(at: { seq: number } | { time: number }): void {
    if ('seq' in at) {
      this.quietMove = true; // no gdb asked: nothing to reply (gdb may attach while it runs)
      this.pending = this.eventMove(at.seq);
    } else this.pending = async () => void (await this.target.run({ time: at.time }, { stopAtPoints: false }));
  }

  /** The run is over (the guest stopped, gdb killed it, a signal): later moves do nothing. */
  private end(stop: StopInfo): void {
    this.target.ended ??= stop;
    this.finish?.(stop);
  }

  private get canReverse(): boolean {
    return this.opts.mode === 'debug';
  }

  private connection(sock: net.Socket): void {
    const who = `${sock.remoteAddress}:${sock.remotePort}`;
    if (this.client) {
      // One debugger at a time: the second one is told why, in the protocol and on our stderr.
      const msg = 'bootscope: another gdb is already attached to this guest (one client at a time)';
      this.opts.log(`gdb: refused a second client from ${who}: one is already attached`);
      sock.once('data', () => sock.end('+' + frame(ERR(msg))));
      sock.setTimeout(2000, () => sock.destroy());
      sock.on('error', () => {});
      return;
    }
    this.client = sock;
    this.clientSeen = true;
    this.target.snapshotsPaused = false;
    this.reader = new PacketReader();
    this.noAck = false;
    this.opts.log(`gdb: client ${who} attached`);
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      for (const inc of this.reader.push(d)) this.incoming(inc);
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      if (this.client !== sock) return;
      this.client = undefined;
      this.opts.log('gdb: client went away; the run continues without breakpoints to its end');
      if (!this.running) this.serial(() => this.runFree());
    });
  }

  private incoming(inc: Incoming): void {
    if (inc.kind === 'ack') return;
    if (inc.kind === 'interrupt') {
      // a stop asked for while running, or right behind the resume packet (same read): honoured;
      // while stopped it means nothing (gdb's all-stop)
      if (this.running || this.resumesQueued > 0) this.target.interruptRequested = true;
      return;
    }
    if (inc.kind === 'bad') {
      if (!this.noAck && inc.raw.startsWith('$')) this.client?.write('-');
      this.opts.log(`gdb: ignored a malformed packet (${JSON.stringify(inc.raw.slice(0, 40))})`);
      return;
    }
    if (!this.noAck) this.client?.write('+');
    const data = inc.data;
    const resumes = /^([cCsS]|vCont;)/.test(data);
    if (resumes) this.resumesQueued++;
    this.serial(async () => {
      if (resumes) this.resumesQueued--;
      await this.handle(data);
    });
  }

  /** Packets are handled one after the other, each to its end (a resume ends with its stop reply). */
  private serial(fn: () => Promise<void> | void): void {
    this.queue = this.queue.then(fn).catch((e: unknown) => {
      this.opts.log(`gdb: internal error: ${(e as Error).message}`);
      this.send(ERR((e as Error).message));
    });
  }

  private send(data: string): void {
    this.client?.write(frame(data));
  }

  private async handle(p: string): Promise<void> {
    const reply = await this.dispatch(p);
    if (reply !== null) this.send(reply);
  }

  /** The reply to one packet; null when the reply is sent later (resumes) or not at all. */
  private async dispatch(p: string): Promise<string | null> {
    const t = this.target;
    const c = p[0];
    if (p.startsWith('qSupported')) {
      return [
        'PacketSize=20000',
        'qXfer:features:read+',
        'QStartNoAckMode+',
        'swbreak+',
        'hwbreak+',
        'vContSupported+',
        ...(this.canReverse ? ['ReverseStep+', 'ReverseContinue+'] : []),
      ].join(';');
    }
    if (p === 'QStartNoAckMode') {
      this.send('OK');
      this.noAck = true;
      return null;
    }
    if (p.startsWith('qXfer:features:read:')) return this.xfer(p.slice('qXfer:features:read:'.length));
    if (p === '?') return this.stopReply({ kind: 'point', vcpu: t.vcpu });
    if (p === 'qAttached') return '1';
    if (p === 'qC') return `QC${(t.vcpu + 1).toString(16)}`;
    if (p === 'qfThreadInfo') return 'm' + t.cpus.map((_, i) => (i + 1).toString(16)).join(',');
    if (p === 'qsThreadInfo') return 'l';
    if (p.startsWith('qThreadExtraInfo,')) {
      const v = this.vcpuOf(p.slice(17));
      if (v === undefined) return 'E01';
      return toHex(`cpu${v} ${t.m.scheduler.state[v]} EL${t.cpus[v]!.el}`);
    }
    if (p.startsWith('qRcmd,')) return this.monitor(fromHex(p.slice(6)));
    if (c === 'H') return this.setThread(p);
    if (c === 'T') return this.vcpuOf(p.slice(1)) !== undefined ? 'OK' : 'E01';
    if (p === 'g') return REGS.map((_, i) => regHex(t.cpus[this.gVcpu]!, i)).join('');
    if (c === 'p') return this.readRegister(p.slice(1));
    if (c === 'P') return this.writeRegister(p.slice(1));
    if (c === 'G') return this.writesAllowed() ?? ERR('writing all registers at once is not supported; set them one by one');
    if (c === 'm') return this.readMem(p.slice(1));
    if (c === 'M') return this.writeMem(p.slice(1));
    if (c === 'Z' || c === 'z') return this.point(p);
    if (p === 'vCont?') return 'vCont;c;C;s;S';
    if (p.startsWith('vCont;')) return this.vCont(p.slice(6));
    if (c === 'c' || c === 'C') return this.resume(undefined);
    if (c === 's' || c === 'S') return this.resume(this.cVcpu >= 0 ? this.cVcpu : t.vcpu);
    if (p === 'bs' || p === 'bc') {
      if (!this.canReverse) return ERR('reverse execution needs a recording: bootscope debug TRACE');
      if (this.snapshotsUsable) {
        await this.reverseFromSnapshots(p === 'bs');
        return null;
      }
      return this.reverse(p === 'bs');
    }
    if (c === 'D') {
      this.send('OK');
      this.opts.log('gdb: detached; the run continues without breakpoints to its end');
      this.client?.end();
      this.client = undefined;
      await this.runFree();
      return null;
    }
    if (p === 'k' || p.startsWith('vKill')) {
      this.opts.log('gdb: killed by gdb; the run stops here');
      if (p.startsWith('vKill')) this.send('OK');
      this.client?.end();
      this.client = undefined;
      this.end({ kind: 'stopped', message: 'killed by gdb' });
      return null;
    }
    if (p.startsWith('vMustReplyEmpty')) return '';
    return ''; // unknown or unsupported: the empty reply (GDB manual, "Standard Replies")
  }

  private xfer(args: string): string {
    const m = /^([^:]+):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(args);
    if (!m) return 'E01';
    if (m[1] !== 'target.xml') return 'E00';
    const xml = targetXml();
    const off = parseInt(m[2]!, 16),
      len = parseInt(m[3]!, 16);
    const part = xml.slice(off, off + len);
    return (off + len >= xml.length ? 'l' : 'm') + escape(part);
  }

  private vcpuOf(tid: string): number | undefined {
    if (!/^-?[0-9a-fA-F]+$/.test(tid)) return undefined;
    const n = parseInt(tid, 16);
    return n >= 1 && n <= this.target.cpus.length ? n - 1 : undefined;
  }

  private setThread(p: string): string {
    const op = p[1],
      tid = p.slice(2);
    const v = tid === '0' || tid === '-1' ? -1 : this.vcpuOf(tid);
    if (v === undefined || (op !== 'g' && op !== 'c')) return 'E01';
    if (op === 'g') this.gVcpu = v < 0 ? this.target.vcpu : v;
    else this.cVcpu = v;
    return 'OK';
  }

  private readRegister(arg: string): string {
    const n = parseInt(arg, 16);
    if (!Number.isInteger(n) || n < 0 || n >= REGS.length) return 'E01';
    return regHex(this.target.cpus[this.gVcpu]!, n);
  }

  private writesAllowed(): string | undefined {
    if (this.opts.mode === 'debug' && !this.opts.allowWrites)
      return ERR('bootscope debug replays a recording: writes are refused (start it with --allow-writes to leave the recording)');
    if (!this.wroteState && this.opts.mode === 'debug') {
      this.wroteState = true;
      this.target.snapshots = undefined; // they hold the recorded run, which this one no longer is
      this.opts.log('gdb: a write to the guest: this session has left the recording (later events may differ from it)');
    }
    return undefined;
  }

  private writeRegister(arg: string): string {
    const m = /^([0-9a-fA-F]+)=([0-9a-fA-F]+)$/.exec(arg);
    if (!m) return 'E01';
    const refused = this.writesAllowed();
    if (refused) return refused;
    const n = parseInt(m[1]!, 16);
    if (n >= REGS.length || !writeReg(this.target.cpus[this.gVcpu]!, n, fromLeHex(m[2]!)))
      return ERR(`register ${REGS[n]?.name ?? n} cannot be written`);
    return 'OK';
  }

  private readMem(arg: string): string {
    const m = /^([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(arg);
    if (!m) return 'E01';
    const len = Math.min(parseInt(m[2]!, 16), 0x8000);
    const r = this.target.readMemory(this.gVcpu, BigInt('0x' + m[1]!), len);
    return typeof r === 'string' ? 'E14' : Buffer.from(r).toString('hex');
  }

  private writeMem(arg: string): string {
    const m = /^([0-9a-fA-F]+),([0-9a-fA-F]+):([0-9a-fA-F]*)$/.exec(arg);
    if (!m || m[3]!.length !== 2 * parseInt(m[2]!, 16)) return 'E01';
    const refused = this.writesAllowed();
    if (refused) return refused;
    const err = this.target.writeMemory(this.gVcpu, BigInt('0x' + m[1]!), Buffer.from(m[3]!, 'hex'));
    return err ? ERR(err) : 'OK';
  }

  /** Z/z type,addr,kind: breakpoints (0 software, 1 hardware) and watchpoints (2 write, 3 read, 4 access). */
  private point(p: string): string {
    const m = /^([Zz])([0-4]),([0-9a-fA-F]+),([0-9a-fA-F]+)/.exec(p);
    if (!m) return 'E01';
    const insert = m[1] === 'Z',
      type = Number(m[2]),
      addr = BigInt('0x' + m[3]!),
      len = parseInt(m[4]!, 16);
    const pts = this.target.points;
    if (type <= 1) {
      const lo = Number(addr & 0xffffffffn) | 0,
        hi = Number(addr >> 32n) | 0;
      const his = pts.bp.get(lo) ?? [];
      if (insert) {
        if (!his.includes(hi)) his.push(hi);
        pts.bp.set(lo, his);
        this.target.bpKinds.set(addr, type === 0 ? 'sw' : 'hw');
      } else {
        const rest = his.filter((h) => h !== hi);
        if (rest.length) pts.bp.set(lo, rest);
        else pts.bp.delete(lo);
        this.target.bpKinds.delete(addr);
      }
    } else {
      const kind = type === 2 ? 'write' : type === 3 ? 'read' : 'access';
      const end = addr + BigInt(Math.max(1, len));
      const i = pts.watch.findIndex((w) => w.start === addr && w.end === end && w.kind === kind);
      if (insert && i < 0) pts.watch.push({ start: addr, end, kind });
      if (!insert && i >= 0) pts.watch.splice(i, 1);
    }
    this.target.applyPoints(true);
    return 'OK';
  }

  private vCont(actions: string): Promise<string | null> | string {
    let stepVcpu: number | undefined;
    for (const a of actions.split(';')) {
      const [act, tid] = a.split(':');
      if (act === undefined || !/^([cs]|[CS][0-9a-fA-F]{2})$/.test(act)) return 'E01';
      if (act[0] === 's' || act[0] === 'S') {
        const v = tid === undefined || tid === '-1' ? this.target.vcpu : this.vcpuOf(tid);
        if (v === undefined) return 'E01';
        if (stepVcpu === undefined) stepVcpu = v;
      }
    }
    return this.resume(stepVcpu);
  }

  /** Continue (stepVcpu undefined) or step one instruction of a vCPU; the stop reply follows. */
  private async resume(stepVcpu: number | undefined): Promise<null> {
    const t = this.target;
    const point: DebugPoint | null = stepVcpu === undefined ? null : { vcpu: stepVcpu, instret: t.cpus[stepVcpu]!.instret + 1 };
    this.running = true;
    let h: Halt;
    try {
      h = await t.run(point, { stopAtPoints: true, skip: t.vcpu });
    } finally {
      this.running = false;
    }
    await this.halted(h);
    return null;
  }

  /** Tell gdb (or, with none attached, run on to the end). */
  private async halted(h: Halt): Promise<void> {
    if (!this.client) {
      if (h.kind === 'exited') this.end(h.stop);
      else await this.runFree();
      return;
    }
    this.send(this.stopReply(h));
    if (h.kind === 'exited') this.end(h.stop);
  }

  private stopReply(h: Halt | { kind: 'begin'; vcpu: number }): string {
    if (h.kind === 'exited') {
      this.send('O' + toHex(`bootscope: the guest stopped: ${h.stop.message}\n`));
      return 'W00';
    }
    this.gVcpu = h.vcpu;
    const th = `thread:${(h.vcpu + 1).toString(16)};`;
    switch (h.kind) {
      case 'interrupt':
        return `T02${th}`;
      case 'begin':
        return `T05replaylog:begin;${th}`;
      case 'point':
        return `T05${th}`;
      case 'hit': {
        const x = h.hit;
        if (x.kind === 'watchpoint') {
          const name = x.watch === 'write' ? 'watch' : x.watch === 'read' ? 'rwatch' : 'awatch';
          return `T05${name}:${x.addr.toString(16)};${th}`;
        }
        return `T05${this.target.bpKinds.get(x.addr) === 'hw' ? 'hwbreak' : 'swbreak'}:;${th}`;
      }
    }
  }

  /** No gdb any more: run to the end of the run without stopping, then end it. */
  private async runFree(): Promise<void> {
    this.target.snapshotsPaused = true; // no gdb to go back for
    const h = await this.target.run(null, { stopAtPoints: false });
    if (h.kind === 'exited') this.end(h.stop);
    else await this.runFree();
  }

  // ---- reverse execution (debug mode) --------------------------------------------------

  /** Go on with `cont` on a fresh machine, started from the beginning (drive() calls it). */
  private restart(cont: () => Promise<void>): void {
    this.pending = cont;
    // the old machine is done with: nothing may run it any more
    this.target.ended = { kind: 'stopped', message: 'replaced by a fresh machine' };
    this.abort?.(new RestartMachine());
  }

  /** Run a fresh machine to `pos` (breakpoints off), then reply. */
  private goTo(pos: DebugPoint, reply: (h: Halt) => string): void {
    this.restart(async () => {
      const h =
        pos.executed === 0 && pos.vcpu === 0 ? ({ kind: 'point', vcpu: 0 } as Halt) : await this.target.run(pos, { stopAtPoints: false });
      this.send(h.kind === 'exited' ? this.stopReply(h) : reply(h));
    });
  }

  /** Snapshots can take us back: there are some, and gdb has not changed the run (a write). */
  private get snapshotsUsable(): boolean {
    return this.target.snapshots !== undefined && !this.wroteState;
  }

  /** Restore the last snapshot before `point`: the run goes on from there (an end it reached is undone too). */
  private restoreBefore(point: DebugPoint & { events?: number }): ReturnType<Snapshots['restoreBefore']> {
    const p = this.target.snapshots!.restoreBefore(point);
    this.target.ended = undefined;
    return p;
  }

  /** Restore the last snapshot before `pos` and run to it (breakpoints off). */
  private async snapGoTo(pos: DebugPoint): Promise<Halt> {
    this.restoreBefore(pos);
    if (pos.executed === 0 && pos.vcpu === 0) return { kind: 'point', vcpu: 0 }; // the first snapshot is the start
    return this.target.run(pos, { stopAtPoints: false });
  }

  /**
   * bs/bc with snapshots. reverse-continue scans back one snapshot interval at a time: from the
   * last snapshot before the end of the interval, noting every breakpoint and watchpoint hit up to
   * that end; the last hit of the latest interval that has one is where it stops.
   */
  private async reverseFromSnapshots(step: boolean): Promise<void> {
    const t = this.target;
    const here: Position = t.position();
    const begin = (): string => this.stopReply({ kind: 'begin', vcpu: 0 });
    if (step) {
      const v = this.cVcpu >= 0 ? this.cVcpu : t.vcpu;
      const before = t.cpus[v]!.instret - 1;
      if (before < 0) {
        await this.snapGoTo({ executed: 0, vcpu: 0 });
        this.send(begin());
      } else this.send(this.stopReply(await this.snapGoTo({ vcpu: v, instret: before })));
      return;
    }
    let end: DebugPoint = { executed: here.executed, vcpu: here.vcpu };
    for (;;) {
      const from = this.restoreBefore({ executed: end.executed! });
      const hits: { pos: Position; halt: Halt }[] = [];
      await t.run(end, {
        stopAtPoints: true,
        onHit: (h) => {
          hits.push({ pos: t.position(), halt: h });
          return false;
        },
      });
      const last = hits.at(-1);
      if (last) {
        const h = await this.snapGoTo({ executed: last.pos.executed, vcpu: last.pos.vcpu });
        this.send(h.kind === 'exited' ? this.stopReply(h) : this.stopReply(last.halt));
        return;
      }
      if (from.executed === 0) {
        await this.snapGoTo({ executed: 0, vcpu: 0 });
        this.send(begin());
        return;
      }
      end = { executed: from.executed };
    }
  }

  private reverse(step: boolean): null {
    const t = this.target;
    const here: Position = t.position();
    const begin = (): string => this.stopReply({ kind: 'begin', vcpu: 0 });
    if (step) {
      const v = this.cVcpu >= 0 ? this.cVcpu : t.vcpu;
      const before = t.cpus[v]!.instret - 1;
      if (before < 0) this.goTo({ executed: 0, vcpu: 0 }, begin);
      else this.goTo({ vcpu: v, instret: before }, (h) => this.stopReply(h));
      return null;
    }
    // reverse-continue: run from the start to here, noting every breakpoint and watchpoint hit;
    // then run a fresh machine to the last one.
    this.restart(async () => {
      const hits: { pos: Position; halt: Halt }[] = [];
      await t.run(
        { executed: here.executed, vcpu: here.vcpu },
        {
          stopAtPoints: true,
          onHit: (h) => {
            hits.push({ pos: t.position(), halt: h });
            return false;
          },
        },
      );
      const last = hits.at(-1);
      if (!last) this.goTo({ executed: 0, vcpu: 0 }, begin);
      else this.goTo({ executed: last.pos.executed, vcpu: last.pos.vcpu }, () => this.stopReply(last.halt));
    });
    return null;
  }

  // ---- monitor ----------------------------------------------------------------------------

  private monitor(cmd: string): string | null {
    const host: MonitorHost = {
      target: this.target,
      vcpu: this.gVcpu,
      ...(this.opts.trace ? { trace: this.opts.trace } : {}),
      toEvent: (seq) => this.toEvent(seq),
    };
    const r = monitorCommand(cmd, host);
    if (r === null) return null; // a move: the reply comes from the fresh machine
    // gdb reads any reply to qRcmd but OK and O… as hex output (an E.message reply would print
    // "Invalid hex digit"): the error is said as output; E01 makes gdb fail the command
    if (r.error) {
      this.monitorError(r.error);
      return null;
    }
    if (r.text) this.send('O' + toHex(r.text.endsWith('\n') ? r.text : r.text + '\n'));
    return 'OK';
  }

  /**
   * Move to the moment of event #seq: a first fresh machine finds where the event happens (which
   * vCPU, at what time, inside an instruction or not), a second one runs to just before the
   * instruction that caused it (or just after an event no instruction caused, e.g. a timer).
   */
  private toEvent(seq: number): void {
    this.serial(this.eventMove(seq));
  }

  /**
   * Move to event #seq. When the recording says the event is still ahead, the machine runs
   * forward to it in place (one pass: the event's vCPU and time are in the recording); else, or
   * if that lands elsewhere, the exact two-pass move on fresh machines (toEventCont).
   */
  private eventMove(seq: number): () => Promise<void> {
    const t = this.target;
    return async () => {
      const e = this.opts.trace?.event(seq);
      const pos = e ? pointOf(e) : undefined;
      if (pos && seq >= t.events && pos.time! > t.m.scheduler.now()) {
        const h = await t.run(pos, { stopAtPoints: false });
        if (h.kind === 'point' && t.events === seq) {
          this.atEvent(seq, h);
          return;
        }
      }
      if (this.snapshotsUsable) {
        await this.toEventFromSnapshots(seq);
        return;
      }
      this.opts.log(`gdb: event #${seq} is behind: replaying from the start to reach it`);
      this.restart(this.toEventCont(seq));
    };
  }

  /**
   * The exact move to event #seq: a first fresh machine finds where the event happens (which
   * vCPU, at what time, inside an instruction or not), a second one runs to just before the
   * instruction that caused it (or just after an event no instruction caused, e.g. a timer).
   */
  private toEventCont(seq: number): () => Promise<void> {
    const t = this.target;
    return async () => {
      const pos = await this.findEvent(seq);
      if (!pos) {
        this.monitorError(`the replay ended before event #${seq}`);
        return;
      }
      this.restart(async () => {
        const h = await t.run(pos, { stopAtPoints: false });
        if (h.kind === 'exited') this.monitorError(`the replay ended before event #${seq}`);
        else this.atEvent(seq, h);
      });
    };
  }

  /**
   * The exact move to event #seq from snapshots: from the last snapshot before the event, find
   * where it happens (as toEventCont does), then from the last snapshot before that moment, run to it.
   */
  private async toEventFromSnapshots(seq: number): Promise<void> {
    const t = this.target;
    this.restoreBefore({ events: seq });
    const pos = await this.findEvent(seq);
    if (!pos) {
      this.monitorError(`the replay ended before event #${seq}`);
      return;
    }
    this.restoreBefore(pos);
    const h = await t.run(pos, { stopAtPoints: false });
    if (h.kind === 'exited') this.monitorError(`the replay ended before event #${seq}`);
    else this.atEvent(seq, h);
  }

  /**
   * Runs on from here until event #seq is recorded and returns the moment it happened (undefined
   * when the replay ends first): inside an instruction, the event's time counts that instruction;
   * an interrupt taken between instructions counts none.
   */
  private async findEvent(seq: number): Promise<DebugPoint | undefined> {
    const t = this.target;
    let found: DebugPoint | undefined;
    t.onEvent = (q, ev) => {
      if (q !== seq || found) return;
      const s = t.m.scheduler;
      found = s.current >= 0 ? { vcpu: s.current, time: ev.kind === 'irq_deliver' ? s.now() : s.now() - 1 } : { time: s.now() };
      s.debugPoint = {};
    };
    try {
      await t.run(null, { stopAtPoints: false });
    } finally {
      t.onEvent = undefined;
    }
    return found;
  }

  /** A monitor command failed: the reason as gdb's console output, then an error reply. */
  private monitorError(msg: string): void {
    if (this.quietMove) {
      this.quietMove = false;
      this.opts.log(`gdb: ${msg}`);
      return;
    }
    this.send('O' + toHex(`bootscope: ${msg}\n`));
    this.send('E01');
  }

  /** Arrived at event #seq: say where (console output of the monitor command), then OK. */
  private atEvent(seq: number, h: Halt): void {
    const t = this.target;
    t.atEvent = seq;
    if (h.kind !== 'exited') this.gVcpu = h.vcpu;
    if (this.quietMove) {
      this.quietMove = false; // --at: the move was not a gdb command; gdb's packets waited for it
      this.opts.log(`gdb: at event #${seq}: ${this.describeHalt(h)}`);
      return;
    }
    const e = this.opts.trace?.event(seq);
    this.send('O' + toHex(`${e ? formatEventLine(e) : `event #${seq}`}\n${this.describeHalt(h)}\n`));
    this.send('OK');
  }

  private describeHalt(h: Halt): string {
    const t = this.target;
    if (h.kind === 'exited') return `the guest stopped: ${h.stop.message}`;
    const cpu = t.cpus[h.vcpu]!;
    return `cpu${h.vcpu} at pc 0x${cpu.pc.toString(16)}, event #${t.events} next, time ${t.m.scheduler.now()}`;
  }
}

/**
 * Where a recorded event happens, from its fields alone: an event a vCPU's instruction caused
 * (MMIO, hypercall, system register, synchronous exception) is reached just before that
 * instruction (its time counts the instruction); an interrupt taken, a WFI/WFE wake-up, or an
 * event of no vCPU (a device's deadline) at its time.
 */
function pointOf(e: TraceEvent): DebugPoint {
  if (e.vcpu < 0) return { time: e.time };
  if (e.kind === 'irq_deliver' || e.kind === 'wfx') return { vcpu: e.vcpu, time: e.time };
  return { vcpu: e.vcpu, time: e.time - 1 };
}
