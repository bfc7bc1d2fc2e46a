import { describe, expect, it } from 'vitest';
import { FeatureVectors } from '../../lib/data/featureVectors.ts';

describe('FeatureVectors', () => {
  it('hands out zeroed vectors of d features that share no element, across blocks', () => {
    const d = 3;
    const vectors = new FeatureVectors(d);
    const handed: Float64Array[] = [];
    for (let r = 0; r < 2500; r++) {
      const v = vectors.next();
      expect(v.length).toBe(d);
      expect(Array.from(v)).toEqual([0, 0, 0]);
      v.fill(r + 1);
      handed.push(v);
    }
    // Every vector still holds what was written into it: no later call reused its elements.
    expect(handed.map((v) => Array.from(v))).toEqual(handed.map((_, r) => [r + 1, r + 1, r + 1]));
  });

  it('gives empty vectors for d = 0', () => {
    const vectors = new FeatureVectors(0);
    expect(vectors.next().length).toBe(0);
    expect(vectors.next().length).toBe(0);
  });
});
