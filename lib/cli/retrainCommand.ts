import { resolve } from 'node:path';
import { FilesystemObjectStore } from '../adapters/filesystemObjectStore.ts';
import { SqsTaskQueue } from '../adapters/sqsTaskQueue.ts';
import { storeFromUrl } from '../adapters/storeFromUrl.ts';
import { InputError } from '../errors.ts';
import { embeddedRetrain } from '../hosts/embedded/embeddedRetrain.ts';
import { parseS3Location } from '../hosts/embedded/runLocations.ts';
import { retrainDataset } from '../pipeline/datasets/datasetRuns.ts';
import { checkDatasetName, type LatestVersion } from '../pipeline/datasets/datasetVersions.ts';
import { type StageContext, silentLog } from '../pipeline/stageContext.ts';
import { runAndReport } from './runCommand.ts';

export interface RetrainFlags {
  /**
   * The bucket the pipeline runs on (s3://bucket): incoming/, runs/ and datasets/ live there. Or a state
   * directory (default ./.pseudolabel): the run is then embedded, over the --input of the latest version's run.
   */
  readonly store?: string;
  /** Where an embedded retrain writes the new version's output files (required with a state directory). */
  readonly out?: string;
}

/** Exit code of a retrain that started nothing because nothing changed since the latest version. */
export const UNCHANGED_EXIT_CODE = 0;

function sayUnchanged(dataset: string, latest: LatestVersion): number {
  process.stderr.write(
    `pseudolabel: nothing changed in dataset ${dataset} since version ${latest.version} (run ${latest.runId}); ` +
      'no run started\n',
  );
  return UNCHANGED_EXIT_CODE;
}

/**
 * The reduce queue the deployed pipeline consumes: PSEUDOLABEL_REDUCE_QUEUE_URL, else the queue named
 * `<PSEUDOLABEL_QUEUE_PREFIX or pseudolabel>-reduce` at the AWS endpoint of the environment (LocalStack or AWS).
 */
function reduceQueue(env: NodeJS.ProcessEnv): string {
  return env.PSEUDOLABEL_REDUCE_QUEUE_URL?.trim() || `${env.PSEUDOLABEL_QUEUE_PREFIX?.trim() || 'pseudolabel'}-reduce`;
}

/**
 * `pseudolabel retrain <dataset> --store s3://bucket`: what the schedule does, by hand, on any host (LocalStack
 * included). Starts a run over incoming/<dataset>/ on the deployed pipeline (its plan step goes to the reduce
 * queue; the Lambdas, or `pseudolabel worker`, run it) unless the dataset's latest version was made from the same
 * files and options. A repeated invocation before that run publishes names the same run (retrainDataset).
 */
export async function retrainCommand(
  dataset: string,
  flags: RetrainFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  checkDatasetName(dataset);
  const location = flags.store ?? env.PSEUDOLABEL_STORE ?? '.pseudolabel';
  const s3 = parseS3Location(location);
  if (s3 === undefined) return retrainHere(dataset, location, flags.out);
  if (flags.out !== undefined) {
    throw new InputError(
      `--out is for a retrain over a state directory; on the pipeline (${location}) the run writes runs/<runId>/output/`,
    );
  }
  if (s3.path !== '') {
    throw new InputError(
      `retrain needs --store s3://<bucket> (the bucket the pipeline runs on, no prefix), got ${location}`,
    );
  }
  const store = storeFromUrl(`s3://${s3.bucket}`);
  const reduce = new SqsTaskQueue({ queue: reduceQueue(env) });
  const ctx: StageContext = {
    store,
    inputs: (root) => storeFromUrl(root),
    tasks: reduce, // retrain only sends the plan step
    reduce,
    log: silentLog,
  };
  const outcome = await retrainDataset(ctx, `s3://${s3.bucket}`, dataset);
  if (outcome.kind === 'empty') {
    process.stderr.write(`pseudolabel: dataset ${dataset} holds no data file under incoming/${dataset}/\n`);
    return 1;
  }
  if (outcome.kind === 'unchanged') return sayUnchanged(dataset, outcome.latest);
  const { run } = outcome;
  const state = run.status === 'running' ? 'started' : `already ${run.status}`;
  process.stderr.write(`pseudolabel: retraining run ${run.runId} ${state} for dataset ${dataset}\n`);
  process.stdout.write(`${run.runId}\n`);
  return 0;
}

/**
 * `pseudolabel retrain <dataset> --out <dir> [--store <dir>]`: the same over a state directory, with no services
 * (embeddedRetrain.ts): a run over the --input of the latest version's run, with its options, unless nothing
 * changed there since.
 */
async function retrainHere(dataset: string, stateDir: string, out: string | undefined): Promise<number> {
  if (out === undefined) {
    throw new InputError(
      `retrain over the state directory ${stateDir} runs here and needs --out <dir> for the new version's files ` +
        '(or --store s3://<bucket> to start it on the deployed pipeline)',
    );
  }
  const store = new FilesystemObjectStore(resolve(stateDir));
  const found = await embeddedRetrain(store, stateDir, dataset);
  if (found.kind === 'unchanged') return sayUnchanged(dataset, found.latest);
  process.stderr.write(
    `pseudolabel: retraining dataset ${dataset} over ${found.input} (changed since version ${found.latest.version})\n`,
  );
  return runAndReport({ input: found.input, out, options: found.options, dataset, stateDir });
}
