import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type FeatureScaling,
  FeatureStatistics,
  type Scale,
  type ShardBlock,
  scaleInPlace,
  spreadWarning,
} from '../../lib/data/featureScaling.ts';
import { sklearnFixture } from '../support/sklearnFixtures.ts';

interface RealFixture {
  X: number[][];
  scaling: Record<'standard' | 'robust', { center: number[]; scale: number[]; transform: number[][] }>;
}

const REAL = ['iris', 'wine', 'breast_cancer', 'digits'];

function loadReal(name: string): RealFixture {
  return sklearnFixture<RealFixture>(`real_${name}`);
}

/** Row-major Float32 values, as the shards store them. */
function float32Rows(rows: readonly (readonly number[])[]): Float32Array {
  return Float32Array.from(rows.flat());
}

/** The statistics fed as shards of the given row counts (the rest in a last shard). */
async function scalingOf(data: Float32Array, d: number, method: Scale, cuts: number[]): Promise<FeatureScaling> {
  const n = data.length / d;
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < n), n];
  const blocks: ShardBlock[] = [];
  for (let s = 0; s + 1 < bounds.length; s++) {
    blocks.push({ data: data.subarray(bounds[s] * d, bounds[s + 1] * d), n: bounds[s + 1] - bounds[s] });
  }
  const statistics = new FeatureStatistics(d, method);
  for (const block of blocks) statistics.add(block);
  return statistics.finish(async (visit) => {
    for (const block of blocks) visit(block);
  });
}

function worstRelative(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  }
  return worst;
}

describe.each(REAL)("scaling matches scikit-learn's scalers on %s", (name) => {
  const fixture = loadReal(name);
  const d = fixture.X[0].length;
  const data = float32Rows(fixture.X);

  it.each(['standard', 'robust'] as const)('%s: centre, scale and transform within 1e-12', async (method) => {
    // Prepare
    const expected = fixture.scaling[method];
    // Act: three uneven shards
    const scaling = await scalingOf(data, d, method, [17, 101]);
    const transformed = Float64Array.from(data.subarray(0, 5 * d));
    scaleInPlace(transformed, d, scaling);
    // Assess
    expect(scaling.method).toBe(method);
    expect(worstRelative(scaling.center, expected.center)).toBeLessThanOrEqual(1e-12);
    expect(worstRelative(scaling.scale, expected.scale)).toBeLessThanOrEqual(1e-12);
    expect(worstRelative(transformed, expected.transform.flat())).toBeLessThanOrEqual(1e-12);
  });
});

describe('FeatureStatistics', () => {
  it('gives the same scaling for every split into shards', async () => {
    // Prepare
    const fixture = loadReal('wine');
    const data = float32Rows(fixture.X);
    const d = fixture.X[0].length;
    // Act
    const whole = await scalingOf(data, d, 'robust', []);
    const split = await scalingOf(data, d, 'robust', [1, 2, 50, 177]);
    const standardWhole = await scalingOf(data, d, 'standard', []);
    const standardSplit = await scalingOf(data, d, 'standard', [1, 2, 50, 177]);
    // Assess
    expect(split).toEqual(whole);
    expect(standardSplit).toEqual(standardWhole);
  });

  it('finds the exact percentiles of any Float32 values (negative, zero, repeated)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.float({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 1, -1)), {
          minLength: 1,
          maxLength: 60,
        }),
        fc.integer({ min: 0, max: 60 }),
        async (values, cut) => {
          // Prepare
          const data = Float32Array.from(values);
          const sorted = Float64Array.from(data).sort();
          const n = sorted.length;
          const percentile = (q: number) => {
            const index = (n - 1) * q;
            const low = Math.floor(index);
            const t = index - low;
            const a = sorted[low];
            const b = sorted[Math.min(n - 1, low + 1)];
            return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
          };
          // Act
          const scaling = await scalingOf(data, 1, 'robust', [cut]);
          // Assess
          const middle = (n - 1) / 2;
          const median = (sorted[Math.floor(middle)] + sorted[Math.ceil(middle)]) / 2;
          expect(scaling.center[0]).toBe(median);
          const range = percentile(0.75) - percentile(0.25);
          expect(scaling.scale[0]).toBe(range < 10 * Number.EPSILON ? 1 : range);
        },
      ),
    );
  });

  it('leaves out the rows to skip (duplicate ids)', async () => {
    // Prepare
    const data = Float32Array.from([1, 2, 1000, 3]);
    const statistics = new FeatureStatistics(1, 'standard');
    statistics.add({ data, n: 4, skip: new Set([2]) });
    // Act
    const scaling = await statistics.finish(async () => {});
    // Assess
    expect(scaling.center).toEqual([2]);
    expect(scaling.scale[0]).toBeCloseTo(Math.sqrt(2 / 3), 15);
  });

  it('gives a constant feature scale 1 (StandardScaler and RobustScaler)', async () => {
    // Prepare
    const data = Float32Array.from([5, 1, 5, 2, 5, 3, 5, 4]);
    // Act
    const standard = await scalingOf(data, 2, 'standard', [1]);
    const robust = await scalingOf(data, 2, 'robust', [3]);
    // Assess
    expect(standard.scale[0]).toBe(1);
    expect(robust.scale[0]).toBe(1);
    expect(robust.center[0]).toBe(5);
  });

  it('warns about unscaled features whose spreads differ by more than 10x, naming --scale', async () => {
    // Prepare: spreads 1 and 100
    const data = Float32Array.from([0, 0, 2, 200, 0, 0, 2, 200]);
    // Act
    const none = await scalingOf(data, 2, 'none', []);
    const standard = await scalingOf(data, 2, 'standard', []);
    const even = await scalingOf(Float32Array.from([0, 0, 2, 5]), 2, 'none', []);
    // Assess
    expect(none.spreadRatio).toBeCloseTo(100, 10);
    expect(spreadWarning(none)).toContain('--scale standard');
    expect(spreadWarning(standard)).toBeUndefined();
    expect(spreadWarning(even)).toBeUndefined();
  });
});
