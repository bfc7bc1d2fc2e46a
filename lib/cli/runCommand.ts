import { readFile } from 'node:fs/promises';
import { type EmbeddedRunRequest, RunCancelledError, runEmbedded } from '../hosts/embedded/embeddedRunner.ts';
import { outputTarget } from '../hosts/embedded/runLocations.ts';
import type { RunReport } from '../pipeline/outputs/runReport.ts';
import { parseRunOptions, type RunOptions } from '../pipeline/runOptions.ts';
import { progressReporter } from './progressReporter.ts';

/** Flags of `pseudolabel run` as commander hands them over (camelCase, absent when not given). */
export interface RunFlags {
  readonly input: string;
  readonly out: string;
  readonly config?: string;
  readonly dataset?: string;
  readonly [option: string]: unknown;
}

/** Options from --config, overridden by the flags given on the command line. */
export async function resolveRunOptions(flags: RunFlags): Promise<RunOptions> {
  const { input: _input, out: _out, config, dataset: _dataset, ...given } = flags;
  let fromFile: Record<string, unknown> = {};
  if (config !== undefined) {
    try {
      fromFile = JSON.parse(await readFile(config, 'utf8'));
    } catch (error) {
      throw new Error(`cannot read --config ${config}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const merged = { ...fromFile, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
  return parseRunOptions(merged, config ? `options (flags and ${config})` : 'options');
}

type CancelSignal = 'SIGINT' | 'SIGTERM';

/** The shell's exit code for a process ended by a signal: 128 + the signal's number. */
const SIGNAL_EXIT_CODES: Readonly<Record<CancelSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * SIGINT (Ctrl-C) and SIGTERM cancel the run: the signal aborts with its name as the reason, and the runner
 * stops its tasks, deletes the intermediates and records the run as cancelled. A second signal exits at once.
 */
function cancelOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: CancelSignal) => {
    if (controller.signal.aborted) process.exit(SIGNAL_EXIT_CODES[name]);
    process.stderr.write(`\npseudolabel: ${name}: cancelling the run (again to exit at once)\n`);
    controller.abort(name);
  };
  const handlers = { SIGINT: () => onSignal('SIGINT'), SIGTERM: () => onSignal('SIGTERM') };
  for (const [name, handler] of Object.entries(handlers)) process.on(name, handler);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [name, handler] of Object.entries(handlers)) process.off(name, handler);
    },
  };
}

/**
 * One plain sentence on whether semi-supervised learning helped on the holdout: a verdict only when the 95%
 * interval of the accuracy difference over repeated splits excludes 0, else how many given labels would tell.
 */
export function holdoutSentence(holdout: NonNullable<RunReport['holdout']>): string {
  const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
  const points = (x: number) => `${x > 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
  const { supervised, semiSupervised, difference } = holdout;
  const splits = difference.splits.length;
  const accuracies =
    `${percent(semiSupervised.accuracy)} mean accuracy over ${splits} splits of ${holdout.size.toLocaleString('en-US')} ` +
    `held-out labels, against ${percent(supervised.accuracy)} for a classifier trained on the other labels alone ` +
    `(difference ${points(difference.estimate)} points, 95% interval ${points(difference.low)} to ${points(difference.high)})`;
  if (holdout.verdict !== 'cannot tell')
    return `Semi-supervised learning ${holdout.verdict} on this data: ${accuracies}.`;
  const needed = holdout.givenLabelsNeeded ?? 0;
  return (
    `Cannot tell whether semi-supervised learning helped with ${holdout.given.toLocaleString('en-US')} given labels: ` +
    `${accuracies}. About ${needed.toLocaleString('en-US')} given labels would tell.`
  );
}

/** ", 105 unreached: try --neighbors 20" when a graph method left rows without a label, else nothing. */
function unreachedClause(report: RunReport): string {
  const rows = report.unreached?.rows ?? 0;
  if (rows === 0) return '';
  return `, ${rows.toLocaleString('en-US')} unreached${report.unreached?.hint ? `: ${report.unreached.hint}` : ''}`;
}

/** "dataset d version 3 (against version 2): 10 rows added, 4 changed class, mean confidence shift +0.012". */
export function changesSentence(
  dataset: string,
  version: number | undefined,
  changes: NonNullable<RunReport['changes']>,
): string {
  const count = (n: number) => n.toLocaleString('en-US');
  const shift = changes.confidenceShift.mean;
  const against =
    changes.previousVersion === undefined ? 'its first version' : `against version ${changes.previousVersion}`;
  return (
    `dataset ${dataset} version ${version ?? '?'} (${against}): ${count(changes.added)} rows added, ` +
    `${count(changes.removed)} removed, ${count(changes.changedClass)} changed class, ` +
    `mean confidence shift ${shift >= 0 ? '+' : ''}${shift.toFixed(3)}`
  );
}

/**
 * `pseudolabel run`: returns the exit code (0 when labels were written). --input and --out may be local paths or
 * `s3://bucket/prefix` locations (endpoint, region and credentials from the AWS environment).
 */
export async function runCommand(flags: RunFlags): Promise<number> {
  const options = await resolveRunOptions(flags);
  return runAndReport({
    input: flags.input,
    out: flags.out,
    options,
    ...(flags.dataset !== undefined ? { dataset: flags.dataset } : {}),
  });
}

/**
 * Runs embedded with progress on stderr and cancelling on signals, then says what the run did (`run`, and
 * `retrain` over a state directory); returns the exit code.
 */
export async function runAndReport(
  request: Omit<EmbeddedRunRequest, 'onProgress' | 'signal' | 'log' | 'onTaskProcess' | 'faults'>,
): Promise<number> {
  const progress = await progressReporter(process.stderr);
  let run: Awaited<ReturnType<typeof runEmbedded>>;
  const cancel = cancelOnSignals();
  try {
    run = await runEmbedded({ ...request, onProgress: progress.update, signal: cancel.signal });
  } catch (error) {
    if (!(error instanceof RunCancelledError)) throw error;
    progress.stop();
    process.stderr.write(`pseudolabel: run ${error.runId} ${error.message}; its intermediates were deleted\n`);
    // 130 / 143 for a signal; 3 (as `status` of a cancelled run) for `pseudolabel cancel`.
    return SIGNAL_EXIT_CODES[cancel.signal.reason as CancelSignal] ?? 3;
  } finally {
    progress.stop();
    cancel.dispose();
  }
  const report = JSON.parse(new TextDecoder().decode(await outputTarget(request.out).read('report.json'))) as RunReport;
  for (const warning of report.warnings) process.stderr.write(`warning: ${warning}\n`);
  const labelled = report.rounds.at(-1);
  const reached = labelled ? report.n - Object.values(labelled.counts.none).reduce((a, b) => a + b, 0) : 0;
  process.stderr.write(
    `pseudolabel: ${report.n} rows, ${report.d} features, ${report.classes.length} classes, ${report.given} given labels; ` +
      `${report.method} labelled ${reached.toLocaleString('en-US')} rows${unreachedClause(report)} ` +
      `(${report.convergence.terminationReason} after ${report.convergence.nIter} iterations)\n`,
  );
  if (report.rejected > 0) {
    process.stderr.write(`pseudolabel: ${report.rejected} rows rejected (reasons in rejected.csv)\n`);
  }
  if (report.holdout) process.stdout.write(`${holdoutSentence(report.holdout)}\n`);
  if (report.changes)
    process.stderr.write(`pseudolabel: ${changesSentence(run.dataset, run.version, report.changes)}\n`);
  process.stderr.write(`pseudolabel: run ${run.runId} wrote ${request.out}\n`);
  return 0;
}
