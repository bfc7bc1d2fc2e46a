import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../lib/errors.ts';
import {
  effectiveMaxIter,
  effectiveThreshold,
  parseRunOptions,
  runOptionsSchema,
} from '../../lib/pipeline/runOptions.ts';

function errorOf(input: unknown, origin?: string): Error {
  try {
    parseRunOptions(input, origin);
  } catch (error) {
    expect(error).toBeInstanceOf(OptionsError);
    return error as Error;
  }
  throw new Error('expected parseRunOptions to throw');
}

describe('parseRunOptions', () => {
  it("fills scikit-learn's defaults (neighbors 10, maxIter unset)", () => {
    // Act
    const options = parseRunOptions({});

    // Assess
    expect(options).toEqual({
      method: 'label-spreading',
      kernel: 'knn',
      neighbors: 10,
      scale: 'none',
      gamma: 20,
      alpha: 0.2,
      tol: 1e-3,
      criterion: 'threshold',
      kBest: 10,
      holdout: 0,
      seed: 0,
      format: 'csv',
      labelColumn: 'label',
      idColumn: 'id',
    });
    expect(options.maxIter).toBeUndefined();
    expect(options.shards).toBeUndefined();
    expect(options.workers).toBeUndefined();
    expect(options.neighborsMode).toBeUndefined();
  });

  it('keeps the values given', () => {
    // Act
    const options = parseRunOptions({
      method: 'self-training',
      kernel: 'rbf',
      neighbors: 3,
      maxIter: 7,
      threshold: 0.8,
      holdout: 0.25,
      shards: 4,
      workers: 2,
      seed: 9,
      labelColumn: 'y',
    });

    // Assess
    expect(options).toMatchObject({
      method: 'self-training',
      kernel: 'rbf',
      neighbors: 3,
      maxIter: 7,
      threshold: 0.8,
      holdout: 0.25,
      shards: 4,
      workers: 2,
      seed: 9,
      labelColumn: 'y',
      alpha: 0.2,
    });
  });

  it.each([
    ['alpha', { alpha: 1 }],
    ['alpha', { alpha: 0 }],
    ['neighbors', { neighbors: 0 }],
    ['neighbors', { neighbors: 2.5 }],
    ['gamma', { gamma: 0 }],
    ['threshold', { threshold: 1 }],
    ['holdout', { holdout: 1 }],
    ['maxIter', { maxIter: 0 }],
    ['method', { method: 'magic' }],
    ['kernel', { kernel: 'cosine' }],
    ['seed', { seed: -1 }],
    ['shards', { shards: 0 }],
    ['labelColumn', { labelColumn: '' }],
    ['tol', { tol: '0.1' }],
  ])('names the option at fault: %s', (name, input) => {
    // Act
    const error = errorOf(input);

    // Assess
    const flag = `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    expect(error.message).toMatch(
      new RegExp(`^invalid options: ${flag}: .* \\(got ${JSON.stringify(Object.values(input)[0])}\\)$`),
    );
  });

  it('names the origin of the options', () => {
    // Act
    const error = errorOf({ alpha: 2 }, 'incoming/ds/pseudolabel.json');

    // Assess
    expect(error.message).toMatch(/^invalid incoming\/ds\/pseudolabel\.json: --alpha: /);
  });

  it('rejects unknown keys, naming them (a typo must not be ignored)', () => {
    // Act
    const error = errorOf({ neighbours: 5 });

    // Assess
    expect(error.message).toMatch(/^invalid options: (Unrecognized key|Invalid input)/);
    expect(error.message).toContain('neighbours');
  });

  it('lists every problem', () => {
    // Act
    const error = errorOf({ alpha: 5, rounds: -1 });

    // Assess
    expect(error.message).toContain('alpha: ');
    expect(error.message).toContain('; --rounds: ');
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['a string', 'label-spreading'],
  ])('rejects %s as the options', (_, input) => {
    // Act
    const error = errorOf(input);

    // Assess
    expect(error.message).toMatch(/^invalid options: (Unrecognized key|Invalid input)/);
  });

  it('the schema is the one parseRunOptions applies', () => {
    // Act + Assess
    expect(runOptionsSchema.parse({})).toEqual(parseRunOptions({}));
  });
});

describe('effectiveMaxIter', () => {
  it.each([
    ['label-spreading', 30],
    ['label-propagation', 1000],
    ['self-training', 10],
    ['co-training', 30],
  ] as const)("%s defaults to scikit-learn's (Blum & Mitchell's for co-training) %d", (method, expected) => {
    // Act
    const maxIter = effectiveMaxIter(parseRunOptions({ method }));

    // Assess
    expect(maxIter).toBe(expected);
  });

  it('a maxIter given wins for every method', () => {
    // Act
    const values = (['label-spreading', 'label-propagation', 'self-training'] as const).map((method) =>
      effectiveMaxIter(parseRunOptions({ method, maxIter: 12 })),
    );

    // Assess
    expect(values).toEqual([12, 12, 12]);
  });
});

describe('--rounds, the alias of --max-iter', () => {
  it('sets max_iter of self-training and co-training, not of the graph methods', () => {
    // Act
    const values = (['self-training', 'co-training', 'label-spreading'] as const).map((method) =>
      effectiveMaxIter(parseRunOptions({ method, rounds: 3 })),
    );

    // Assess
    expect(values).toEqual([3, 3, 30]);
  });

  it('is refused when it contradicts --max-iter', () => {
    // Act
    const error = errorOf({ method: 'self-training', rounds: 3, maxIter: 10 });

    // Assess
    expect(error.message).toContain('--rounds is an alias of --max-iter');
  });
});

describe('effectiveThreshold', () => {
  it('defaults to 0.95 for self-training and 0.75 for co-training, unless given', () => {
    // Act
    const values = [
      effectiveThreshold(parseRunOptions({ method: 'self-training' })),
      effectiveThreshold(parseRunOptions({ method: 'co-training' })),
      effectiveThreshold(parseRunOptions({ method: 'co-training', threshold: 0.9 })),
    ];

    // Assess
    expect(values).toEqual([0.95, 0.75, 0.9]);
  });

  it.each([
    [{ neighbors: 1001 }, '--neighbors: at most 1000 (got 1001)'],
    [{ maxIter: 100_001 }, '--max-iter: at most 100000 (got 100001)'],
    [{ rounds: 1001 }, '--rounds: at most 1000 (got 1001)'],
    [{ kBest: 1e8 }, '--k-best: at most 10000000 (got 100000000)'],
    [{ method: 'co-training', perClass: 1e12 }, '--per-class: at most 10000000 (got 1000000000000)'],
    [{ method: 'self-training', maxIter: 5000 }, '--max-iter: self-training and co-training run at most 1000 rounds'],
  ])('refuses %j above its upper bound, saying the bound', (input, message) => {
    // Act
    const error = errorOf(input);
    // Assess
    expect(error.message).toContain(message);
  });

  it("refuses shards above the host's maximum and workers above 4 per core, in the uploaded file's terms", () => {
    // Act
    const error = errorOf({ shards: 1001, workers: 1e6 }, 'incoming/ds/pseudolabel.json');
    // Assess
    expect(error.message).toContain("shards: at most 1000, this host's maximum (got 1001)");
    expect(error.message).toMatch(/workers: at most \d+, 4 per core of this host \(got 1000000\)/);
  });

  it('accepts the upper bounds themselves', () => {
    expect(() => parseRunOptions({ neighbors: 1000, maxIter: 100_000, kBest: 10_000_000 })).not.toThrow();
    expect(() => parseRunOptions({ method: 'co-training', perClass: 10_000_000 })).not.toThrow();
    expect(() => parseRunOptions({ method: 'self-training', rounds: 1000 })).not.toThrow();
  });
});
