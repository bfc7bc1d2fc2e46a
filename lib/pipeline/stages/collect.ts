import { type RejectedRow, UNLABELLED } from '../../data/dataset.ts';
import { encodeLabels } from '../../data/encodeLabels.ts';
import type { FeatureScaling } from '../../data/featureScaling.ts';
import { type IdHasher, IdHashes, idHasher } from '../../data/idHashes.ts';
import { decodeShard } from '../../data/shardFormat.ts';
import { InputError, OptionsError } from '../../errors.ts';
import { FeatureRange } from '../../linalg/int16Codes.ts';
import { packArrays } from '../binaryArrays.ts';
import { checkCapacity, embeddedHost } from '../capacity.ts';
import { DEFAULT_CARRY_THRESHOLD, ORIGIN, readCarriedLabels, readConfirmedLabels } from '../datasets/carriedLabels.ts';
import { reusedIvfTraining } from '../incremental/incrementalIvf.ts';
import { readJson, writeJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { chooseAuto } from '../modelSelection/autoChoice.ts';
import { checkHoldoutSize } from '../modelSelection/holdout.ts';
import { holdoutOfRun } from '../modelSelection/holdoutRun.ts';
import { checkDistanceRange } from '../neighbors/distanceRange.ts';
import { writeIvfCodes, writeIvfTraining } from '../neighbors/ivfObjects.ts';
import { planNeighbors } from '../neighbors/neighborsPlan.ts';
import { putRejectedCsv } from '../outputs/outputFiles.ts';
import { allRejected, commonReasons } from '../outputs/rejectedRows.ts';
import { shardMetricsOf } from '../run/fanIn.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import { runLimits } from '../runLimits.ts';
import { isGraphMethod } from '../runOptions.ts';
import type { Collected } from '../shards/collected.ts';
import { checkRepeats, type HashRepeat, LINE_SPAN, type ShardIds } from '../shards/duplicateIds.ts';
import { RunScaling } from '../shards/runScaling.ts';
import { placeShard, type ShardPlace, ShardPlaces } from '../shards/shardPlace.ts';
import type { ShardPlan } from '../shards/shardPlan.ts';
import { readShardIds, readShardRows } from '../shards/shardRowReads.ts';
import { eachIdHash, readShardSummary } from '../shards/shardSummary.ts';
import type { StageContext } from '../stageContext.ts';
import { type Stage, type TaskMessage, taskMessage } from '../taskMessage.ts';
import { checkGivenLabels } from '../training/labelDataset.ts';

/** Whether a method needs the kNN graph (and so the neighbors stage). */
export function needsNeighbors(method: string, kernel: string): boolean {
  if (method === 'auto') return true;
  return isGraphMethod(method) && kernel !== 'rbf';
}

/** The rows the ingest tasks accepted (duplicates included), from their markers; undefined when one does not say. */
async function ingestedRows(ctx: StageContext, runId: string, plan: ShardPlan): Promise<number | undefined> {
  const ingested = await shardMetricsOf(ctx, runId, 'ingest');
  if (ingested.length !== plan.shards.length || ingested.some((metrics) => metrics.rows === undefined))
    return undefined;
  return ingested.reduce((total, metrics) => total + (metrics.rows ?? 0), 0);
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
 * encodeLabels over every shard's labels, from the distinct labels (in first-seen order, numbered by `codes`) and
 * every row's code (-1 unlabelled), which become the rows' classes in place: the same classes (numpy.unique order)
 * and y, without a JS array of every row's label.
 */
function encodeCodedLabels(codes: Map<string, number>, y: Int32Array): string[] {
  const { classes } = encodeLabels([...codes.keys()]);
  const classOf = new Int32Array(codes.size);
  const index = new Map(classes.map((name, c) => [name, c]));
  for (const [label, code] of codes) classOf[code] = index.get(label)!;
  for (let i = 0; i < y.length; i++) y[i] = y[i] < 0 ? UNLABELLED : classOf[y[i]];
  return classes;
}

function grown(array: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(Math.max(length, 2 * array.length));
  next.set(array);
  return next;
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

/** A row whose id hash repeats an earlier row's, where it is and its hash's words. */
interface Repeat extends HashRepeat {
  readonly local: number;
  readonly high: number;
  readonly low: number;
  readonly input: number;
  readonly file: string;
}

/**
 * The shards holding a row whose id hash is one of the repeats' (the repeats' own shards, and those of the rows
 * they repeat), found by a second read of the summaries: the only shards whose ids the byte-for-byte check of
 * the repeats needs. None are read when nothing repeats.
 */
async function repeatHolders(
  ctx: StageContext,
  runId: string,
  plan: ShardPlan,
  pass: { shards: Collected['shards']; repeats: readonly Repeat[] },
  hashOf: IdHasher,
): Promise<Set<number>> {
  const holders = new Set<number>();
  if (pass.repeats.length === 0) return holders;
  const lastShard = Math.max(...pass.repeats.map((repeat) => repeat.shard));
  const highs = new Set(pass.repeats.map((repeat) => repeat.high));
  const repeated = new Set(pass.repeats.map((repeat) => repeat.hash));
  for (let s = 0; s <= lastShard; s++) {
    const summary = await readShardSummary(ctx, runId, plan.shards[s].shard, hashOf);
    eachIdHash(summary, pass.shards[s].place, hashOf, (_, high, low) => {
      if (highs.has(high) && repeated.has(`${high}.${low}`)) holders.add(s);
    });
  }
  return holders;
}

/**
 * The range of every row as the neighbors search codes it: scaled rows' range from the unscaled one (a scaled
 * value, (x - centre) / scale rounded to Float32, is non-decreasing in x: the extremes stay the extremes).
 */
function scaledRange(range: FeatureRange, scaling: FeatureScaling | undefined): FeatureRange {
  if (scaling === undefined || scaling.method === 'none' || scaling.center.length === 0) return range;
  const { low, high } = range.bounds;
  const scaled = new FeatureRange(range.d);
  const at = (values: Float32Array, t: number) =>
    Number.isFinite(values[t]) ? Math.fround((values[t] - scaling.center[t]) / scaling.scale[t]) : values[t];
  scaled.widen(
    Array.from(low, (_, t) => at(low, t)),
    Array.from(high, (_, t) => at(high, t)),
  );
  return scaled;
}

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
  const all =
    rejected.length === 1
      ? 'the only row was rejected, with its'
      : `all ${rejected.length} rows were rejected, each with its`;
  throw new InputError(`${source}: ${all} line and reason in rejected.csv; ${commonReasons(rejected).join('; ')}`);
}

/**
 * Runs checks that refuse a run for what its accepted rows hold (their labels, the holdout's size, --neighbors
 * against the rows). When one refuses it and rows were rejected, they may be why (a label on a rejected row is not
 * given): they go to rejected.csv (the embedded runner copies it to --out), and the message says how many and why.
 */
async function withRejectedRows(
  ctx: StageContext,
  runId: string,
  rejectedOf: () => Promise<RejectedRow[]>,
  checks: () => void,
): Promise<void> {
  try {
    checks();
  } catch (error) {
    if (!(error instanceof InputError || error instanceof OptionsError)) throw error;
    const rejected = await rejectedOf();
    if (rejected.length > 0) {
      await putRejectedCsv(ctx.store, keys.output(runId, ''), rejected);
      const rows =
        rejected.length === 1
          ? '1 row was rejected and left out, with its'
          : `${rejected.length} rows were rejected and left out, each with its`;
      error.message += `; ${rows} line and reason in rejected.csv: ${commonReasons(rejected).join('; ')}`;
    }
    throw error;
  }
}

/**
 * collect (reduce step, after every ingest task): drops rows whose id repeats an earlier one (the first wins,
 * in input order), encodes the labels of all shards into one class list (numpy.unique order), checks that
 * learning is possible, refuses a run that cannot fit its host now that rows and classes are known (capacity.ts),
 * and fans out the neighbors tasks (exact), the sample tasks (approx: their IVF sample goes to the train step,
 * which fans out the cells tasks), or goes straight to propagate. It reads the shards' summaries, not the shards.
 */
export async function collectStage(
  ctx: StageContext,
  task: TaskMessage,
): Promise<{ tasks?: TaskMessage[]; reduce?: TaskMessage[] }> {
  const run = await readRun(ctx.store, task.runId);
  const plan = await readJson<ShardPlan>(ctx.store, keys.plan(task.runId));
  const inputs = ctx.inputs(run.inputRoot);
  let neighbors = needsNeighbors(run.options.method, run.options.kernel);
  const source = run.inputs.length === 1 ? inputs.describe(run.inputs[0].key) : run.dataset;
  const features = plan.featureNames.length;
  const host = run.host ?? embeddedHost(undefined, runLimits().memoryBytes);
  const ingested = await ingestedRows(ctx, task.runId, plan);
  // The capacity model again with the rows ingested, before the id hashes are allocated for them.
  if (ingested !== undefined) {
    const size = { rows: ingested, features, classes: 2, shards: plan.shards.length, options: run.options };
    checkCapacity(size, host);
  }
  // Rounds across runs (dataset runs): corrections under incoming/<dataset>/confirmed/ override any label, and
  // with carryForward the latest version's confident labels fill rows the user left unlabelled. Both maps are
  // bounded: the corrections' rows, and the version's rows of confidence >= carryThreshold.
  const confirmed = run.versioned ? await readConfirmedLabels(ctx.store, run.dataset) : new Map<string, string>();
  const carried =
    run.versioned && run.options.carryForward
      ? await readCarriedLabels(ctx.store, run.dataset, run.options.carryThreshold ?? DEFAULT_CARRY_THRESHOLD)
      : new Map<string, string>();
  const overrides = confirmed.size > 0 || carried.size > 0;

  /**
   * One read of every shard's summary (shardSummary.ts), in order: drops the rows whose id hash repeats an
   * earlier row's (but the ingested row indices in `collisions`, ids of their own whose hash collided), codes
   * their labels and merges their statistics and feature ranges. What it keeps per row of the run: 8 bytes of id
   * hash (IdHashes, 11.4 with its free slots) and a 4-byte label code; the rest is one summary at a time and the
   * repeats. The shards are read only for the repeats (their ids and rows) and, in dataset runs with label
   * overrides, for their ids (not their rows).
   */
  const hashOf = idHasher();
  const readShards = async (collisions: ReadonlySet<number>) => {
    const hashes = new IdHashes(ingested, hashOf);
    const shards: Collected['shards'] = [];
    const repeats: Repeat[] = [];
    const scaling = new RunScaling(features, run.options.scale);
    // The run's 16-bit codes cover every row (ivfObjects.ts): their range, from every ingested row's.
    const range = new FeatureRange(features);
    const rows: number[] = [];
    // Each row's label as a code of `labelCodes` (first-seen order; -1 unlabelled), made classes at the end.
    const labelCodes = new Map<string, number>();
    let y = new Int32Array(ingested ?? 0);
    const shardOrigins: Uint8Array[] = [];
    let offset = 0;
    let ingestedBefore = 0;
    // Each shard's lines in its file, from the lines the shards before it span (the plan does not count them).
    const places = new ShardPlaces(run.inputs.map((input) => input.key));
    for (const [s, spec] of plan.shards.entries()) {
      const summary = await readShardSummary(ctx, task.runId, spec.shard, hashOf);
      const place = places.place(spec, summary.spannedLines);
      // Overrides are by id: the shard's ids are read (not its rows) in the dataset runs that have them.
      const ids = overrides ? await readShardIds(ctx, task.runId, spec.shard, summary, place) : undefined;
      const file = inputs.describe(run.inputs[spec.input].key);
      if (y.length < offset + summary.n) y = grown(y, offset + summary.n);
      const origins = new Uint8Array(overrides ? summary.n : 0);
      let kept = 0;
      const dropped: number[] = [];
      range.widen(summary.low, summary.high);
      const { labelled, labels } = summary;
      let next = 0; // the first labelled row not before the current row
      eachIdHash(summary, place, hashOf, (i, high, low) => {
        const row = ingestedBefore + i;
        if (hashes.seenOrAddHash(high, low) && !collisions.has(row)) {
          dropped.push(i);
          repeats.push({
            ingested: row,
            shard: s,
            local: i,
            high,
            low,
            hash: `${high}.${low}`,
            input: spec.input,
            file,
          });
          return;
        }
        while (next < labelled.length && labelled[next] < i) next++;
        let label = next < labelled.length && labelled[next] === i ? labels[summary.labelCodes[next]] : null;
        if (ids) {
          const id = ids[i];
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
        y[offset + kept++] = code;
      });
      if (overrides) shardOrigins.push(origins.subarray(0, kept));
      scaling.addSums(summary.moments);
      const droppedRows = await readShardRows(ctx, task.runId, spec.shard, features, dropped);
      for (let r = 0; r < dropped.length; r++)
        scaling.subtractRow(droppedRows.subarray(r * features, (r + 1) * features));
      shards.push({ rows: kept, offset, dropped, place });
      rows.push(summary.n);
      offset += kept;
      ingestedBefore += summary.n;
    }
    return { shards, repeats, scaling, range, rows, labelCodes, y: y.subarray(0, offset), shardOrigins, offset };
  };

  // A repeated hash is a duplicate id or, rarely, a collision: re-checked byte for byte (duplicateIds.ts) in the
  // shards that hold a row of a repeated hash, and the summaries are read again keeping the colliding rows when
  // there is one.
  let pass = await readShards(new Set());
  const lineOf = new Map<number, number>();
  const shardIds = async (s: number): Promise<ShardIds> => {
    const spec = plan.shards[s];
    const decoded = decodeShard(await ctx.store.get(keys.shardData(task.runId, spec.shard)));
    const shard = placeShard(decoded, pass.shards[s].place);
    for (const repeat of pass.repeats) if (repeat.shard === s) lineOf.set(repeat.ingested, shard.lines[repeat.local]);
    return {
      n: shard.n,
      idBytes: shard.idBytes,
      idOffsets: shard.idOffsets,
      idOf: (i) => shard.ids[i],
      placeOf: (i) => spec.input * LINE_SPAN + shard.lines[i],
    };
  };
  const holders = await repeatHolders(ctx, task.runId, plan, pass, hashOf);
  const checks = await checkRepeats(pass.repeats, shardIds, hashOf, { shards: holders, rows: pass.rows });
  const collisions = new Set([...checks].filter(([, check]) => check.first === undefined).map(([row]) => row));
  if (collisions.size > 0) pass = await readShards(collisions);
  const { shards, scaling, range, y, offset } = pass;
  const duplicates: Collected['duplicates'] = pass.repeats.map((repeat) => {
    const { id, first = 0 } = checks.get(repeat.ingested)!;
    const firstFile = inputs.describe(run.inputs[Math.floor(first / LINE_SPAN)].key);
    const reason = `duplicate id "${id}" (first at ${firstFile}:${first % LINE_SPAN})`;
    return { input: repeat.input, file: repeat.file, line: lineOf.get(repeat.ingested)!, reason };
  });
  const places = shards.map((shard) => shard.place);
  if (offset === 0) await refuseAllRejected(ctx, task.runId, plan, duplicates, places, source);
  const classes = encodeCodedLabels(pass.labelCodes, y);
  const origins = overrides ? concatBytes(pass.shardOrigins, offset) : undefined;
  // The capacity model once more with the rows and classes now known, before the neighbors and propagate steps
  // (the classes' distributions: a label column of as many classes as rows is refused here).
  checkCapacity(
    { rows: offset, features, classes: classes.length, shards: plan.shards.length, options: run.options },
    host,
  );
  const rejectedOf = () => allRejected(ctx, task.runId, plan, places, duplicates);
  await withRejectedRows(ctx, task.runId, rejectedOf, () => {
    checkGivenLabels(y, classes, source);
    checkHoldoutSize(y, run.options.holdout, run.options.seed, origins);
    if (neighbors && run.options.neighbors > offset) {
      throw new OptionsError(
        `--neighbors ${run.options.neighbors} is more than the ${offset} rows of ${source}: use --neighbors ${offset} or fewer`,
      );
    }
  });
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
  // The rows' range as the kNN graph sees them: checked here, and the run's 16-bit codes below.
  const graphRange = scaledRange(range, collected.scaling);
  if (neighbors) checkDistanceRange(graphRange.bounds, plan.featureNames, source, run.options.scale);
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
  // Approximate search: the IVF training sample is drawn by the sample tasks (each reads its own shard) and
  // trained on by the train step, unless a dataset run that only adds files keeps the latest version's index
  // (incremental/incrementalIvf.ts). The run's 16-bit codes cover every row: from the summaries' ranges here.
  let stage: Stage = 'neighbors';
  if (search.mode === 'approx') {
    const reused = await reusedIvfTraining(ctx, run, collected);
    if (reused) await writeIvfTraining(ctx, task.runId, reused);
    else await writeIvfCodes(ctx, task.runId, graphRange.codes());
    stage = reused ? 'cells' : 'sample';
  }
  await updateRun(ctx.store, task.runId, (record) => {
    record.neighbors = search;
    record.stage = stage;
  });
  return { tasks: plan.shards.map((spec) => taskMessage(task.runId, stage, 0, spec.shard)) };
}
