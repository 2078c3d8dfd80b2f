// Network interfaces of a run (`--nic [mac=52:54:00:12:34:56]`, repeatable), shared by the kvm
// machine (virtio-net) and the xen machine (netfront/netback). No backend carries frames in or
// out yet: frames the guest sends are recorded (net_frame events), nothing is received.

export interface NicSpec {
  /** Six bytes; undefined: the machine's deterministic default for this interface index. */
  mac?: Uint8Array;
}

export class NicError extends Error {
  override name = 'NicError';
}

/** QEMU's default MAC for the first NIC; the n-th gets the last byte + n. */
export const QEMU_DEFAULT_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);

/** Parses one `--nic` value: '' (or true when given without a value) or `mac=xx:xx:xx:xx:xx:xx`. */
export function parseNicOption(s: string | true): NicSpec {
  if (s === true || s === '') return {};
  const out: NicSpec = {};
  for (const part of s.split(',')) {
    const m = /^mac=(.*)$/.exec(part);
    if (!m) throw new NicError(`--nic ${s}: unknown option '${part}' (expected mac=xx:xx:xx:xx:xx:xx)`);
    out.mac = parseMac(m[1]!, s);
  }
  return out;
}

export function parseMac(text: string, ctx = text): Uint8Array {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(text);
  if (!m) throw new NicError(`--nic ${ctx}: '${text}' is not a MAC address (six hex bytes separated by ':')`);
  const mac = Uint8Array.from(m.slice(1, 7).map((h) => parseInt(h, 16)));
  if (mac[0]! & 1) throw new NicError(`--nic ${ctx}: ${text} is a multicast address (the first byte must be even)`);
  return mac;
}

export const formatMac = (mac: Uint8Array): string => [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');

/** The MAC of NIC `index`: its own, or `base` with the last byte advanced by the index. */
export function macOf(spec: NicSpec, index: number, base: Uint8Array = QEMU_DEFAULT_MAC): Uint8Array {
  if (spec.mac) return spec.mac;
  const mac = Uint8Array.from(base);
  mac[5] = (mac[5]! + index) & 0xff;
  return mac;
}
