import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UNLABELLED } from '../../lib/data/dataset.ts';
import { fromRows } from '../../lib/data/featureMatrix.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';
import { hideLabels, repeatedHoldout, stratifiedHoldout } from '../../lib/pipeline/modelSelection/holdout.ts';
import { correctedResampledInterval } from '../../lib/pipeline/modelSelection/holdoutInterval.ts';

function draw(random: () => number, count: number): number[] {
  return Array.from({ length: count }, () => random());
}

function countsByClass(y: Int32Array, rows: ArrayLike<number>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const i of Array.from(rows)) counts.set(y[i], (counts.get(y[i]) ?? 0) + 1);
  return counts;
}

describe('seededUniform', () => {
  it('the same seed gives the same sequence', () => {
    // Act
    const a = draw(seededUniform(42), 50);
    const b = draw(seededUniform(42), 50);

    // Assess
    expect(a).toEqual(b);
  });

  it('different seeds give different sequences', () => {
    // Act
    const a = draw(seededUniform(1), 10);
    const b = draw(seededUniform(2), 10);

    // Assess
    expect(a).not.toEqual(b);
  });

  it('draws in [0, 1) with a mean near 1/2', () => {
    // Act
    const values = draw(seededUniform(7), 20_000);

    // Assess
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    expect(new Set(values).size).toBeGreaterThan(19_990);
  });
});

describe('stratifiedHoldout', () => {
  it('holds out round(fraction * count) of each class, ascending, never unlabelled rows', () => {
    // Prepare: class 0 x10, class 1 x5, class 2 x1, 4 unlabelled rows
    const y = Int32Array.from([...new Array(10).fill(0), ...new Array(5).fill(1), 2, ...new Array(4).fill(UNLABELLED)]);

    // Act
    const held = stratifiedHoldout(y, 0.2, 0);

    // Assess
    expect(held).toBeInstanceOf(Int32Array);
    expect(held.length).toBe(3);
    expect(Array.from(held)).toEqual([...held].sort((a, b) => a - b));
    expect(countsByClass(y, held)).toEqual(
      new Map([
        [0, 2],
        [1, 1],
      ]),
    );
  });

  it('keeps at least one row of every class in training, even with a fraction near 1', () => {
    // Prepare
    const y = Int32Array.from([0, 0, 0, 1, 1, 2]);

    // Act
    const held = stratifiedHoldout(y, 0.99, 3);

    // Assess
    expect(countsByClass(y, held)).toEqual(
      new Map([
        [0, 2],
        [1, 1],
      ]),
    );
  });

  it('a fraction of 0 holds nothing out', () => {
    // Act
    const held = stratifiedHoldout(Int32Array.from([0, 0, 1, 1, 1]), 0, 0);

    // Assess
    expect(held.length).toBe(0);
  });

  it('is deterministic per seed, and different seeds pick different rows', () => {
    // Prepare
    const y = Int32Array.from({ length: 200 }, (_, i) => i % 2);

    // Act
    const first = stratifiedHoldout(y, 0.5, 11);
    const again = stratifiedHoldout(y, 0.5, 11);
    const other = stratifiedHoldout(y, 0.5, 12);

    // Assess
    expect(Array.from(again)).toEqual(Array.from(first));
    expect(Array.from(other)).not.toEqual(Array.from(first));
    expect(other.length).toBe(first.length);
  });

  it('holds out a class-stratified sample for any labels, fraction and seed (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 120 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        fc.nat(),
        (labels, fraction, seed) => {
          // Prepare
          const y = Int32Array.from(labels);

          // Act
          const held = stratifiedHoldout(y, fraction, seed);

          // Assess
          const rows = Array.from(held);
          expect(rows).toEqual([...new Set(rows)].sort((a, b) => a - b));
          expect(rows.every((i) => y[i] !== UNLABELLED)).toBe(true);
          const given = countsByClass(
            y,
            labels.flatMap((l, i) => (l === UNLABELLED ? [] : [i])),
          );
          const taken = countsByClass(y, held);
          for (const [c, count] of given) {
            expect(taken.get(c) ?? 0).toBe(Math.min(count - 1, Math.round(fraction * count)));
          }
          expect(Array.from(stratifiedHoldout(y, fraction, seed))).toEqual(rows);
        },
      ),
    );
  });
});

describe('hideLabels', () => {
  it('returns a copy with the given rows unlabelled and leaves the input alone', () => {
    // Prepare
    const y = Int32Array.from([0, 1, 2, 1]);

    // Act
    const hidden = hideLabels(y, Int32Array.from([1, 3]));

    // Assess
    expect(Array.from(hidden)).toEqual([0, UNLABELLED, 2, UNLABELLED]);
    expect(Array.from(y)).toEqual([0, 1, 2, 1]);
  });
});

describe('repeatedHoldout', () => {
  // Two well separated 2-d blobs: class 0 near (-5, 0), class 1 near (5, 0); rows 24.. unlabelled.
  const rows = Array.from({ length: 30 }, (_, i) => [(i % 2 === 0 ? -5 : 5) + ((i * 7) % 5) / 10, ((i * 3) % 4) / 10]);
  const X = fromRows(rows);
  const truth = Int32Array.from(rows, (_, i) => i % 2);
  const y = Int32Array.from(truth, (label, i) => (i < 24 ? label : UNLABELLED));

  it('runs the method on each split with exactly its held-out labels hidden', () => {
    // Prepare
    const seen: Int32Array[] = [];
    const predict = (trainingY: Int32Array) => {
      seen.push(trainingY);
      return truth;
    };

    // Act
    const result = repeatedHoldout(X, y, 0.25, 3, predict, () => {}, 4);

    // Assess
    expect(seen.length).toBe(4);
    seen.forEach((trainingY, j) => {
      expect(Array.from(trainingY)).toEqual(Array.from(hideLabels(y, stratifiedHoldout(y, 0.25, 3 + j))));
    });
    expect(new Set(seen.map((t) => t.join())).size).toBe(4);
    expect(result.given).toBe(24);
    expect(result.size).toBe(6);
  });

  it('on separable data both models are perfect: a zero difference, cannot tell', () => {
    // Act
    const result = repeatedHoldout(
      X,
      y,
      0.25,
      0,
      () => truth,
      () => {},
    );

    // Assess
    expect(result.supervised).toEqual({ accuracy: 1, macroF1: 1 });
    expect(result.semiSupervised).toEqual({ accuracy: 1, macroF1: 1 });
    expect(result.difference.splits).toEqual(new Array(10).fill(0));
    expect(result.verdict).toBe('cannot tell');
    expect(result.helped).toBe(false);
    expect(result.givenLabelsNeeded).toBeGreaterThanOrEqual(36);
  });

  it('takes the mean and the corrected interval of the per-split differences, and its verdict', () => {
    // Prepare: the method is wrong on the rows 0 to 9 (hidden in some splits, not in others)
    const predict = () => Int32Array.from(truth, (label, i) => (i < 10 ? 1 - label : label));

    // Act
    const result = repeatedHoldout(X, y, 0.25, 0, predict, () => {});

    // Assess
    const expected = Array.from({ length: 10 }, (_, j) => {
      const held = stratifiedHoldout(y, 0.25, j);
      return -Array.from(held).filter((i) => i < 10).length / held.length;
    });
    result.difference.splits.forEach((d, j) => {
      expect(d).toBeCloseTo(expected[j], 12);
    });
    const interval = correctedResampledInterval(expected, 18, 6);
    expect(result.difference.estimate).toBeCloseTo(interval.estimate, 12);
    expect(result.difference.low).toBeCloseTo(interval.low, 12);
    expect(result.difference.high).toBeCloseTo(interval.high, 12);
    expect(result.semiSupervised.accuracy - result.supervised.accuracy).toBeCloseTo(result.difference.estimate, 12);
    expect(result.verdict).toBe('did not help');
    expect(result.givenLabelsNeeded).toBeUndefined();
  });
});
