// `--nic [mac=…]` (emu/net/nic.ts): parsing, the deterministic default MACs, one-line errors.
import { describe, expect, it } from 'vitest';
import { formatMac, macOf, NicError, parseNicOption } from '../../../emu/net/nic.ts';

describe('--nic option', () => {
  it("takes no value or mac=…; the default MAC is QEMU's, advanced per interface", () => {
    expect(parseNicOption('')).toEqual({});
    expect(parseNicOption(true)).toEqual({});
    expect(formatMac(parseNicOption('mac=02:AB:cd:00:00:01').mac!)).toBe('02:ab:cd:00:00:01');
    expect(formatMac(macOf({}, 0))).toBe('52:54:00:12:34:56');
    expect(formatMac(macOf({}, 2))).toBe('52:54:00:12:34:58');
    expect(formatMac(macOf({ mac: Uint8Array.of(2, 0, 0, 0, 0, 7) }, 5))).toBe('02:00:00:00:00:07');
  });

  it('bad values are one-line errors', () => {
    expect(() => parseNicOption('mac=1:2:3')).toThrow(NicError);
    expect(() => parseNicOption('mac=1:2:3')).toThrow(/^--nic mac=1:2:3: '1:2:3' is not a MAC address/);
    expect(() => parseNicOption('mac=01:00:5e:00:00:01')).toThrow(/is a multicast address/);
    expect(() => parseNicOption('model=e1000')).toThrow(/unknown option 'model=e1000'/);
  });
});
