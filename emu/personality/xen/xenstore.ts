// The xenstore database as Xen 4.17's C xenstored keeps it: a tree of nodes with a value, ordered
// children and a permission list, a global generation count, per-connection transactions that
// fail with EAGAIN when a node they touched changed meanwhile, and watches (docs/xen.md
// "xenstore"). The rules are xenstored's (tools/xenstore/xenstored_core.c, _transaction.c,
// _watch.c, _domain.c of 4.17), described in docs/xen.md in our own words:
//
// - Permissions: the first entry names the owner and what everyone else may do; later entries
//   grant a domain read, write or both. Owners and privileged connections (dom0) may do anything.
//   A missing node answers ENOENT only when the caller could have known: otherwise EACCES.
// - Unprivileged connections own the nodes they create; quotas: 1000 nodes per domain, 2048
//   bytes per node record, 128 watches, 10 transactions, 5 permissions per node.
// - A watch fires once when registered, then for every change at or below its path that the
//   watcher may read (or may have read before a permission change); deletions fire exactly on
//   each removed descendant. Changes made in a transaction fire when it commits.
//
// Operations never throw on guest input: every failure is an errno name (XsError).

import { XS_PERM, type XsError } from '../../../arch/hypercalls/xen-io.ts';

export interface XsPerm {
  id: number;
  /** XS_PERM bits: READ 1, WRITE 2. */
  perms: number;
}

export interface XsNode {
  readonly data: Uint8Array;
  /** Child names, in creation order (xenstored's childlist). */
  readonly children: readonly string[];
  /** [0] is the owner and the default for others; [1..] per-domain grants. */
  readonly perms: readonly XsPerm[];
  readonly generation: number;
}

/** What a watch event is delivered to: the domU's ring connection or an emulated backend. */
export interface XsWatch {
  /** Canonical (absolute, or '@…') path watched. */
  readonly path: string;
  readonly token: string;
  /** The path the client gave was relative: events then name paths relative to its home. */
  readonly relative: boolean;
}

export interface XsConnection {
  readonly domid: number;
  /** dom0 (the toolstack and the backends): every permission, no quotas. */
  readonly privileged: boolean;
  readonly watches: XsWatch[];
  readonly transactions: Map<number, XsTransaction>;
  nextTxId: number;
  /** Queue a watch event (path as the watcher sees it, token). */
  deliver(path: string, token: string, watch: XsWatch): void;
}

interface Access {
  /** Generation when first touched (NO_GENERATION when absent). */
  generation: number;
  /** Permissions the node had then (for watch checks after a delete). */
  perms: readonly XsPerm[] | undefined;
}

export class XsTransaction {
  readonly id: number;
  /** Nodes written (a node) or deleted (null) in the transaction. */
  readonly overlay = new Map<string, XsNode | null>();
  readonly accessed = new Map<string, Access>();
  /** Paths whose watches fire at commit, exact or not. */
  readonly fire = new Map<string, boolean>();
  /** The transaction could not record something (quota): committing it fails. */
  failed = false;
  constructor(id: number) {
    this.id = id;
  }
}

/** The caller of an operation: its connection and, inside a transaction, that transaction. */
export interface XsCaller {
  conn: XsConnection;
  tx: XsTransaction | undefined;
}

export type XsResult<T> = { ok: true; value: T } | { ok: false; err: XsError };
const ok = <T>(value: T): XsResult<T> => ({ ok: true, value });
const fail = <T>(err: XsError): XsResult<T> => ({ ok: false, err });

const NO_GENERATION = -1;
export const XS_QUOTA = {
  entries: 1000,
  entrySize: 2048,
  watches: 128,
  transactions: 10,
  perms: 5,
  transactionNodes: 1024,
  pathLen: 2048,
} as const;
const ALL = XS_PERM.READ | XS_PERM.WRITE | XS_PERM.OWNER;
/** xs_tdb_record_hdr (generation u64, num_perms, datalen, childlen u32) padded to 8, then 8 bytes per permission. */
const RECORD_HEADER = 24;
const PERM_SIZE = 8;
const VALID_CHARS = /^[A-Za-z0-9\-/_@]*$/;
const enc = new TextEncoder();

export function homePath(domid: number): string {
  return `/local/domain/${domid}`;
}

/** Parent of an absolute path ("/" for top-level nodes). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

const childPath = (parent: string, name: string): string => (parent === '/' ? `/${name}` : `${parent}/${name}`);
const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** Is `child` the node `parent` or below it? ("/" contains everything.) */
function isChild(child: string, parent: string): boolean {
  if (parent === '/') return true;
  return child === parent || (child.startsWith(parent) && child[parent.length] === '/');
}

/** The letter form of a permission entry: n, r, w or b followed by the domain id. */
export function permString(p: XsPerm): string {
  const letter = ['n', 'r', 'w', 'b'][p.perms & 3]!;
  return `${letter}${p.id}`;
}

/** Parse "r1"-style permission strings (xs_strings_to_perms); undefined on a bad one. */
export function parsePerms(strings: readonly string[]): XsPerm[] | undefined {
  const out: XsPerm[] = [];
  for (const s of strings) {
    const bits = { n: 0, r: XS_PERM.READ, w: XS_PERM.WRITE, b: XS_PERM.READ | XS_PERM.WRITE }[s[0] ?? ''];
    if (bits === undefined) return undefined;
    const m = /^[+-]?\d*/.exec(s.slice(1))![0];
    const id = m === '' || m === '+' || m === '-' ? 0 : Number.parseInt(m, 10);
    out.push({ id: id >>> 0, perms: bits });
  }
  return out;
}

export class XenStoreDb {
  private readonly nodes = new Map<string, XsNode>();
  private generation = 0;
  /** Every connection, in the order they were introduced (watch events go out in this order). */
  readonly connections: XsConnection[] = [];
  /** Permissions of the special watch paths (@introduceDomain, @releaseDomain): dom0 only. */
  private readonly special = new Map<string, readonly XsPerm[]>([
    ['@introduceDomain', [{ id: 0, perms: 0 }]],
    ['@releaseDomain', [{ id: 0, perms: 0 }]],
  ]);

  constructor() {
    // setup_structure: the root and /tool, owned by dom0 with no access for others.
    const none = [{ id: 0, perms: 0 }];
    this.nodes.set('/', { data: new Uint8Array(0), children: ['tool'], perms: none, generation: ++this.generation });
    this.nodes.set('/tool', { data: new Uint8Array(0), children: [], perms: none, generation: ++this.generation });
  }

  /** The committed node at a path (no permission checks; for the toolstack, backends and tests). */
  peek(path: string): XsNode | undefined {
    return this.nodes.get(path);
  }

  /** Number of committed nodes. */
  get size(): number {
    return this.nodes.size;
  }

  // ---- paths and permissions -------------------------------------------------------------

  /** canonicalize(): paths not starting with '/' or '@' are relative to the caller's home. */
  canonical(conn: XsConnection, path: string): string {
    if (path.startsWith('/') || path.startsWith('@')) return path;
    return `${homePath(conn.domid)}/${path}`;
  }

  /** is_valid_nodename(): absolute, no trailing or double slash, allowed characters, bounded length. */
  validPath(path: string): boolean {
    if (!path.startsWith('/')) return false;
    if (path.endsWith('/') && path !== '/') return false;
    if (path.includes('//')) return false;
    const m = /^\/local\/domain\/(\d{1,5})\//.exec(path);
    const base = m ? m[0].length : 0;
    if (path.length > base + XS_QUOTA.pathLen) return false;
    return VALID_CHARS.test(path);
  }

  /** perm_for_conn(): what a connection may do with a node of these permissions. */
  permFor(conn: XsConnection, perms: readonly XsPerm[]): number {
    if (conn.privileged || perms[0]?.id === conn.domid) return ALL;
    for (let i = 1; i < perms.length; i++) if (perms[i]!.id === conn.domid) return perms[i]!.perms & ALL;
    return (perms[0]?.perms ?? 0) & ALL;
  }

  // ---- reading and writing through a caller (transaction-aware) -------------------------

  /** read_node(): the node as the caller's transaction sees it; records the access. */
  read(c: XsCaller, path: string): XsNode | undefined {
    const tx = c.tx;
    if (tx) {
      const mine = tx.overlay.get(path);
      if (mine !== undefined) return mine ?? undefined;
      this.touch(tx, path);
    }
    return this.nodes.get(path);
  }

  private touch(tx: XsTransaction, path: string): void {
    if (tx.accessed.has(path)) return;
    if (tx.accessed.size >= XS_QUOTA.transactionNodes) {
      tx.failed = true;
      return;
    }
    const n = this.nodes.get(path);
    tx.accessed.set(path, { generation: n ? n.generation : NO_GENERATION, perms: n?.perms });
  }

  /** The size xenstored accounts a node record at (quota_max_entry_size applies to it). */
  static recordSize(n: Pick<XsNode, 'data' | 'children' | 'perms'>): number {
    let size = RECORD_HEADER + PERM_SIZE * n.perms.length + n.data.length;
    for (const c of n.children) size += enc.encode(c).length + 1;
    return size;
  }

  /** write_node(): store a node (in the transaction, or globally with a new generation). */
  private store(c: XsCaller, path: string, n: Omit<XsNode, 'generation'>): XsResult<XsNode> {
    if (!c.conn.privileged && XenStoreDb.recordSize(n) >= XS_QUOTA.entrySize) return fail('ENOSPC');
    const node: XsNode = { ...n, generation: ++this.generation };
    if (c.tx) {
      this.touch(c.tx, path);
      c.tx.overlay.set(path, node);
    } else this.nodes.set(path, node);
    return ok(node);
  }

  private remove(c: XsCaller, path: string): void {
    if (c.tx) {
      this.touch(c.tx, path);
      c.tx.overlay.set(path, null);
    } else this.nodes.delete(path);
  }

  /** get_node(): the node if it exists and the caller has `want`; else ENOENT or EACCES as xenstored decides. */
  getNode(c: XsCaller, path: string, want: number): XsResult<XsNode> {
    if (!this.validPath(path)) return fail('EINVAL');
    const node = this.read(c, path);
    let err: XsError;
    if (node) {
      if ((this.permFor(c.conn, node.perms) & want) === want) return ok(node);
      err = 'EACCES';
    } else err = 'ENOENT';
    // errno_from_parents(): a caller the nearest existing ancestor does not let do `want` learns nothing.
    const parentPerm = this.ancestorPerm(c, path);
    return fail(parentPerm & want ? err : 'EACCES');
  }

  /** ask_parents(): the caller's permission on the nearest existing ancestor. */
  private ancestorPerm(c: XsCaller, path: string): number {
    let p = path;
    do {
      p = parentOf(p);
      const n = this.read(c, p);
      if (n) return this.permFor(c.conn, n.perms);
    } while (p !== '/');
    return 0;
  }

  /** construct_node() + create_node(): the node and any missing ancestors, owned by the caller. */
  create(c: XsCaller, path: string, data: Uint8Array): XsResult<XsNode> {
    const missing: string[] = [path];
    let parentPath = parentOf(path);
    let parent = this.read(c, parentPath);
    while (!parent) {
      if (parentPath === '/') return fail('ENOENT');
      missing.push(parentPath);
      parentPath = parentOf(parentPath);
      parent = this.read(c, parentPath);
    }
    if (!c.conn.privileged && this.ownedBy(c, c.conn.domid) + missing.length > XS_QUOTA.entries) return fail('ENOSPC');
    let node: XsNode | undefined;
    for (let i = missing.length - 1; i >= 0; i--) {
      const p = missing[i]!;
      const grown = this.store(c, parentPath, { data: parent.data, children: [...parent.children, baseName(p)], perms: parent.perms });
      if (!grown.ok) return grown;
      const perms = parent.perms.map((e) => ({ ...e }));
      if (!c.conn.privileged) perms[0] = { id: c.conn.domid, perms: perms[0]!.perms };
      const made = this.store(c, p, { data: i === 0 ? data : new Uint8Array(0), children: [], perms });
      if (!made.ok) return made;
      node = made.value;
      parent = node;
      parentPath = p;
    }
    return ok(node!);
  }

  /** Nodes a domain owns, as the caller sees the store (domain_entry). */
  private ownedBy(c: XsCaller, domid: number): number {
    let n = 0;
    for (const [path, node] of this.nodes) {
      if (c.tx && c.tx.overlay.has(path)) continue;
      if (node.perms[0]?.id === domid) n++;
    }
    if (c.tx) for (const node of c.tx.overlay.values()) if (node && node.perms[0]?.id === domid) n++;
    return n;
  }

  /** Replace a node's value (it exists and the caller may write it). */
  setData(c: XsCaller, path: string, node: XsNode, data: Uint8Array): XsResult<XsNode> {
    return this.store(c, path, { data, children: node.children, perms: node.perms });
  }

  setPerms(c: XsCaller, path: string, node: XsNode, perms: XsPerm[]): XsResult<XsNode> {
    return this.store(c, path, { data: node.data, children: node.children, perms });
  }

  /** rm_node(): delete a subtree (children first, each firing its exact watches), then unlink it. */
  removeTree(c: XsCaller, path: string): XsResult<void> {
    const parentPath = parentOf(path);
    const parent = this.read(c, parentPath);
    if (!parent) return fail('EINVAL');
    this.removeWalk(c, path, path);
    const after = this.read(c, parentPath) ?? parent;
    const name = baseName(path);
    const r = this.store(c, parentPath, { data: after.data, children: after.children.filter((x) => x !== name), perms: after.perms });
    return r.ok ? ok(undefined) : r;
  }

  private removeWalk(c: XsCaller, root: string, path: string): void {
    const node = this.read(c, path);
    if (!node) return;
    for (const child of node.children) this.removeWalk(c, root, childPath(path, child));
    this.fire(c, path, node, path !== root, undefined);
    this.remove(c, path);
  }

  // ---- watches ---------------------------------------------------------------------------

  /**
   * fire_watches(): queue an event for every watch on or above `path` (only on it when `exact`)
   * whose connection may read the node or its parent (or could read it with `oldPerms`).
   * Inside a transaction the change is remembered and fires at commit.
   */
  fire(c: XsCaller | undefined, path: string, node: XsNode | undefined, exact: boolean, oldPerms: readonly XsPerm[] | undefined): void {
    if (c?.tx) {
      const was = c.tx.fire.get(path);
      c.tx.fire.set(path, was === undefined ? exact : was && exact);
      return;
    }
    for (const conn of this.connections) {
      if (!this.watchPermitted(conn, path, node, oldPerms)) continue;
      for (const w of conn.watches) {
        const hit = exact ? path === w.path : isChild(path, w.path);
        if (hit) conn.deliver(this.watchPath(conn, w, path), w.token, w);
      }
    }
  }

  /** Fire a special event (@introduceDomain, @releaseDomain) to those allowed to see it. */
  fireSpecial(name: string): void {
    const perms = this.special.get(name);
    if (!perms) return;
    for (const conn of this.connections) {
      if (!(this.permFor(conn, perms) & XS_PERM.READ)) continue;
      for (const w of conn.watches) if (w.path === name) conn.deliver(name, w.token, w);
    }
  }

  /** get_watch_path(): relative watches see paths relative to the connection's home. */
  watchPath(conn: XsConnection, w: XsWatch, path: string): string {
    if (!w.relative) return path;
    const home = homePath(conn.domid);
    const rest = path.slice(home.length);
    return rest.startsWith('/') ? rest.slice(1) : rest;
  }

  private watchPermitted(conn: XsConnection, path: string, node: XsNode | undefined, oldPerms: readonly XsPerm[] | undefined): boolean {
    if (path.startsWith('@')) return false;
    if (oldPerms && this.permFor(conn, oldPerms) & XS_PERM.READ) return true;
    const n = node ?? this.nodes.get(path);
    if (!n) return false;
    if (this.permFor(conn, n.perms) & XS_PERM.READ) return true;
    const parent = this.nodes.get(parentOf(path));
    return parent !== undefined && (this.permFor(conn, parent.perms) & XS_PERM.READ) !== 0;
  }

  /** Special-path permissions, for SET_PERMS on '@…' (set_perms_special). */
  specialPerms(name: string): readonly XsPerm[] | undefined {
    return this.special.get(name);
  }

  setSpecialPerms(name: string, perms: XsPerm[]): void {
    this.special.set(name, perms);
  }

  // ---- transactions ----------------------------------------------------------------------

  startTransaction(conn: XsConnection): XsResult<XsTransaction> {
    if (!conn.privileged && conn.transactions.size > XS_QUOTA.transactions) return fail('ENOSPC');
    // Transaction ids count up per connection, skipping 0 and ids in use.
    let id = conn.nextTxId;
    while (id === 0 || conn.transactions.has(id)) id = (id + 1) >>> 0;
    conn.nextTxId = (id + 1) >>> 0;
    const tx = new XsTransaction(id);
    conn.transactions.set(id, tx);
    return ok(tx);
  }

  /**
   * finalize_transaction(): EAGAIN when a node the transaction touched changed since (another
   * write, create or delete); else its writes and deletions become global, with new generations,
   * and its watches fire.
   */
  commit(conn: XsConnection, tx: XsTransaction): XsResult<void> {
    conn.transactions.delete(tx.id);
    if (tx.failed) return fail('ENOMEM');
    for (const [path, a] of tx.accessed) {
      const now = this.nodes.get(path);
      if ((now ? now.generation : NO_GENERATION) !== a.generation) return fail('EAGAIN');
    }
    for (const [path, node] of tx.overlay) {
      if (node) this.nodes.set(path, { ...node, generation: ++this.generation });
      else this.nodes.delete(path);
    }
    for (const [path, exact] of tx.fire) {
      this.fire(undefined, path, this.nodes.get(path), exact, tx.accessed.get(path)?.perms);
    }
    return ok(undefined);
  }

  abort(conn: XsConnection, tx: XsTransaction): void {
    conn.transactions.delete(tx.id);
  }
}
