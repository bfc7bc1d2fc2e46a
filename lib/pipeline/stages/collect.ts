import { UNLABELLED } from '../../data/dataset.ts';
import { encodeLabels } from '../../data/encodeLabels.ts';
import { IdTable, idTableBytes } from '../../data/idTable.ts';
import { decodeShard } from '../../data/shardFormat.ts';
import { InputError, OptionsError } from '../../errors.ts';
import { FeatureRange } from '../../linalg/int16Codes.ts';
import { packArrays } from '../binaryArrays.ts';
import { checkCapacity } from '../capacity.ts';
import { DEFAULT_CARRY_THRESHOLD, ORIGIN, readCarriedLabels, readConfirmedLabels } from '../datasets/carriedLabels.ts';
import { reusedIvfTraining } from '../incremental/incrementalIvf.ts';
import { readJson, writeJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { chooseAuto } from '../modelSelection/autoChoice.ts';
import { checkHoldoutSize } from '../modelSelection/holdout.ts';
import { holdoutOfRun } from '../modelSelection/holdoutRun.ts';
import { writeIvfTraining } from '../neighbors/ivfObjects.ts';
import { IvfSampleCandidates } from '../neighbors/ivfSampleCandidates.ts';
import { trainRunIvf } from '../neighbors/ivfTraining.ts';
import { planNeighbors } from '../neighbors/neighborsPlan.ts';
import { putRejectedCsv } from '../outputs/outputFiles.ts';
import { allRejected, commonReasons } from '../outputs/rejectedRows.ts';
import { shardMetricsOf } from '../run/fanIn.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import { checkClassMemory, checkIdTableMemory, runLimits } from '../runLimits.ts';
import type { RunOptions } from '../runOptions.ts';
import type { Collected } from '../shards/collected.ts';
import { RunScaling } from '../shards/runScaling.ts';
import { placeShard, type ShardPlace, ShardPlaces } from '../shards/shardPlace.ts';
import type { ShardPlan } from '../shards/shardPlan.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';
import { checkGivenLabels } from '../training/labelDataset.ts';

/** Whether a method needs the kNN graph (and so the neighbors stage). */
export function needsNeighbors(method: string, kernel: string): boolean {
  if (method === 'auto') return true;
  return (method === 'label-spreading' || method === 'label-propagation') && kernel !== 'rbf';
}

/**
 * The IVF sample candidates, drawn while the shards are read for their ids (IvfSampleCandidates), or undefined
 * when the ingest markers do not give the row count, or when the search will be exact: exact for the rows
 * ingested, it stays exact for the fewer rows left after dropping duplicates.
 */
async function sampleCandidates(ctx: StageContext, runId: string, plan: ShardPlan, options: RunOptions) {
  const ingested = await shardMetricsOf(ctx, runId, 'ingest');
  if (ingested.length !== plan.shards.length || ingested.some((metrics) => metrics.rows === undefined))
    return undefined;
  const rows = ingested.reduce((total, metrics) => total + (metrics.rows ?? 0), 0);
  if (planNeighbors(options, rows).mode !== 'approx') return undefined;
  return new IvfSampleCandidates(rows, plan.featureNames.length, options.seed);
}

/** Self-training starts with the score tasks of round 0: each sends its shard's given labels to the reduce step. */
export async function startSelfTraining(ctx: StageContext, runId: string, shards: number) {
  await updateRun(ctx.store, runId, (record) => {
    record.stage = 'score';
    record.round = 0;
  });
  return { tasks: Array.from({ length: shards }, (_, s) => taskMessage(runId, 'score', 0, s)) };
}

/**
 * encodeLabels over every shard's labels, from the distinct labels (in first-seen order, numbered by `codes`)
 * and each shard's codes: the same classes (numpy.unique order) and y, without a JS array of every row's label.
 */
function encodeShardLabels(codes: Map<string, number>, shardCodes: readonly Int32Array[], n: number) {
  const { classes } = encodeLabels([...codes.keys()]);
  const classOf = new Int32Array(codes.size);
  const index = new Map(classes.map((name, c) => [name, c]));
  for (const [label, code] of codes) classOf[code] = index.get(label)!;
  const y = new Int32Array(n);
  let at = 0;
  for (const part of shardCodes) {
    for (let i = 0; i < part.length; i++) y[at++] = part[i] < 0 ? UNLABELLED : classOf[part[i]];
  }
  return { y, classes };
}

function concatBytes(parts: readonly Uint8Array[], n: number): Uint8Array {
  const all = new Uint8Array(n);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

/** Above any line number of the shard format (u31). */
const LINE_SPAN = 2 ** 31;

/**
 * When no row was accepted but some were rejected, writes rejected.csv to the run's output (the embedded runner
 * copies it to --out) and fails the run saying how many rows were rejected and why, most common reasons first.
 */
async function refuseAllRejected(
  ctx: StageContext,
  runId: string,
  plan: ShardPlan,
  duplicates: Collected['duplicates'],
  places: readonly ShardPlace[],
  source: string,
): Promise<void> {
  const rejected = await allRejected(ctx, runId, plan, places, duplicates);
  if (rejected.length === 0) return;
  await putRejectedCsv(ctx.store, keys.output(runId, ''), rejected);
  const all = rejected.length === 1 ? 'the only row was' : `all ${rejected.length} rows were`;
  throw new InputError(
    `${source}: ${all} rejected, each with its line and reason in rejected.csv; ${commonReasons(rejected).join('; ')}`,
  );
}

/**
 * collect (reduce step, after every ingest task): drops rows whose id repeats an earlier one (the first wins,
 * in input order), encodes the labels of all shards into one class list (numpy.unique order), checks that
 * learning is possible, refuses a run that cannot fit its host now that rows and classes are known (capacity.ts),
 * and fans out the neighbors tasks (after training the IVF centroids and fanning out the
 * cells tasks in approx mode), or goes straight to propagate.
 */
export async function collectStage(
  ctx: StageContext,
  task: TaskMessage,
): Promise<{ tasks?: TaskMessage[]; reduce?: TaskMessage[] }> {
  const run = await readRun(ctx.store, task.runId);
  const plan = await readJson<ShardPlan>(ctx.store, keys.plan(task.runId));
  const inputs = ctx.inputs(run.inputRoot);
  // id -> where it was first seen, as input * LINE_SPAN + line (a number, not an object per row: 1M ids)
  const firstSeen = new IdTable();
  const duplicates: Collected['duplicates'] = [];
  const shards: Collected['shards'] = [];
  let neighbors = needsNeighbors(run.options.method, run.options.kernel);
  // Scaled runs (and auto, which may scale) draw the IVF samples from the scaled rows, after the statistics.
  const scaled = run.options.scale !== 'none' || run.options.method === 'auto';
  const candidates = neighbors && !scaled ? await sampleCandidates(ctx, task.runId, plan, run.options) : undefined;
  const scaling = new RunScaling(plan.featureNames.length, run.options.scale);
  // The run's 16-bit codes cover every row (ivfObjects.ts): their range is taken on this one read too.
  const range = candidates === undefined ? undefined : new FeatureRange(plan.featureNames.length);
  let offset = 0;
  const limits = runLimits();
  const source = run.inputs.length === 1 ? inputs.describe(run.inputs[0].key) : run.dataset;
  // Each shard's labels as codes of `labelCodes` (first-seen order; -1 unlabelled), remapped to classes below:
  // 4 bytes per row instead of a JS array of every row's label.
  const labelCodes = new Map<string, number>();
  const shardCodes: Int32Array[] = [];
  // Rounds across runs (dataset runs): corrections under incoming/<dataset>/confirmed/ override any label, and
  // with carryForward the latest version's confident labels fill rows the user left unlabelled. Both maps are
  // bounded: the corrections' rows, and the version's rows of confidence >= carryThreshold.
  const confirmed = run.versioned ? await readConfirmedLabels(ctx.store, run.dataset) : new Map<string, string>();
  const carried =
    run.versioned && run.options.carryForward
      ? await readCarriedLabels(ctx.store, run.dataset, run.options.carryThreshold ?? DEFAULT_CARRY_THRESHOLD)
      : new Map<string, string>();
  const overrides = confirmed.size > 0 || carried.size > 0;
  const shardOrigins: Uint8Array[] = [];
  // Each shard's lines in its file, from the lines the shards before it span (the plan does not count them).
  const places = new ShardPlaces(run.inputs.map((input) => input.key));
  for (const spec of plan.shards) {
    const decoded = decodeShard(await ctx.store.get(keys.shardData(task.runId, spec.shard)));
    const place = places.place(spec, decoded.spannedLines);
    const shard = placeShard(decoded, place);
    const file = inputs.describe(run.inputs[spec.input].key);
    // Refused before the table outgrows its bounds, not after the host ran out of memory.
    const ids = firstSeen.size + shard.n;
    const allIdBytes = firstSeen.idBytes + shard.idBytes.length;
    checkIdTableMemory({ size: ids, bytes: idTableBytes(ids, allIdBytes), idBytes: allIdBytes }, limits, source);
    const codes = new Int32Array(shard.n);
    const origins = new Uint8Array(overrides ? shard.n : 0);
    let kept = 0;
    const dropped: number[] = [];
    range?.add(shard.features);
    const { idBytes, idOffsets } = shard;
    for (let i = 0; i < shard.n; i++) {
      const where = spec.input * LINE_SPAN + shard.lines[i];
      const first = firstSeen.firstOrAdd(idBytes, idOffsets[i], idOffsets[i + 1], where);
      if (first !== undefined) {
        const firstFile = inputs.describe(run.inputs[Math.floor(first / LINE_SPAN)].key);
        dropped.push(i);
        duplicates.push({
          input: spec.input,
          file,
          line: shard.lines[i],
          reason: `duplicate id "${shard.ids[i]}" (first at ${firstFile}:${first % LINE_SPAN})`,
        });
        continue;
      }
      candidates?.offer(offset + i - dropped.length, shard.features, i * shard.d);
      let label = shard.labels[i];
      if (overrides) {
        const id = shard.ids[i];
        const correction = confirmed.get(id);
        const carriedLabel = label === null ? carried.get(id) : undefined;
        if (correction !== undefined) {
          label = correction;
          origins[kept] = ORIGIN.confirmed;
        } else if (carriedLabel !== undefined) {
          label = carriedLabel;
          origins[kept] = ORIGIN.carried;
        }
      }
      let code = -1;
      if (label !== null) {
        code = labelCodes.get(label) ?? labelCodes.size;
        labelCodes.set(label, code);
      }
      codes[kept++] = code;
    }
    shardCodes.push(codes.subarray(0, kept));
    if (overrides) shardOrigins.push(origins.subarray(0, kept));
    scaling.add(shard.features, shard.n, dropped);
    shards.push({ rows: shard.n - dropped.length, offset, dropped, place });
    offset += shard.n - dropped.length;
  }
  if (offset === 0)
    await refuseAllRejected(
      ctx,
      task.runId,
      plan,
      duplicates,
      shards.map((shard) => shard.place),
      source,
    );
  const { y, classes } = encodeShardLabels(labelCodes, shardCodes, offset);
  const origins = overrides ? concatBytes(shardOrigins, offset) : undefined;
  checkClassMemory(offset, classes.length, runLimits(), source);
  checkGivenLabels(y, classes, source);
  checkHoldoutSize(y, run.options.holdout, run.options.seed, origins);
  if (neighbors && run.options.neighbors > offset) {
    throw new OptionsError(
      `--neighbors ${run.options.neighbors} is more than the ${offset} rows of ${source}: use --neighbors ${offset} or fewer`,
    );
  }
  if (run.host) {
    // The plan step's estimate again, with the rows and classes now known, before the neighbors and propagate steps.
    const size = {
      rows: offset,
      features: plan.featureNames.length,
      classes: classes.length,
      shards: plan.shards.length,
    };
    checkCapacity({ ...size, options: run.options }, run.host);
  }
  let given = 0;
  for (const label of y) if (label >= 0) given++;
  const counted = { carried: 0, confirmed: 0 };
  for (const origin of origins ?? []) {
    if (origin === ORIGIN.carried) counted.carried++;
    else if (origin === ORIGIN.confirmed) counted.confirmed++;
  }
  const unscaled: Collected = {
    n: offset,
    d: plan.featureNames.length,
    classes,
    featureNames: plan.featureNames,
    given,
    ...(origins ? { overrides: counted } : {}),
    shards,
    duplicates,
  };
  // Written before auto and the holdout read rows: with overrides, loadShardRows takes the labels from them.
  await ctx.store.put(keys.collectedLabels(task.runId), packArrays([y]));
  if (origins) await ctx.store.put(keys.collectedOrigins(task.runId), packArrays([origins]));
  if (run.options.method === 'auto') {
    const standard = await scaling.finish(ctx, task.runId, shards, 'standard');
    const choice = await chooseAuto(ctx, task.runId, unscaled, y, standard, run.options);
    run.options = choice.options;
    neighbors = needsNeighbors(run.options.method, run.options.kernel);
    await updateRun(ctx.store, task.runId, (record) => {
      record.options = choice.options;
      record.methodReason = choice.reason;
      if (choice.search) record.auto = choice.search;
    });
  }
  const collected: Collected = {
    ...unscaled,
    scaling: await scaling.finish(ctx, task.runId, shards, run.options.scale),
  };
  if (run.options.holdout > 0) {
    // The supervised baseline's convergence warnings on a split are not the run's: left out.
    const holdout = await holdoutOfRun(ctx, task.runId, collected, y, run.options, () => {}, origins);
    await updateRun(ctx.store, task.runId, (record) => {
      record.holdout = holdout;
    });
  }
  await writeJson(ctx.store, keys.collected(task.runId), collected);
  if (run.options.method === 'self-training') return startSelfTraining(ctx, task.runId, shards.length);
  if (!neighbors) {
    await updateRun(ctx.store, task.runId, (record) => {
      record.stage = 'propagate';
    });
    return { reduce: [taskMessage(task.runId, 'propagate', 0)] };
  }
  const search = planNeighbors(run.options, offset);
  if (search.mode === 'approx') {
    // A dataset run that only adds files keeps the latest version's index (incremental/incrementalIvf.ts).
    const reused = await reusedIvfTraining(ctx, run, collected);
    const sampled = reused ? undefined : candidates?.train(offset, shards.length);
    const codes = range?.codes();
    const training =
      reused ??
      (sampled
        ? { ...sampled, ...(codes ? { codes } : {}) }
        : await trainRunIvf(ctx, task.runId, collected, run.options.seed));
    await writeIvfTraining(ctx, task.runId, training);
  }
  const stage = search.mode === 'approx' ? 'cells' : 'neighbors';
  await updateRun(ctx.store, task.runId, (record) => {
    record.neighbors = search;
    record.stage = stage;
  });
  return { tasks: plan.shards.map((spec) => taskMessage(task.runId, stage, 0, spec.shard)) };
}
