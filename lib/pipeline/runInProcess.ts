import { randomUUID } from 'node:crypto';
import { FilesystemObjectStore } from '../adapters/filesystemObjectStore.ts';
import { readDataset } from '../data/readDataset.ts';
import { labelDataset } from './labelDataset.ts';
import { labelRecords, writeOutputFiles } from './outputFiles.ts';
import { roundReports } from './roundReports.ts';
import { effectiveMaxIter, type RunOptions } from './runOptions.ts';
import type { RunReport } from './runReport.ts';

export interface RunSummary {
  readonly report: RunReport;
  readonly written: string[];
}

/** Times each step of a run (report.json `timings`, milliseconds). */
export class StageTimer {
  readonly timings: Record<string, number> = {};
  async time<T>(stage: string, work: () => Promise<T> | T): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.timings[stage] = (this.timings[stage] ?? 0) + Math.round(performance.now() - start);
    }
  }
}

/** One process, no shards: read everything, run the method, write the outputs into `outDir`. */
export async function runInProcess(
  input: string,
  outDir: string,
  options: RunOptions,
  warn: (message: string) => void,
): Promise<RunSummary> {
  const timer = new StageTimer();
  const warnings: string[] = [];
  const collectWarning = (message: string) => {
    warnings.push(message);
    warn(message);
  };
  const { dataset, rejected } = await timer.time('ingest', () =>
    readDataset(input, { labelColumn: options.labelColumn, idColumn: options.idColumn }),
  );
  const result = await timer.time('propagate', () =>
    labelDataset({ X: dataset.X, y: dataset.y, classes: dataset.classes, source: input }, options, collectWarning),
  );
  let given = 0;
  for (const label of dataset.y) if (label >= 0) given++;
  const report: RunReport = {
    runId: `local-${randomUUID()}`,
    method: options.method,
    parameters: { ...options, maxIter: effectiveMaxIter(options) },
    n: dataset.X.n,
    d: dataset.X.d,
    classes: dataset.classes,
    given,
    rounds: roundReports(result.outcome, dataset.classes),
    convergence: result.convergence,
    ...(result.holdout ? { holdout: result.holdout } : {}),
    timings: timer.timings,
    rejected: rejected.length,
    rejectedSample: rejected.slice(0, 100),
    warnings,
  };
  const store = new FilesystemObjectStore(outDir);
  const written = await timer.time('finalize', () =>
    writeOutputFiles(
      store,
      '',
      labelRecords(dataset.ids, dataset.classes, result.outcome),
      report,
      rejected,
      options.format,
    ),
  );
  return { report, written: written.map((key) => store.describe(key)) };
}
