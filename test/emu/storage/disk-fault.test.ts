// `--disk-fault` (emu/storage/disk.ts): the values it accepts and refuses, which requests an
// eio@ range fails, and virtio-pci leaving FEATURES_OK clear for a device that refuses its driver.
// The faults on real boots of both machines: test/real/explain-disk.test.ts.
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { applyDiskFault, DiskError, DiskImage, type DiskSpec } from '../../../emu/storage/disk.ts';
import { tempDir } from '../helpers.ts';

const tmp = tempDir('bootscope-disk-fault-');
afterAll(() => tmp.cleanup());

describe('--disk-fault', () => {
  it('eio@FIRST[-LAST] and refuse go to disk 0 unless N: names another', () => {
    const specs: DiskSpec[] = [
      { file: 'a', mode: 'cow' },
      { file: 'b', mode: 'ro' },
    ];
    applyDiskFault(specs, 'eio@2');
    applyDiskFault(specs, 'eio@100-107');
    applyDiskFault(specs, '1:refuse');
    expect(specs[0]!.faults).toEqual({
      eio: [
        { first: 2, last: 2 },
        { first: 100, last: 107 },
      ],
    });
    expect(specs[1]!.faults).toEqual({ refuse: true });
  });

  it('malformed values, a reversed range and a disk that is not there are one-line DiskErrors', () => {
    const specs: DiskSpec[] = [{ file: 'a', mode: 'cow' }];
    for (const [v, msg] of [
      ['eio', '--disk-fault eio: expected [N:]eio@FIRST[-LAST] or [N:]refuse'],
      ['eio@-3', '--disk-fault eio@-3: expected [N:]eio@FIRST[-LAST] or [N:]refuse'],
      ['refuse,eio@2', '--disk-fault refuse,eio@2: expected [N:]eio@FIRST[-LAST] or [N:]refuse'],
      ['eio@9-3', '--disk-fault eio@9-3: the sector range must be FIRST[-LAST] with LAST >= FIRST'],
      ['eio@99999999999999999999', '--disk-fault eio@99999999999999999999: the sector range must be FIRST[-LAST] with LAST >= FIRST'],
      ['2:refuse', '--disk-fault 2:refuse: there is no disk 2 (1 --disk given)'],
    ] as const) {
      expect(() => applyDiskFault(specs, v)).toThrow(DiskError);
      expect(() => applyDiskFault(specs, v)).toThrow(msg);
    }
  });

  it('a request fails when any of its sectors is in a range; the others read as before', () => {
    const file = tmp.file('d.img');
    writeFileSync(file, Buffer.alloc(64 * 512, 0xab));
    const d = DiskImage.open({ file, mode: 'cow', faults: { eio: [{ first: 8, last: 9 }] } });
    try {
      expect(d.failsAt(0, 4096)).toBe(false); // sectors 0-7
      expect(d.failsAt(4, 4096)).toBe(true); // 4-11
      expect(d.failsAt(9, 512)).toBe(true);
      expect(d.failsAt(10, 1024)).toBe(false);
      expect(d.failsAt(8, 0)).toBe(true); // a zero-length request at a failing sector
      const buf = new Uint8Array(512);
      d.read(0, buf);
      expect(buf[0]).toBe(0xab);
    } finally {
      d.close();
    }
    const clean = DiskImage.open({ file, mode: 'cow' });
    expect(clean.failsAt(8, 512)).toBe(false);
    expect(clean.faults).toEqual({});
    clean.close();
  });
});
