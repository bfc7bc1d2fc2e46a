import { runEmbedded } from '../hosts/embedded/embeddedRunner.ts';
import { outputTarget } from '../hosts/embedded/runLocations.ts';
import type { RunReport } from '../pipeline/outputs/runReport.ts';
import { parseRunOptions, type RunOptionsInput } from '../pipeline/runOptions.ts';

/** `run`'s request: where to read and write, and the options of `pseudolabel run` by their JSON names. */
export interface RunRequest extends RunOptionsInput {
  /** A CSV, JSONL or Parquet file, a folder of them, or `s3://bucket/prefix`. */
  readonly input: string;
  /** The output folder (or `s3://bucket/prefix`): labels.csv, report.json, report.html, rejected.csv. */
  readonly out: string;
  /** Publish the labels as the next version of this dataset (as `--dataset`). */
  readonly dataset?: string;
  /** Where the run's state is kept (`pseudolabel status` reads it). Default `./.pseudolabel`. */
  readonly stateDir?: string;
  /** Cancels the run when aborted: run() then rejects and the intermediates are deleted. */
  readonly signal?: AbortSignal;
}

/**
 * `pseudolabel run` as a function: runs the embedded pipeline (worker threads in this process), writes the outputs
 * to `out` and resolves with the report (report.json). Options are checked as the CLI checks them; a failed run
 * rejects with its reason.
 */
export async function run(request: RunRequest): Promise<RunReport> {
  const { input, out, dataset, stateDir, signal, ...given } = request;
  const options = parseRunOptions(given, 'run() options', 'keys');
  await runEmbedded({
    input,
    out,
    options,
    ...(dataset !== undefined ? { dataset } : {}),
    ...(stateDir !== undefined ? { stateDir } : {}),
    ...(signal !== undefined ? { signal } : {}),
  });
  return JSON.parse(new TextDecoder().decode(await outputTarget(out).read('report.json'))) as RunReport;
}
