import type { ObjectStore } from '../../adapters/objectStore.ts';
import { InputError } from '../../errors.ts';
import { CONFIRMED_DIR, contentKeyOf, INCOMING_PREFIX } from '../../pipeline/datasets/datasetRuns.ts';
import { type LatestVersion, readLatest, readVersion } from '../../pipeline/datasets/datasetVersions.ts';
import { findRun } from '../../pipeline/run/runRecord.ts';
import type { RunOptions } from '../../pipeline/runOptions.ts';
import type { RunInput } from '../../pipeline/shards/shardPlan.ts';
import { resolveRunInputs } from './runLocations.ts';

/**
 * `pseudolabel retrain <dataset>` over a state directory (no services): the embedded counterpart of
 * datasetRuns.ts retrainDataset. A dataset made with `pseudolabel run --input <dir> --dataset NAME` is retrained
 * from the same --input with the same options as its latest version's run asked, and only when something
 * changed since: a file added, changed or removed (size + mtime), or a correction under
 * incoming/<dataset>/confirmed/ of the state directory.
 */

/**
 * A digest of what an embedded dataset run reads: its --input, the files there (keys, ETags), the options as
 * asked (without --workers, which changes no label) and the corrections. The version records it.
 */
export async function embeddedContentKey(
  store: ObjectStore,
  dataset: string,
  input: string,
  inputs: readonly RunInput[],
  options: RunOptions,
): Promise<string> {
  const { workers: _workers, ...asked } = options;
  const files = inputs.map(({ key, etag }) => [key, etag]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const corrections = (await store.list(`${INCOMING_PREFIX}${dataset}/${CONFIRMED_DIR}`)).map(({ key, etag }) => [
    key,
    etag,
  ]);
  return contentKeyOf({ input, files, options: asked, corrections });
}

/** What retrain over the state directory finds: nothing changed, or the run to start. */
export type EmbeddedRetrain =
  | { readonly kind: 'unchanged'; readonly latest: LatestVersion }
  | { readonly kind: 'due'; readonly latest: LatestVersion; readonly input: string; readonly options: RunOptions };

export async function embeddedRetrain(store: ObjectStore, stateDir: string, dataset: string): Promise<EmbeddedRetrain> {
  const latest = await readLatest(store, dataset);
  if (latest === undefined) {
    throw new InputError(
      `dataset ${dataset} has no version in ${stateDir}: make its first with ` +
        `pseudolabel run --input <dir> --out <dir> --dataset ${dataset}`,
    );
  }
  const version = await readVersion(store, dataset, latest.version);
  const request = (await findRun(store, version.runId))?.request;
  if (request === undefined) {
    throw new InputError(
      `dataset ${dataset} version ${latest.version} (run ${version.runId}) does not say which --input it read: ` +
        `run it once more with pseudolabel run --input <dir> --out <dir> --dataset ${dataset}`,
    );
  }
  const { inputs } = await resolveRunInputs(request.input);
  const key = await embeddedContentKey(store, dataset, request.input, inputs, request.options);
  if (version.contentKey === key) return { kind: 'unchanged', latest };
  const { workers: _workers, ...options } = request.options;
  return { kind: 'due', latest, input: request.input, options };
}
