import { describe, expect, it } from 'vitest';
import { type Classifier, uniqueSorted } from '../../lib/algorithms/classifier.ts';
import { NotFittedError } from '../../lib/algorithms/errors.ts';
import { SelfTraining } from '../../lib/algorithms/selfTraining.ts';
import { SoftmaxRegression } from '../../lib/algorithms/softmaxRegression.ts';
import { type FeatureMatrix, fromRows, selectRows } from '../../lib/data/featureMatrix.ts';
import { sklearnFixture } from '../support/sklearnFixtures.ts';

/** A k-nearest-neighbour classifier (scikit-learn KNeighborsClassifier, uniform weights), for these tests only. */
class KNearest implements Classifier {
  classes: Int32Array = new Int32Array(0);
  private X: FeatureMatrix | undefined;
  private codes: Int32Array = new Int32Array(0);
  constructor(private readonly k = 5) {}
  fit(X: FeatureMatrix, y: Int32Array): this {
    this.X = X;
    this.classes = uniqueSorted(y);
    this.codes = y.map((v) => this.classes.indexOf(v));
    return this;
  }
  predictProba(Q: FeatureMatrix): Float64Array {
    const X = this.X!;
    const k = Math.min(this.k, X.n);
    const nc = this.classes.length;
    const out = new Float64Array(Q.n * nc);
    for (let q = 0; q < Q.n; q++) {
      const dist = Array.from({ length: X.n }, (_, i) => {
        let s = 0;
        for (let j = 0; j < X.d; j++) s += (X.data[i * X.d + j] - Q.data[q * Q.d + j]) ** 2;
        return [s, i] as const;
      }).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      for (let r = 0; r < k; r++) out[q * nc + this.codes[dist[r][1]]] += 1 / k;
    }
    return out;
  }
  predict(Q: FeatureMatrix): Int32Array {
    const p = this.predictProba(Q);
    const nc = this.classes.length;
    return Int32Array.from({ length: Q.n }, (_, q) => {
      const row = Array.from(p.subarray(q * nc, (q + 1) * nc));
      return this.classes[row.indexOf(Math.max(...row))];
    });
  }
}

const quiet = { onWarning: () => {} };
const softmax = () => new SoftmaxRegression(quiet);

// iris (jittered, from the scikit-learn fixtures) in a fixed shuffled order: 112 training rows, 38 test rows,
// the first 50 training rows labelled, as in scikit-learn's test_self_training.py.
const iris = sklearnFixture<{ X: number[][]; y_true: number[] }>('iris');
const order = Array.from({ length: 150 }, (_, i) => (i * 77) % 150);
const all = fromRows(iris.X);
const XTrain = selectRows(all, order.slice(0, 112));
const XTest = selectRows(all, order.slice(112));
const yTrain = Int32Array.from(order.slice(0, 112), (i) => iris.y_true[i]);
const N_LABELLED = 50;
const yMissing = yTrain.map((v, i) => (i < N_LABELLED ? v : -1));

describe('SelfTraining (ported from scikit-learn test_self_training.py)', () => {
  it('warns when k_best exceeds the unlabelled count, and labels everything at once', () => {
    // Prepare
    const warnings: string[] = [];
    const st = new SelfTraining({
      classifier: () => new KNearest(),
      criterion: 'k_best',
      kBest: 1000,
      onWarning: (m) => warnings.push(m),
    });

    // Act
    st.fit(XTrain, yMissing);

    // Assess
    expect(warnings.some((m) => m.startsWith('k_best is larger than the amount of unlabeled samples'))).toBe(true);
    expect(st.terminationCondition).toBe('all_labeled');
    expect(st.nIter).toBe(1);
  });

  for (const [name, factory] of [
    ['knn', () => new KNearest()],
    ['softmax', softmax],
  ] as const) {
    for (const criterion of ['threshold', 'k_best'] as const) {
      it(`classifies consistently with ${name} and criterion ${criterion}`, () => {
        // Prepare: the same labels coded 5/7/42 instead of 0/1/2 (scikit-learn checks strings the same way)
        const codes = [5, 7, 42];
        const yCoded = yMissing.map((v) => (v < 0 ? -1 : codes[v]));
        const options = { classifier: factory, criterion, threshold: 0.75, maxIter: 10, ...quiet };

        // Act
        const st = new SelfTraining(options).fit(XTrain, yMissing);
        const stCoded = new SelfTraining(options).fit(XTrain, yCoded);

        // Assess
        expect(Array.from(stCoded.predict(XTest))).toEqual(Array.from(st.predict(XTest), (c) => codes[c]));
        expect(stCoded.predictProba(XTest)).toEqual(st.predictProba(XTest));
        expect(stCoded.terminationCondition).toBe(st.terminationCondition);
        for (let i = 0; i < yMissing.length; i++) {
          expect(st.labeledIter[i] === 0).toBe(yMissing[i] !== -1);
          if (yMissing[i] !== -1) expect(st.transduction[i]).toBe(yMissing[i]);
        }
        expect(Math.max(...st.labeledIter)).toBeLessThanOrEqual(st.nIter);
        expect(st.nIter).toBeLessThanOrEqual(10);
        expect(st.labeledIter.length).toBe(st.transduction.length);
      });
    }
  }

  it('adds exactly k_best labels per round with 1-NN', () => {
    // Prepare: a single labelled point
    const yOne = yTrain.map((v, i) => (i === 0 ? v : -1));
    const n = yTrain.length;
    const expectedIter = Math.ceil((n - 1) / 10);

    // Act
    const st = new SelfTraining({ classifier: () => new KNearest(1), criterion: 'k_best', kBest: 10, maxIter: null });
    st.fit(XTrain, yOne);

    // Assess
    expect(st.nIter).toBe(expectedIter);
    const count = (r: number) => st.labeledIter.filter((v) => v === r).length;
    expect(count(0)).toBe(1);
    for (let r = 1; r < expectedIter; r++) expect(count(r)).toBe(10);
    expect(count(expectedIter)).toBe((n - 1) % 10);
    expect(st.added).toEqual([...Array(expectedIter - 1).fill(10), (n - 1) % 10]);
    expect(st.terminationCondition).toBe('all_labeled');
  });

  it('labels everything in a few rounds when maxIter is null', () => {
    // Act
    const st = new SelfTraining({ classifier: () => new KNearest(), threshold: 0.55, maxIter: null });
    st.fit(XTrain, yMissing);

    // Assess
    expect(st.nIter).toBeLessThan(10);
    expect(st.terminationCondition).toBe('all_labeled');
  });

  it('with zero rounds equals the base classifier fitted on the labelled points', () => {
    // Prepare
    const base = softmax().fit(
      selectRows(
        XTrain,
        Array.from({ length: N_LABELLED }, (_, i) => i),
      ),
      yMissing.slice(0, 50),
    );

    // Act
    const st = new SelfTraining({ maxIter: 0, ...quiet }).fit(XTrain, yMissing);

    // Assess
    expect(st.predict(XTest)).toEqual(base.predict(XTest));
    expect(st.predictProba(XTest)).toEqual(base.predictProba(XTest));
    expect(st.terminationCondition).toBe('max_iter');
    expect(st.nIter).toBe(0);
  });

  it('refuses to predict before fit', () => {
    expect(() => new SelfTraining().predict(XTest)).toThrow(NotFittedError);
  });

  for (const maxIter of [1, 2, 3, 4]) {
    it(`keeps the given labels at round 0 (maxIter ${maxIter})`, () => {
      // Act
      const st = new SelfTraining({ classifier: () => new KNearest(), maxIter }).fit(XTrain, yMissing);

      // Assess
      expect(st.labeledIter.filter((v) => v === 0).length).toBe(N_LABELLED);
      expect(Math.max(...st.labeledIter)).toBeLessThanOrEqual(st.nIter);
      expect(st.nIter).toBeLessThanOrEqual(maxIter);
    });
  }

  it('on fully labelled data warns and equals the base classifier', () => {
    // Prepare
    const warnings: string[] = [];
    const base = new KNearest().fit(XTrain, yTrain);

    // Act
    const st = new SelfTraining({ classifier: () => new KNearest(), onWarning: (m) => warnings.push(m) });
    st.fit(XTrain, yTrain);

    // Assess
    expect(warnings).toEqual(['y contains no unlabeled samples']);
    expect(st.predict(XTest)).toEqual(base.predict(XTest));
    expect(st.labeledIter.every((v) => v === 0)).toBe(true);
    expect(st.terminationCondition).toBe('all_labeled');
    expect(st.nIter).toBe(0);
  });

  it('stops early when no prediction is confident enough', () => {
    // Prepare: x = 0.5 cannot be predicted with high confidence
    const X = fromRows([[1], [0], [1], [0.5]]);
    const y = Int32Array.from([1, 0, -1, -1]);

    // Act
    const st = new SelfTraining(quiet).fit(X, y);

    // Assess
    expect(st.nIter).toBe(1);
    expect(st.terminationCondition).toBe('no_change');
    expect(Array.from(st.labeledIter)).toEqual([0, 0, -1, -1]);
  });

  it("reports 'max_iter' rather than 'no_change' when the empty round is the last allowed (as scikit-learn)", () => {
    // Prepare
    const X = fromRows([[1], [0], [1], [0.5]]);
    const y = Int32Array.from([1, 0, -1, -1]);

    // Act
    const st = new SelfTraining({ maxIter: 1, ...quiet }).fit(X, y);

    // Assess
    expect(st.nIter).toBe(1);
    expect(st.terminationCondition).toBe('max_iter');
  });

  it('selects with k_best the k most confident predictions', () => {
    // Prepare
    const labelled = Array.from({ length: N_LABELLED }, (_, i) => i);
    const unlabelled = Array.from({ length: yTrain.length - N_LABELLED }, (_, s) => N_LABELLED + s);
    const base = softmax().fit(selectRows(XTrain, labelled), yMissing.slice(0, N_LABELLED));
    const proba = base.predictProba(selectRows(XTrain, unlabelled));
    const confidence = unlabelled.map((_, s) => Math.max(proba[3 * s], proba[3 * s + 1], proba[3 * s + 2]));
    const best = unlabelled
      .map((i, s) => [confidence[s], i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 10)
      .map(([, i]) => i)
      .sort((a, b) => a - b);

    // Act
    const st = new SelfTraining({ criterion: 'k_best', kBest: 10, maxIter: 1, ...quiet }).fit(XTrain, yMissing);

    // Assess
    const added = unlabelled.filter((i) => st.transduction[i] !== -1);
    expect(added).toEqual(best);
    expect(added.every((i) => st.labeledIter[i] === 1)).toBe(true);
  });

  it('selects with threshold exactly the predictions strictly above it', () => {
    // Prepare
    const labelled = Array.from({ length: N_LABELLED }, (_, i) => i);
    const unlabelled = Array.from({ length: yTrain.length - N_LABELLED }, (_, s) => N_LABELLED + s);
    const base = softmax().fit(selectRows(XTrain, labelled), yMissing.slice(0, N_LABELLED));
    const proba = base.predictProba(selectRows(XTrain, unlabelled));
    const expected = unlabelled.filter((_, s) => Math.max(proba[3 * s], proba[3 * s + 1], proba[3 * s + 2]) > 0.9);

    // Act
    const st = new SelfTraining({ threshold: 0.9, maxIter: 1, ...quiet }).fit(XTrain, yMissing);

    // Assess
    expect(unlabelled.filter((i) => st.labeledIter[i] === 1)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(unlabelled.length);
  });
});

describe('SelfTraining class-balanced selection (k_best_per_class)', () => {
  it('adds at most kBest per class per round, and kBest of each when available', () => {
    // Prepare
    const kBest = 4;

    // Act
    const st = new SelfTraining({ criterion: 'k_best_per_class', kBest, maxIter: 3, ...quiet }).fit(XTrain, yMissing);

    // Assess
    for (let r = 1; r <= st.nIter; r++) {
      const perClass = [0, 1, 2].map((c) =>
        Array.from(st.labeledIter).filter((v, i) => v === r && st.transduction[i] === c),
      );
      for (const rows of perClass) expect(rows.length).toBeLessThanOrEqual(kBest);
      expect(perClass.reduce((s, rows) => s + rows.length, 0)).toBe(st.added[r - 1]);
    }
    expect(st.added[0]).toBe(3 * kBest);
  });

  it('keeps a minority class in the selection where k_best would crowd it out', () => {
    // Prepare: labelled points at x = -1 (class 0) and x = 1 (class 1); many unlabelled points far on the class 0
    // side (confident) and a few just on the class 1 side (less confident)
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 3; i++) {
      rows.push([-1, i - 1], [1, i - 1]);
      labels.push(0, 1);
    }
    for (let i = 0; i < 40; i++) {
      rows.push([-3 - (3 * i) / 40, Math.sin(i)]);
      labels.push(-1);
    }
    for (let i = 0; i < 20; i++) {
      rows.push([0.5 + i / 20, Math.cos(i)]);
      labels.push(-1);
    }
    const X = fromRows(rows);
    const y = Int32Array.from(labels);

    // Act
    const plain = new SelfTraining({ criterion: 'k_best', kBest: 10, maxIter: 1, ...quiet }).fit(X, y);
    const balanced = new SelfTraining({ criterion: 'k_best_per_class', kBest: 5, maxIter: 1, ...quiet }).fit(X, y);

    // Assess
    const addedOf = (st: SelfTraining, c: number) =>
      Array.from(st.labeledIter).filter((v, i) => v === 1 && st.transduction[i] === c).length;
    expect(addedOf(plain, 0)).toBe(10);
    expect(addedOf(plain, 1)).toBe(0);
    expect(addedOf(balanced, 0)).toBe(5);
    expect(addedOf(balanced, 1)).toBe(5);
  });
});

describe('SelfTraining parameter checks', () => {
  it.each([
    [{ threshold: 1 }, /threshold must be in \[0, 1\)/],
    [{ threshold: -0.1 }, /threshold/],
    [{ threshold: Number.NaN }, /threshold/],
    [{ criterion: 'best' as 'k_best' }, /criterion must be/],
    [{ kBest: 0 }, /kBest must be an integer >= 1/],
    [{ kBest: 2.5 }, /kBest/],
    [{ maxIter: -1 }, /maxIter must be an integer >= 0 or null/],
    [{ maxIter: 1.5 }, /maxIter/],
  ])('rejects %o', (options, message) => {
    expect(() => new SelfTraining(options)).toThrow(RangeError);
    expect(() => new SelfTraining(options)).toThrow(message);
  });

  it('rejects labels below -1 and a length mismatch', () => {
    const st = new SelfTraining(quiet);
    expect(() => st.fit(fromRows([[1], [2]]), Int32Array.from([0, -2]))).toThrow(/-1 \(unlabelled\) or >= 0/);
    expect(() => st.fit(fromRows([[1], [2]]), Int32Array.from([0]))).toThrow(/1 labels for 2 rows/);
  });
});
