// xenbus rules (analyze/rules/xenbus.ts) on hand-made streams shaped as the xen machine records a
// blkfront/netfront handshake; test/real/xen-rules.test.ts runs them on real Linux boots.
import { afterAll, describe, expect, it } from 'vitest';
import { legalTransition, pvNode } from '../../analyze/rules/xenbus.ts';
import { BE, FE, linuxClose, linuxHandshake, state, tmpTraces, writeState, xenFindings, xs } from './xen-pv-events.ts';

const tmp = tmpTraces();
afterAll(() => tmp.cleanup());
const xenbusIds = (ids: string[]) => ids.filter((i) => i.startsWith('xenbus.'));

describe('xenbus rules', () => {
  it("Linux blkfront's handshake and close (keys in a transaction, Initialised, backend Connected, Connected, Closing, Closed) has no finding", () => {
    expect(xenFindings(tmp, 'ok', [...linuxHandshake(), ...linuxClose()]).ids).toEqual([]);
  });

  it('netfront: Connected straight from Initialising once it has read the backend in InitWait, keys written first, is fine', () => {
    const VIF = '/local/domain/1/device/vif/0';
    const ev = [
      xs(1, 'READ', '/local/domain/0/backend/vif/1/0/state', '2'),
      xs(1, 'WRITE', `${VIF}/tx-ring-ref`, '10'),
      xs(1, 'WRITE', `${VIF}/rx-ring-ref`, '11'),
      xs(1, 'WRITE', `${VIF}/event-channel`, '5'),
      state('frontend', 4, 'vif-0'),
      state('backend', 4, 'vif-0'),
    ];
    expect(xenFindings(tmp, 'vif', ev).ids).toEqual([]);
  });

  it('fires: keys missing before Initialised (an aborted transaction does not count), Connected before the backend is Connected', () => {
    const ev = [
      xs(1, 'READ', `${BE}/state`, '2'),
      xs(1, 'TRANSACTION_START', '', '3\0'),
      xs(1, 'WRITE', `${FE}/ring-ref`, '8', { tx: 3 }),
      xs(1, 'WRITE', `${FE}/event-channel`, '3', { tx: 3 }),
      xs(1, 'TRANSACTION_END', '', 'F\0', { tx: 3 }),
      xs(1, 'WRITE', `${FE}/ring-ref`, '8'),
      ...writeState('frontend', 3),
      ...writeState('frontend', 4),
    ];
    const { fs, ids } = xenFindings(tmp, 'keys', ev);
    expect(xenbusIds(ids)).toEqual(['xenbus.frontend-connected-early', 'xenbus.frontend-keys-missing']);
    expect(fs.find((f) => f.rule === 'xenbus.frontend-keys-missing')!.message).toBe(
      'vbd-51712: the frontend switched to Initialised before writing its event-channel key(s); the backend reads them when it sees this state and cannot map the ring.',
    );
    expect(fs.find((f) => f.rule === 'xenbus.frontend-connected-early')!.message).toContain('while the backend was 2 (InitWait)');
  });

  it('fires: a frontend Connected with no backend state seen, a backend Connected before the frontend published anything', () => {
    const { ids, fs } = xenFindings(tmp, 'early', [
      ...writeState('backend', 4),
      xs(1, 'WRITE', `${FE}/ring-ref`, '8'),
      xs(1, 'WRITE', `${FE}/event-channel`, '3'),
      state('frontend', 4, 'vif-0'),
    ]);
    expect(xenbusIds(ids)).toEqual(['xenbus.backend-connected-early', 'xenbus.frontend-connected-early', 'xenbus.frontend-keys-missing']);
    expect(fs.find((f) => f.rule === 'xenbus.backend-connected-early')!.message).toContain(
      'while the frontend was not yet seen in the trace',
    );
    expect(fs.find((f) => f.rule === 'xenbus.frontend-connected-early')!.message).toContain(
      'vif-0: the frontend switched to Connected while the backend was not yet seen',
    );
  });

  it('fires: backwards moves and a state outside the enumeration', () => {
    const ev = [
      ...linuxHandshake(),
      ...writeState('frontend', 3),
      ...writeState('backend', 6),
      ...writeState('backend', 5),
      state('frontend', 9),
    ];
    const { ids, fs } = xenFindings(tmp, 'back', ev);
    expect(xenbusIds(ids)).toEqual(['xenbus.bad-state', 'xenbus.illegal-transition']);
    expect(fs.filter((f) => f.rule === 'xenbus.illegal-transition').map((f) => f.message)).toEqual([
      'vbd-51712 frontend moved from 4 (Connected) to 3 (Initialised); an end only moves forwards through Initialising, InitWait, Initialised, Connected, Closing, Closed (and starts again from Closed).',
      'vbd-51712 backend moved from 6 (Closed) to 5 (Closing); an end only moves forwards through Initialising, InitWait, Initialised, Connected, Closing, Closed (and starts again from Closed).',
    ]);
  });

  it('a closed device may start again (frontend Initialising, backend InitWait) and reconnect', () => {
    const again = [...writeState('frontend', 1), ...writeState('backend', 2), ...linuxHandshake().slice(2)];
    expect(xenFindings(tmp, 'again', [...linuxHandshake(), ...linuxClose(), ...again]).ids).toEqual([]);
  });

  it('transitions and paths', () => {
    expect(legalTransition(1, 4)).toBe(true);
    expect(legalTransition(4, 2)).toBe(false);
    expect(legalTransition(6, 1)).toBe(true);
    expect(legalTransition(6, 4)).toBe(false);
    expect(legalTransition(4, 7)).toBe(true);
    expect(legalTransition(3, 7)).toBe(false);
    expect(pvNode(`${FE}/queue-0/ring-ref`)).toEqual({ device: 'vbd-51712', end: 'frontend', key: 'queue-0/ring-ref', domid: 1 });
    expect(pvNode(`${BE}/state`)).toEqual({ device: 'vbd-51712', end: 'backend', key: 'state' });
    expect(pvNode('/local/domain/1/control/shutdown')).toBeUndefined();
  });
});
