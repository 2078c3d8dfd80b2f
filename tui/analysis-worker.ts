// Worker thread for the TUI: runs the analyzer pass and the full-trace density index off the
// UI thread, so a large trace stays browsable while they compute. Posts plain data back.

import { parentPort, workerData } from 'node:worker_threads';
import { TraceData, densityIndex } from './data.ts';

const { path, bins } = workerData as { path: string; bins: number };
const data = new TraceData(path);
try {
  // Stored sizes and checksums first (cheap), so a damaged trace says so before the long pass.
  parentPort!.postMessage({ type: 'problems', value: data.reader.checkStored() });
  parentPort!.postMessage({ type: 'analyses', value: await data.analyses() });
  parentPort!.postMessage({ type: 'density', value: densityIndex(data, bins) });
  parentPort!.postMessage({ type: 'problems', value: data.problems() });
} finally {
  data.close();
}
