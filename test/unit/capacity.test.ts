import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_IDS } from '../../lib/data/idHashes.ts';
import { CapacityError } from '../../lib/errors.ts';
import { defaultNlist } from '../../lib/graph/ivf/ivfModel.ts';
import {
  CELLS_BYTES_PER_CENTROID,
  COLLECT_BYTES_PER_ROW,
  checkCapacity,
  embeddedHost,
  estimateRows,
  estimateSteps,
  lambdaHost,
  type RunSize,
  trainSampleBytes,
} from '../../lib/pipeline/capacity.ts';

const MB = 2 ** 20;

type Measured = { sizes: { n: number; shards: number; stages: { stage: string; largestTaskPeakRssMb: number }[] }[] };
const measured = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../bench/measured/${name}`, import.meta.url), 'utf8')) as Measured;
/** The shape the constants were measured on: bench/measured/scaleout-mixture-250k-e812d6d.json. */
const MEASURED = measured('scaleout-mixture-250k-e812d6d.json');
/**
 * The approx probes and neighbors constants: the scale-out runs with queries routed to the ranges they probe,
 * 250k and 2M rows, 62,500 a shard.
 */
const NEIGHBORS_MEASURED = measured('scaleout-mixture-250k-2m-tm512-routed.json').sizes;
/** collect's constants: the scale-out runs at 250k to 2M rows, 62,500 a shard, --task-memory 512, id hashes. */
/** collect reading the shards' summaries, the IVF sample drawn by the sample tasks. */
const COLLECT_MEASURED = measured('scaleout-mixture-250k-1m-tm512-collectsum.json').sizes;

function size(overrides: Omit<Partial<RunSize>, 'options'> & { options?: Partial<RunSize['options']> } = {}): RunSize {
  return {
    rows: 250_000,
    features: 64,
    classes: 10,
    shards: 4,
    ...overrides,
    options: { method: 'label-spreading', kernel: 'knn', neighbors: 10, ...overrides.options },
  };
}

function thrown(act: () => unknown): Error {
  try {
    act();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a CapacityError');
}

describe('estimateSteps', () => {
  it('gives back the peaks measured at the shape the constants come from, within 5%', () => {
    // Prepare
    const [measured] = MEASURED.sizes;

    // Act
    const steps = estimateSteps(size({ rows: measured.n, shards: measured.shards }));

    // Assess (collect, probes and neighbors: see the next tests; sample and train came after these runs)
    const later = ['collect', 'probes', 'neighbors', 'sample', 'train'];
    for (const step of steps.filter((s) => !later.includes(s.stage))) {
      const peak = measured.stages.find((stage) => stage.stage === step.stage)?.largestTaskPeakRssMb;
      expect(peak, step.stage).toBeDefined();
      expect(step.bytes / MB / (peak as number), step.stage).toBeCloseTo(1, 1);
    }
  });

  it("bounds collect's measured peaks at 250k and 1M rows, within 1.25 times", () => {
    for (const run of COLLECT_MEASURED) {
      // Act
      const collect = estimateSteps(size({ rows: run.n, shards: run.shards })).find((s) => s.stage === 'collect');

      // Assess
      const peak = run.stages.find((stage) => stage.stage === 'collect')?.largestTaskPeakRssMb as number;
      expect((collect?.bytes ?? 0) / MB, `${run.n} rows`).toBeGreaterThanOrEqual(peak);
      expect((collect?.bytes ?? 0) / MB, `${run.n} rows`).toBeLessThanOrEqual(1.25 * peak);
    }
  });

  it.each([
    { stage: 'neighbors', most: 1.15 },
    // the copies of a shard's rows to other ranges grow with the ranges (at most nprobe - 1 a row): the 2M figure
    { stage: 'probes', most: 1.4 },
  ])('gives back the approx $stage peaks measured with routed queries at 250k and 2M rows', ({ stage, most }) => {
    for (const run of NEIGHBORS_MEASURED) {
      // Act
      const step = estimateSteps(size({ rows: run.n, shards: run.shards })).find((s) => s.stage === stage);

      // Assess
      const peak = run.stages.find((measured) => measured.stage === stage)?.largestTaskPeakRssMb as number;
      expect((step?.bytes ?? 0) / MB / peak, `${run.n} rows`).toBeGreaterThan(0.97);
      expect((step?.bytes ?? 0) / MB / peak, `${run.n} rows`).toBeLessThan(most);
    }
  });

  it('keeps ingest, cells (but its centroids), probes and neighbors flat at fixed rows per shard, collect growing by a few bytes a row', () => {
    // Prepare
    const at = (rows: number) => estimateSteps(size({ rows, shards: rows / 62_500 }));

    // Act
    const small = at(2_000_000);
    const large = at(20_000_000);

    // Assess
    const bytes = (steps: ReturnType<typeof at>, stage: string) => steps.find((s) => s.stage === stage)?.bytes ?? 0;
    for (const stage of ['ingest', 'sample', 'probes', 'neighbors']) {
      expect(bytes(large, stage), stage).toBeGreaterThan(0);
      expect(bytes(large, stage), stage).toBe(bytes(small, stage));
    }
    // cells: flat but for the centroids of the model (about 2 KB each at d = 64, 15 MB more at 20M rows)
    const centroids = defaultNlist(20_000_000) - defaultNlist(2_000_000);
    expect(bytes(large, 'cells') - bytes(small, 'cells')).toBeCloseTo(centroids * CELLS_BYTES_PER_CENTROID(64));
    expect(CELLS_BYTES_PER_CENTROID(64)).toBeLessThan(2_100);
    expect(bytes(large, 'collect') - bytes(small, 'collect')).toBeCloseTo(18_000_000 * COLLECT_BYTES_PER_ROW);
    // the IVF sample: drawn by the sample tasks (flat above), trained on by the train step (40 rows a cell)
    const sample = trainSampleBytes(20_000_000, 64) - trainSampleBytes(2_000_000, 64);
    expect(bytes(large, 'train') - bytes(small, 'train')).toBeCloseTo(sample);
    expect(COLLECT_BYTES_PER_ROW).toBeLessThanOrEqual(24);
  });

  it('plans fanned-out propagation once one process would need more than half a task: partition tasks', () => {
    // Act: 1.5M rows need about 1.1 GB in one process, 2.5M about 1.8 GB: half a default 3,008 MB task is 1.5 GB
    const below = estimateSteps(size({ rows: 1_500_000, shards: 24 })).map((step) => step.stage);
    const above = estimateSteps(size({ rows: 2_500_000, shards: 40 }));

    // Assess
    expect(below).toContain('propagate');
    expect(above.map((step) => step.stage)).not.toContain('propagate');
    expect(above.find((step) => step.stage === 'iterate')?.shardTask).toBe(true);
  });

  it('plans the fan-out sooner where one process would not fit --task-memory, and lets the run through', () => {
    // Prepare
    const run = size({ rows: 900_000, shards: 16, options: { taskMemory: 512 } });

    // Act
    const steps = checkCapacity(run, embeddedHost(512, 24 * 2 ** 30));

    // Assess
    expect(steps.map((step) => step.stage)).toContain('iterate');
    expect(steps.map((step) => step.stage)).not.toContain('propagate');
  });

  it('plans the fit of self-training in its reduce step and no neighbors', () => {
    // Act
    const stages = estimateSteps(size({ options: { method: 'self-training' } })).map((step) => step.stage);

    // Assess
    expect(stages).toEqual(['ingest', 'collect', 'score', 'reduce', 'outcome', 'finalize']);
  });
});

describe('checkCapacity', () => {
  it('lets the measured 250k run through on --task-memory 512', () => {
    // Act
    const steps = checkCapacity(size(), embeddedHost(512, 24 * 2 ** 30));

    // Assess
    expect(steps.every((step) => step.bytes <= 512 * MB)).toBe(true);
  });

  it('refuses 50M rows in a 512 MB reducer, naming the step and the reducer memory it needs', () => {
    // Prepare
    const run = size({ rows: 50_000_000, shards: 800 });

    // Act
    const error = thrown(() => checkCapacity(run, lambdaHost(10_240, 512)));

    // Assess
    expect(error).toBeInstanceOf(CapacityError);
    expect(error.message).toMatch(
      /^the run cannot fit: the collect step would need about [\d,]+ MB for 50,000,000 rows x 64 features, over the reducer Lambda's 512 MB; use more reducer memory \(reducerMemoryMb \d+ in the stack config\)$/,
    );
    const needed = Number(/reducerMemoryMb (\d+)/.exec(error.message)?.[1]);
    const collect = estimateSteps(run).find((step) => step.stage === 'collect');
    expect(collect?.bytes).toBeLessThanOrEqual(needed * MB);
  });

  it("holds collect for 100M rows in Lambda's default 3,008 MB reducer (issue 16: a few bytes a row)", () => {
    // Act
    const collect = estimateSteps(size({ rows: 100_000_000, shards: 1600 })).find((step) => step.stage === 'collect');

    // Assess
    expect(collect?.bytes).toBeLessThan(3008 * MB);
  });

  it('refuses a run past the most ids duplicate-id detection holds, on any host', () => {
    // Act
    const error = thrown(() =>
      checkCapacity(size({ rows: MAX_IDS + 1, shards: 1000 }), embeddedHost(undefined, 2 ** 50)),
    );

    // Assess
    expect(error).toBeInstanceOf(CapacityError);
    expect(error.message).toMatch(
      /duplicate-id detection holds at most 751,619,276 ids .* split the input into several runs/,
    );
  });

  it('refuses self-training over 100,000 classes on 100,000 rows on --task-memory 3008: its score tasks', () => {
    // Prepare: one shard: its score task would hold 100,000 rows x 100,000 classes x 16 bytes
    const run = size({ rows: 100_000, shards: 1, classes: 100_000, options: { method: 'self-training' } });

    // Act
    const error = thrown(() => checkCapacity(run, embeddedHost(3008, 24 * 2 ** 30)));

    // Assess
    expect(error.message).toMatch(/^the run cannot fit: each score task \(1 shards\) would need about/);
    expect(error.message).toContain('100,000 classes a row: is the label column (--label-column) the right one?');
  });

  it('refuses 10,000 classes on 50,000 rows on a 16 GiB machine, asking about the label column; accepts 1,000', () => {
    // Prepare
    const host = embeddedHost(undefined, 16 * 2 ** 30);

    // Act
    const error = thrown(() => checkCapacity(size({ rows: 50_000, shards: 1, classes: 10_000 }), host));

    // Assess
    expect(error).toBeInstanceOf(CapacityError);
    expect(error.message).toContain('10,000 classes a row: is the label column (--label-column) the right one?');
    expect(() => checkCapacity(size({ rows: 50_000, shards: 1, classes: 1000 }), host)).not.toThrow();
  });

  it("plans the fan-out by the reducer's memory on Lambda, so a small reducer runs a run it could not hold", () => {
    // Act
    const steps = checkCapacity(size({ rows: 900_000, shards: 16 }), lambdaHost(3008, 512));

    // Assess
    expect(steps.map((step) => step.stage)).toContain('iterate');
    expect(steps.map((step) => step.stage)).not.toContain('propagate');
  });

  it('says when a step is over the largest Lambda', () => {
    // Act
    const error = thrown(() => checkCapacity(size({ rows: 200_000_000, shards: 3_200 }), lambdaHost(3008, 10_240)));

    // Assess
    expect(error.message).toContain("over Lambda's 10,240 MB");
  });

  it('names a shard count at which a shard task fits', () => {
    // Prepare
    const run = size({ rows: 2_000_000, shards: 2 });
    const host = embeddedHost(1024, 24 * 2 ** 30);

    // Act
    const error = thrown(() => checkCapacity(run, host));

    // Assess
    expect(error.message).toMatch(/^the run cannot fit: each ingest task \(2 shards\) would need about/);
    expect(error.message).toContain('over --task-memory 1024 MB');
    const shards = Number(/--shards (\d+)/.exec(error.message)?.[1]);
    const ingest = estimateSteps({ ...run, shards }).find((step) => step.stage === 'ingest');
    expect(ingest?.bytes).toBeLessThanOrEqual(1024 * MB);
    expect(error.message).toContain('or --task-memory');
  });

  it('refuses exact search whose neighbors tasks would pass Lambda 15 minutes, pointing to approx mode', () => {
    // Prepare
    const run = size({ rows: 2_000_000, shards: 32, options: { neighborsMode: 'exact' } });

    // Act
    const error = thrown(() => checkCapacity(run, lambdaHost(3008, 10_240)));

    // Assess
    expect(error.message).toMatch(/each neighbors task \(32 shards\) would take about \d+ minutes/);
    expect(error.message).toContain("over Lambda's 15 minutes a task");
    expect(error.message).toContain('--neighbors-mode approx');
  });

  it('puts no time limit on the embedded runner', () => {
    // Prepare
    const run = size({ rows: 2_000_000, shards: 32, options: { neighborsMode: 'exact' } });

    // Act / Assess
    expect(() => checkCapacity(run, embeddedHost(undefined, 64 * 2 ** 30))).not.toThrow();
  });
});

describe('estimateRows', () => {
  it('divides the bytes by the mean line length of the head', () => {
    // Prepare: a header and lines of 10 bytes, the head cut in the middle of a line
    const head = new TextEncoder().encode(`${'a,b,c,d,\n'.padStart(10, 'h')}${'1,2,3,4,5\n'.repeat(99)}1,2,`);

    // Act
    const rows = estimateRows(100_000, head, 4);

    // Assess
    expect(rows).toBe(10_000);
  });

  it('falls back to 4 bytes a value without a head (Parquet)', () => {
    // Act / Assess
    expect(estimateRows(4_000_000, undefined, 100)).toBe(10_000);
  });
});
