import { describe, expect, it } from 'vitest';
import { CoTraining, LABELLED_BY } from '../../lib/algorithms/coTraining.ts';
import { NotFittedError } from '../../lib/algorithms/errors.ts';
import { accuracy } from '../../lib/algorithms/metrics.ts';
import { SoftmaxRegression } from '../../lib/algorithms/softmaxRegression.ts';
import { fromRows, selectColumns, selectRows } from '../../lib/data/featureMatrix.ts';

/** Seeded uniform generator (mulberry32) and a standard normal by Box-Muller. */
function normalGenerator(seed: number): () => number {
  let s = seed;
  const uniform = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Two views that are independent given the class: view A (columns 0-1) and view B (columns 2-3) each place the 3
 * classes on a circle (B rotated by 1 rad) with unit Gaussian noise, so each view alone is informative but noisy.
 * 100 points per class, the first 2 of each class labelled.
 */
function twoViews() {
  const gauss = normalGenerator(1);
  const rows: number[][] = [];
  const yTrue: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < 300; i++) {
    const c = i % 3;
    const a = (2 * Math.PI * c) / 3;
    const b = a + 1;
    rows.push([
      1.5 * Math.cos(a) + gauss(),
      1.5 * Math.sin(a) + gauss(),
      1.5 * Math.cos(b) + gauss(),
      1.5 * Math.sin(b) + gauss(),
    ]);
    yTrue.push(c);
    y.push(i < 6 ? c : -1);
  }
  return { X: fromRows(rows), y: Int32Array.from(y), yTrue };
}

const quiet = { onWarning: () => {} };
const VIEW_A = [0, 1];
const VIEW_B = [2, 3];

describe('CoTraining on two conditionally independent views', () => {
  const { X, y, yTrue } = twoViews();
  const labelled = [0, 1, 2, 3, 4, 5];
  const supervised = (view: number[]) =>
    new SoftmaxRegression(quiet).fit(selectRows(selectColumns(X, view), labelled), y.slice(0, 6));

  it('beats each view trained on the given labels alone', () => {
    // Prepare
    const aloneA = accuracy(yTrue, supervised(VIEW_A).predict(selectColumns(X, VIEW_A)));
    const aloneB = accuracy(yTrue, supervised(VIEW_B).predict(selectColumns(X, VIEW_B)));

    // Act
    const co = new CoTraining(quiet).fit(X, y);

    // Assess
    const combined = accuracy(yTrue, co.predict(X));
    expect(combined).toBeGreaterThan(0.9);
    expect(combined).toBeGreaterThan(Math.max(aloneA, aloneB) + 0.05);
    const viewAccuracy = (view: 0 | 1) => {
      const p = co.viewProba(X, view);
      return accuracy(
        yTrue,
        yTrue.map((_, i) => {
          const row = Array.from(p.subarray(3 * i, 3 * i + 3));
          return row.indexOf(Math.max(...row));
        }),
      );
    };
    expect(viewAccuracy(0)).toBeGreaterThan(aloneA);
    expect(viewAccuracy(1)).toBeGreaterThan(aloneB);
    const added = yTrue.map((_, i) => i).filter((i) => co.labeledIter[i] > 0);
    expect(
      accuracy(
        added.map((i) => yTrue[i]),
        added.map((i) => co.transduction[i]),
      ),
    ).toBeGreaterThan(0.9);
  });

  it('records when and by which view each point was labelled', () => {
    // Act
    const co = new CoTraining(quiet).fit(X, y);

    // Assess
    expect(co.views).toEqual([VIEW_A, VIEW_B]);
    expect(co.terminationCondition).toBe('no_change');
    expect(co.added[co.added.length - 1]).toBe(0);
    expect(co.added.length).toBe(co.nIter);
    for (let i = 0; i < X.n; i++) {
      const round = co.labeledIter[i];
      if (round === 0) {
        expect(co.labeledBy[i]).toBe(LABELLED_BY.given);
        expect(co.transduction[i]).toBe(y[i]);
      } else if (round > 0) {
        expect([LABELLED_BY.viewA, LABELLED_BY.viewB, LABELLED_BY.both]).toContain(co.labeledBy[i]);
        expect(co.transduction[i]).toBeGreaterThanOrEqual(0);
      } else {
        expect(co.labeledBy[i]).toBe(LABELLED_BY.none);
        expect(co.transduction[i]).toBe(-1);
      }
    }
    for (let r = 1; r <= co.nIter; r++) {
      expect(co.labeledIter.filter((v) => v === r).length).toBe(co.added[r - 1]);
    }
    const by = (v: number) => co.labeledBy.filter((b) => b === v).length;
    expect(by(LABELLED_BY.viewA)).toBeGreaterThan(0);
    expect(by(LABELLED_BY.viewB)).toBeGreaterThan(0);
  });

  it('adds per round at most perClass points per class from each view', () => {
    // Prepare
    const perClass = 4;

    // Act
    const co = new CoTraining({ perClass, threshold: null, maxIter: 3, ...quiet }).fit(X, y);

    // Assess
    expect(co.nIter).toBe(3);
    expect(co.terminationCondition).toBe('max_iter');
    for (let r = 1; r <= 3; r++) {
      for (let c = 0; c < 3; c++) {
        const fromA = yTrue.filter(
          (_, i) =>
            co.labeledIter[i] === r &&
            co.transduction[i] === c &&
            (co.labeledBy[i] === LABELLED_BY.viewA || co.labeledBy[i] === LABELLED_BY.both),
        ).length;
        expect(fromA).toBeLessThanOrEqual(perClass);
      }
      expect(co.added[r - 1]).toBeLessThanOrEqual(2 * 3 * perClass);
      expect(co.added[r - 1]).toBeGreaterThanOrEqual(3 * perClass);
    }
  });

  it('without threshold nor perClass labels everything in one round', () => {
    // Act
    const co = new CoTraining({ perClass: null, threshold: null, ...quiet }).fit(X, y);

    // Assess
    expect(co.nIter).toBe(1);
    expect(co.terminationCondition).toBe('all_labeled');
    expect(co.labeledIter.every((v) => v >= 0)).toBe(true);
  });

  it('with zero rounds adds nothing', () => {
    // Act
    const co = new CoTraining({ maxIter: 0, ...quiet }).fit(X, y);

    // Assess
    expect(co.nIter).toBe(0);
    expect(co.terminationCondition).toBe('max_iter');
    expect(Array.from(co.transduction)).toEqual(Array.from(y));
  });

  it('combines the views by the normalised product, or by the mean', () => {
    // Act
    const product = new CoTraining(quiet).fit(X, y);
    const mean = new CoTraining({ combine: 'mean', ...quiet }).fit(X, y);

    // Assess
    const pa = product.viewProba(X, 0);
    const pb = product.viewProba(X, 1);
    const pp = product.predictProba(X);
    const pm = mean.predictProba(X);
    for (let i = 0; i < X.n; i++) {
      let z = 0;
      for (let c = 0; c < 3; c++) z += pa[3 * i + c] * pb[3 * i + c];
      for (let c = 0; c < 3; c++) {
        expect(pp[3 * i + c]).toBeCloseTo((pa[3 * i + c] * pb[3 * i + c]) / z, 12);
        expect(pm[3 * i + c]).toBeCloseTo((pa[3 * i + c] + pb[3 * i + c]) / 2, 12);
      }
    }
  });

  it('uses the given views and one factory per view', () => {
    // Prepare
    const made: string[] = [];
    const factory = (name: string) => () => {
      made.push(name);
      return new SoftmaxRegression(quiet);
    };

    // Act
    const co = new CoTraining({ views: [[3, 1], [0]], classifier: [factory('a'), factory('b')], ...quiet }).fit(X, y);

    // Assess
    expect(made).toEqual(['a', 'b']);
    expect(co.views).toEqual([[3, 1], [0]]);
    expect(co.estimators[0].classes).toEqual(co.estimators[1].classes);
    expect(co.viewProba(X, 1).length).toBe(3 * X.n);
  });
});

describe('CoTraining parameter checks', () => {
  it.each([
    [{ threshold: 1 }, /threshold must be in \[0, 1\) or null/],
    [{ perClass: 0 }, /perClass must be an integer >= 1 or null/],
    [{ maxIter: -1 }, /maxIter must be an integer >= 0 or null/],
    [{ combine: 'max' as 'mean' }, /combine must be/],
  ])('rejects %o', (options, message) => {
    expect(() => new CoTraining(options)).toThrow(RangeError);
    expect(() => new CoTraining(options)).toThrow(message);
  });

  it('rejects bad views and a single column', () => {
    const X = fromRows([
      [0, 1, 2],
      [1, 2, 3],
    ]);
    const y = Int32Array.from([0, 1]);
    expect(() => new CoTraining({ views: [[0], [3]], ...quiet }).fit(X, y)).toThrow(/column 3, outside/);
    expect(() => new CoTraining({ views: [[], [1]], ...quiet }).fit(X, y)).toThrow(/view A has no columns/);
    expect(() => new CoTraining({ views: [[0, 0], [1]], ...quiet }).fit(X, y)).toThrow(/repeats/);
    expect(() => new CoTraining(quiet).fit(fromRows([[0], [1]]), y)).toThrow(/at least 2 feature columns/);
  });

  it('refuses to predict before fit', () => {
    expect(() => new CoTraining().predict(fromRows([[0, 1]]))).toThrow(NotFittedError);
  });
});
