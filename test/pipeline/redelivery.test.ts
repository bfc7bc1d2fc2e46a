import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../lib/pipeline/keys.ts';
import { readRun } from '../../lib/pipeline/run/runRecord.ts';
import { parseRunOptions, type RunOptions, type RunOptionsInput } from '../../lib/pipeline/runOptions.ts';
import { STAGES } from '../../lib/pipeline/taskMessage.ts';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import {
  advancedMarkers,
  type DeliveryPlan,
  type DrivenRun,
  driveRun,
  outputText,
  reduceStepRuns,
  stepName,
} from './support/manualDriver.ts';
import { comparableReport, type RunOutput, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * DESIGN.md section 5, at-least-once delivery: a pipeline driven by hand (startRun + executeTask over queues
 * drained here) where every message is delivered twice, some reduce messages three times, in a random order
 * across both queues and with shard tasks running concurrently, gives byte-identical output to a clean run,
 * runs every reduce step exactly once, and counts nothing twice.
 */

/** Blobs with two bad rows and one repeated id, so rejected rows are part of what must not be counted twice. */
function inputText(): string {
  const lines = csvText(blobRows({ n: 150, d: 4, seed: 3 }))
    .trimEnd()
    .split('\n');
  lines[20] = lines[20].replace(/,[^,]*$/, ',abc'); // non-numeric feature
  lines[90] = lines[90].split(',').slice(0, 4).join(','); // too few fields
  const repeatedId = lines[10].split(',')[0];
  lines[130] = [repeatedId, ...lines[130].split(',').slice(1)].join(',');
  return `${lines.join('\n')}\n`;
}

/** Every message twice, reduce messages three times half of the time; run started twice. */
const DUPLICATING: Omit<DeliveryPlan, 'seed'> = {
  copies: (_message, queue, random) => (queue === 'reduce' && random() < 0.5 ? 3 : 2),
  concurrency: 3,
  starts: 2,
};

interface Reference {
  readonly options: RunOptions;
  readonly embedded: RunOutput;
  readonly driven: DrivenRun;
}

let input = '';
let runCounter = 0;

async function reference(optionsInput: RunOptionsInput): Promise<Reference> {
  const options = parseRunOptions(optionsInput);
  const embedded = await runPipeline(input, optionsInput);
  const driven = await driveRun(input, join(await tempDir(), 'state'), options, `clean-${++runCounter}`);
  return { options, embedded, driven };
}

async function assertSameAsClean(run: DrivenRun, clean: Reference): Promise<void> {
  const record = await readRun(run.store, run.runId);
  expect(record.status, record.error).toBe('succeeded');
  expect(record.shards).toBe(3);
  expect((await outputText(run, 'labels.csv')) === clean.embedded.labels, 'labels.csv differs byte for byte').toBe(
    true,
  );
  expect(await outputText(run, 'rejected.csv')).toBe(clean.embedded.rejected);
  const report = JSON.parse((await outputText(run, 'report.json')) ?? '{}') as Record<string, unknown>;
  expect(comparableReport(report)).toEqual(comparableReport(clean.embedded.report));

  const steps = reduceStepRuns(run);
  expect(Object.fromEntries(steps)).toEqual(Object.fromEntries([...steps.keys()].map((name) => [name, 1])));
  expect((await advancedMarkers(run)).sort()).toEqual([...steps.keys()].sort());
  expect((await advancedMarkers(run)).sort()).toEqual((await advancedMarkers(clean.driven)).sort());

  // Approximate neighbours: one neighbors task per cell range, not per shard.
  const tasksOf = (stage: string) =>
    stage === 'neighbors' && record.neighbors?.ranges !== undefined ? record.neighbors.ranges : record.shards;
  for (const message of run.sent.filter((sent) => sent.queue === 'tasks')) {
    const markers = await run.store.list(keys.markers(run.runId, message.body.stage, message.body.round));
    expect(markers.length, `markers of ${stepName(message.body)}`).toBe(tasksOf(message.body.stage));
  }
  const fannedOut = new Map<string, number>();
  for (const { body } of run.sent.filter((sent) => sent.queue === 'tasks')) {
    fannedOut.set(stepName(body), (fannedOut.get(stepName(body)) ?? 0) + 1);
  }
  expect(
    [...fannedOut.entries()].every(([step, count]) => count === tasksOf(step.replace(/-\d+$/, ''))),
    'each stage fanned out once',
  ).toBe(true);
}

function duplicatesIgnored(run: DrivenRun): number {
  return run.log.lines.filter((line) => line.message === 'reduce step already done; duplicate ignored').length;
}

/** Whether a message of an earlier stage was delivered after one of a later stage (out of order). */
function hasStaleDelivery(run: DrivenRun): boolean {
  let latest = -1;
  for (const { body } of run.delivered) {
    const position = STAGES.indexOf(body.stage);
    if (position < latest) return true;
    latest = Math.max(latest, position);
  }
  return false;
}

beforeAll(async () => {
  input = await writeInput(await tempDir(), 'blobs.csv', inputText());
});

afterAll(removeTempDirs);

describe('every message delivered twice or more, in any order', () => {
  const optionsInput: RunOptionsInput = {
    method: 'label-spreading',
    kernel: 'knn',
    neighbors: 5,
    shards: 3,
    workers: 1,
  };
  let clean: Reference;

  beforeAll(async () => {
    clean = await reference(optionsInput);
  });

  it('the hand-driven clean run (each message once, in order) matches the embedded runner', async () => {
    // Prepare
    const run = clean.driven;
    // Act
    const labels = await outputText(run, 'labels.csv');
    // Assess
    expect(labels === clean.embedded.labels, 'labels.csv differs byte for byte').toBe(true);
    expect((await advancedMarkers(run)).sort()).toEqual(['collect-0', 'finalize-0', 'plan-0', 'propagate-0']);
    expect(clean.embedded.report.rejected).toBe(3);
    expect(run.delivered.length).toBe(run.sent.length);
  });

  it('label spreading: byte-identical output, each reduce step once, markers == shards (property over orders)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
        // Prepare
        const stateDir = join(await tempDir(), 'state');
        // Act
        const run = await driveRun(input, stateDir, clean.options, `dup-${++runCounter}`, { ...DUPLICATING, seed });
        // Assess
        expect(run.delivered.length).toBeGreaterThanOrEqual(2 * run.sent.length);
        expect(duplicatesIgnored(run), 'reduceOnce ignored some duplicates').toBeGreaterThan(0);
        expect(hasStaleDelivery(run), 'some message was delivered after a later stage had started').toBe(true);
        await assertSameAsClean(run, clean);
      }),
      { numRuns: 8, seed: 20_251_128 },
    );
  });

  it('finalize delivered again after the run succeeded changes nothing', async () => {
    // Prepare
    const stateDir = join(await tempDir(), 'state');
    const finalizeThrice: DeliveryPlan = {
      copies: (message) => (message.stage === 'finalize' ? 3 : 1),
    };
    // Act
    const run = await driveRun(input, stateDir, clean.options, `late-${++runCounter}`, finalizeThrice);
    // Assess
    expect(run.delivered.filter((d) => d.body.stage === 'finalize').length).toBe(3);
    expect(run.log.lines.filter((line) => line.message === 'run has ended; task ignored').length).toBe(2);
    await assertSameAsClean(run, clean);
  });
});

describe('self-training rounds (score tasks and reduce steps per round), every message twice', () => {
  const optionsInput: RunOptionsInput = { method: 'self-training', threshold: 0.9, rounds: 3, shards: 3, workers: 1 };
  let clean: Reference;

  beforeAll(async () => {
    clean = await reference(optionsInput);
  });

  it('runs more than one round, so round keys are exercised', async () => {
    // Prepare
    const steps = await advancedMarkers(clean.driven);
    // Act
    const reduceRounds = steps.filter((name) => name.startsWith('reduce-'));
    // Assess
    expect(reduceRounds.length).toBeGreaterThan(1);
  });

  it.each([101, 202])('seed %i: byte-identical output, each reduce step once', async (seed) => {
    // Prepare
    const stateDir = join(await tempDir(), 'state');
    // Act
    const run = await driveRun(input, stateDir, clean.options, `st-${++runCounter}`, { ...DUPLICATING, seed });
    // Assess
    expect(duplicatesIgnored(run)).toBeGreaterThan(0);
    await assertSameAsClean(run, clean);
  });
});

describe('approximate neighbours (sample and cells tasks, train and calibrate steps), every message twice', () => {
  const optionsInput: RunOptionsInput = { neighborsMode: 'approx', neighbors: 5, shards: 3, workers: 1 };
  let clean: Reference;

  beforeAll(async () => {
    clean = await reference(optionsInput);
  });

  it('the clean run drew the IVF sample in shard tasks and searched IVF cells', async () => {
    // Prepare
    const record = await readRun(clean.driven.store, clean.driven.runId);
    // Act
    const steps = await advancedMarkers(clean.driven);
    // Assess
    expect(record.neighbors?.mode).toBe('approx');
    expect(steps).toContain('train-0');
    expect(steps).toContain('calibrate-0');
  });

  it.each([303, 404])('seed %i: byte-identical output, each reduce step once', async (seed) => {
    // Prepare
    const stateDir = join(await tempDir(), 'state');
    // Act
    const run = await driveRun(input, stateDir, clean.options, `ivf-${++runCounter}`, { ...DUPLICATING, seed });
    // Assess
    expect(duplicatesIgnored(run)).toBeGreaterThan(0);
    await assertSameAsClean(run, clean);
  });
});
