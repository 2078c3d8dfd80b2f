// xenstored's message layer (process_message and the do_* handlers of Xen 4.17's C xenstored):
// one request of the wire protocol (io/xs_wire.h) in, one reply out, against the database in
// xenstore.ts. Used by the domU's ring connection (xenstore-ring.ts) and, through the same entry
// point, by the emulated backends (privileged dom0 connections), so both are answered and recorded
// the same way. Replies: the operation's type with its payload, or XS_ERROR with the errno name.

import {
  XENSTORE_PAYLOAD_MAX,
  XENSTORE_REL_PATH_MAX,
  XS_PERM,
  XS_TYPE,
  XS_TYPE_COUNT,
  xsTypeName,
  type XsError,
} from '../../../arch/hypercalls/xen-io.ts';
import {
  homePath,
  parentOf,
  parsePerms,
  permString,
  XS_QUOTA,
  type XenStoreDb,
  type XsCaller,
  type XsConnection,
  type XsTransaction,
  type XsWatch,
} from './xenstore.ts';

const enc = new TextEncoder();
const dec = new TextDecoder('latin1');
const OK = enc.encode('OK\0');

export interface XsRequest {
  type: number;
  reqId: number;
  txId: number;
  payload: Uint8Array;
}

export interface XsReply {
  type: number;
  payload: Uint8Array;
  /** What the trace records: the path named, the value or listing, the token, 'OK' or the errno. */
  record: { op: string; path: string; data: Uint8Array; token: string; result: string };
  /** A watch the request registered: xenstored fires it once, right after the reply. */
  registered?: XsWatch;
}

/** Types only dom0 may send (XS_FLAG_PRIV). */
const PRIVILEGED = new Set<number>([
  XS_TYPE.CONTROL,
  XS_TYPE.INTRODUCE,
  XS_TYPE.RELEASE,
  XS_TYPE.IS_DOMAIN_INTRODUCED,
  XS_TYPE.RESUME,
  XS_TYPE.SET_TARGET,
]);
/** Types that ignore the transaction id (XS_FLAG_NOTID). */
const NO_TX = new Set<number>([XS_TYPE.WATCH, XS_TYPE.UNWATCH]);

/** The NUL-terminated strings of a payload; bytes after the last NUL are not a string (get_strings). */
function strings(p: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) {
      out.push(dec.decode(p.subarray(start, i)));
      start = i + 1;
    }
  }
  return out;
}

/** onearg(): exactly one string, its NUL the last byte. */
function oneArg(p: Uint8Array): string | undefined {
  if (p.length === 0 || p.indexOf(0) !== p.length - 1) return undefined;
  return dec.decode(p.subarray(0, p.length - 1));
}

const cstr = (s: string): Uint8Array => enc.encode(s + '\0');
const joinNul = (list: readonly string[]): Uint8Array => enc.encode(list.map((s) => s + '\0').join(''));

interface Ctx {
  db: XenStoreDb;
  conn: XsConnection;
  caller: XsCaller;
  req: XsRequest;
  rec: XsReply['record'];
  registered?: XsWatch;
}

type Handler = (x: Ctx) => Uint8Array | XsError;

/** Process one request for a connection (process_message). */
export function processRequest(db: XenStoreDb, conn: XsConnection, req: XsRequest): XsReply {
  const rec = { op: xsTypeName(req.type) || `type ${req.type}`, path: '', data: new Uint8Array(0), token: '', result: 'OK' };
  const reply = (type: number, payload: Uint8Array): XsReply => {
    if (payload.length > XENSTORE_PAYLOAD_MAX) return error('E2BIG');
    return { type, payload, record: rec };
  };
  const error = (err: XsError): XsReply => {
    rec.result = err;
    return { type: XS_TYPE.ERROR, payload: cstr(err), record: rec };
  };
  const handler = req.type < XS_TYPE_COUNT ? HANDLERS[req.type] : undefined;
  if (!handler) return error('ENOSYS');
  if (PRIVILEGED.has(req.type) && !conn.privileged) return error('EACCES');
  let tx: XsTransaction | undefined;
  if (!NO_TX.has(req.type) && req.txId !== 0) {
    tx = conn.transactions.get(req.txId);
    if (!tx) return error('ENOENT');
  }
  const x: Ctx = { db, conn, caller: { conn, tx }, req, rec };
  const out = handler(x);
  if (typeof out === 'string') return error(out);
  const r = reply(req.type, out);
  return x.registered && r.type !== XS_TYPE.ERROR ? { ...r, registered: x.registered } : r;
}

// ---- handlers (do_*) -----------------------------------------------------------------------

function nodeFor(x: Ctx, raw: string | undefined, want: number) {
  if (raw === undefined) return { path: '', res: { ok: false as const, err: 'EINVAL' as XsError } };
  const path = x.db.canonical(x.conn, raw);
  x.rec.path = path;
  return { path, res: x.db.getNode(x.caller, path, want) };
}

function doRead(x: Ctx): Uint8Array | XsError {
  const { res } = nodeFor(x, oneArg(x.req.payload), XS_PERM.READ);
  if (!res.ok) return res.err;
  x.rec.data = res.value.data;
  return res.value.data;
}

function doDirectory(x: Ctx): Uint8Array | XsError {
  const { res } = nodeFor(x, oneArg(x.req.payload), XS_PERM.READ);
  if (!res.ok) return res.err;
  const list = joinNul(res.value.children);
  x.rec.data = list;
  return list;
}

/** XS_DIRECTORY_PART: path, offset into the child list → generation, then as many names as fit. */
function doDirectoryPart(x: Ctx): Uint8Array | XsError {
  const args = strings(x.req.payload);
  if (args.length !== 2) return 'EINVAL';
  const { res } = nodeFor(x, args[0], XS_PERM.READ);
  if (!res.ok) return res.err;
  const all = joinNul(res.value.children);
  const off = Number.parseInt(args[1]!, 10) || 0;
  const gen = cstr(String(res.value.generation));
  let out: Uint8Array;
  if (off >= all.length) out = new Uint8Array([...gen, 0]);
  else {
    const max = XENSTORE_PAYLOAD_MAX - gen.length - 1;
    let len = 0;
    while (off + len < all.length) {
      const end = all.indexOf(0, off + len);
      const n = end - (off + len);
      if (len + n >= max) break;
      len += n + 1;
    }
    const last = off + len === all.length;
    out = new Uint8Array(gen.length + len + (last ? 1 : 0));
    out.set(gen);
    out.set(all.subarray(off, off + len), gen.length);
  }
  x.rec.data = out;
  return out;
}

function doWrite(x: Ctx): Uint8Array | XsError {
  const p = x.req.payload;
  const nul = p.indexOf(0);
  if (nul < 0) return 'EINVAL';
  const data = p.slice(nul + 1);
  x.rec.data = data;
  const { path, res } = nodeFor(x, dec.decode(p.subarray(0, nul)), XS_PERM.WRITE);
  let done;
  if (res.ok) done = x.db.setData(x.caller, path, res.value, data);
  else if (res.err === 'ENOENT') done = x.db.create(x.caller, path, data);
  else return res.err;
  if (!done.ok) return done.err;
  x.db.fire(x.caller, path, done.value, false, undefined);
  return OK;
}

function doMkdir(x: Ctx): Uint8Array | XsError {
  const { path, res } = nodeFor(x, oneArg(x.req.payload), XS_PERM.WRITE);
  if (res.ok) return OK;
  if (res.err !== 'ENOENT') return res.err;
  const made = x.db.create(x.caller, path, new Uint8Array(0));
  if (!made.ok) return made.err;
  x.db.fire(x.caller, path, made.value, false, undefined);
  return OK;
}

function doRm(x: Ctx): Uint8Array | XsError {
  const { path, res } = nodeFor(x, oneArg(x.req.payload), XS_PERM.WRITE);
  if (!res.ok) {
    // Removing what is not there is fine when its parent exists.
    if (res.err === 'ENOENT' && x.db.read(x.caller, parentOf(path))) return OK;
    return res.err;
  }
  if (path === '/') return 'EINVAL';
  const r = x.db.removeTree(x.caller, path);
  return r.ok ? OK : r.err;
}

function doGetPerms(x: Ctx): Uint8Array | XsError {
  const { res } = nodeFor(x, oneArg(x.req.payload), XS_PERM.READ);
  if (!res.ok) return res.err;
  const list = joinNul(res.value.perms.map(permString));
  x.rec.data = list;
  return list;
}

function doSetPerms(x: Ctx): Uint8Array | XsError {
  const args = strings(x.req.payload);
  if (args.length < 2) return 'EINVAL';
  x.rec.data = joinNul(args.slice(1));
  if (!x.conn.privileged && args.length - 1 > XS_QUOTA.perms) return 'ENOSPC';
  const perms = parsePerms(args.slice(1));
  if (!perms) return 'EINVAL';
  const name = args[0]!;
  if (name.startsWith('@')) {
    x.rec.path = name;
    const cur = x.db.specialPerms(name);
    if (!cur) return 'EINVAL';
    const need = XS_PERM.WRITE | XS_PERM.OWNER;
    if ((x.db.permFor(x.conn, cur) & need) !== need) return 'EACCES';
    x.db.setSpecialPerms(name, perms);
    return OK;
  }
  const { path, res } = nodeFor(x, name, XS_PERM.WRITE | XS_PERM.OWNER);
  if (!res.ok) return res.err;
  if (!x.conn.privileged && perms[0]!.id !== res.value.perms[0]!.id) return 'EPERM';
  const done = x.db.setPerms(x.caller, path, res.value, perms);
  if (!done.ok) return done.err;
  x.db.fire(x.caller, path, done.value, false, res.value.perms);
  return OK;
}

/** check_watch_path(): '@' names are taken as they are; others canonical and valid. */
function watchTarget(x: Ctx, raw: string): { path: string; relative: boolean } | undefined {
  if (raw.startsWith('@')) return raw.length > XENSTORE_REL_PATH_MAX ? undefined : { path: raw, relative: false };
  const path = x.db.canonical(x.conn, raw);
  return x.db.validPath(path) ? { path, relative: !raw.startsWith('/') } : undefined;
}

function doWatch(x: Ctx): Uint8Array | XsError {
  const args = strings(x.req.payload);
  if (args.length !== 2) return 'EINVAL';
  x.rec.token = args[1]!;
  const t = watchTarget(x, args[0]!);
  x.rec.path = t?.path ?? args[0]!;
  if (!t) return 'EINVAL';
  if (x.conn.watches.some((w) => w.path === t.path && w.token === args[1])) return 'EEXIST';
  if (x.conn.watches.length > XS_QUOTA.watches) return 'E2BIG';
  const w = { path: t.path, token: args[1]!, relative: t.relative };
  x.conn.watches.push(w);
  x.registered = w;
  return OK;
}

function doUnwatch(x: Ctx): Uint8Array | XsError {
  const args = strings(x.req.payload);
  if (args.length !== 2) return 'EINVAL';
  x.rec.token = args[1]!;
  const path = x.db.canonical(x.conn, args[0]!);
  x.rec.path = path;
  const i = x.conn.watches.findIndex((w) => w.path === path && w.token === args[1]);
  if (i < 0) return 'ENOENT';
  x.conn.watches.splice(i, 1);
  return OK;
}

function doTransactionStart(x: Ctx): Uint8Array | XsError {
  // No nested transactions: a start sent inside one is refused.
  if (x.caller.tx) return 'EBUSY';
  const r = x.db.startTransaction(x.conn);
  if (!r.ok) return r.err;
  const id = cstr(String(r.value.id));
  x.rec.data = id;
  return id;
}

function doTransactionEnd(x: Ctx): Uint8Array | XsError {
  const arg = oneArg(x.req.payload);
  x.rec.data = x.req.payload.slice();
  if (arg !== 'T' && arg !== 'F') return 'EINVAL';
  const tx = x.caller.tx;
  if (!tx) return 'ENOENT';
  if (arg === 'F') {
    x.db.abort(x.conn, tx);
    return OK;
  }
  const r = x.db.commit(x.conn, tx);
  return r.ok ? OK : r.err;
}

function doResetWatches(x: Ctx): Uint8Array | XsError {
  x.conn.watches.length = 0;
  x.conn.transactions.clear();
  return OK;
}

function doGetDomainPath(x: Ctx): Uint8Array | XsError {
  const arg = oneArg(x.req.payload);
  if (arg === undefined) return 'EINVAL';
  const domid = Number.parseInt(arg, 10) || 0;
  const path = cstr(homePath(domid >>> 0));
  x.rec.path = arg;
  x.rec.data = path;
  return path;
}

/** Privileged requests the emulated dom0 never needs: accepted checks, then "not provided". */
const notProvided: Handler = () => 'ENOSYS';

const HANDLERS: readonly (Handler | undefined)[] = (() => {
  const h: (Handler | undefined)[] = [];
  h[XS_TYPE.CONTROL] = notProvided;
  h[XS_TYPE.DIRECTORY] = doDirectory;
  h[XS_TYPE.READ] = doRead;
  h[XS_TYPE.GET_PERMS] = doGetPerms;
  h[XS_TYPE.WATCH] = doWatch;
  h[XS_TYPE.UNWATCH] = doUnwatch;
  h[XS_TYPE.TRANSACTION_START] = doTransactionStart;
  h[XS_TYPE.TRANSACTION_END] = doTransactionEnd;
  h[XS_TYPE.INTRODUCE] = notProvided;
  h[XS_TYPE.RELEASE] = notProvided;
  h[XS_TYPE.GET_DOMAIN_PATH] = doGetDomainPath;
  h[XS_TYPE.WRITE] = doWrite;
  h[XS_TYPE.MKDIR] = doMkdir;
  h[XS_TYPE.RM] = doRm;
  h[XS_TYPE.SET_PERMS] = doSetPerms;
  h[XS_TYPE.IS_DOMAIN_INTRODUCED] = notProvided;
  h[XS_TYPE.RESUME] = notProvided;
  h[XS_TYPE.SET_TARGET] = notProvided;
  h[XS_TYPE.RESET_WATCHES] = doResetWatches;
  h[XS_TYPE.DIRECTORY_PART] = doDirectoryPart;
  return h;
})();
