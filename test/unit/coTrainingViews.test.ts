import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../lib/errors.ts';
import { resolveViews } from '../../lib/pipeline/training/coTrainingViews.ts';

const NAMES = ['alcohol', 'malic_acid', 'ash', 'magnesium', 'phenols', 'proline'];

describe('resolveViews (--views)', () => {
  it('defaults to the two halves of the columns, and says so', () => {
    // Act
    const views = resolveViews(undefined, NAMES);
    // Assess
    expect(views.columns).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(views.byDefault).toBe(true);
  });

  it('reads two views of names and first:last ranges separated by ";"', () => {
    // Act
    const views = resolveViews('alcohol:ash, proline; magnesium,phenols', NAMES);
    // Assess
    expect(views.columns).toEqual([
      [0, 1, 2, 5],
      [3, 4],
    ]);
    expect(views.names[1]).toEqual(['magnesium', 'phenols']);
    expect(views.byDefault).toBe(false);
  });

  it('reads the two arrays of a pseudolabel.json', () => {
    // Act
    const views = resolveViews([['malic_acid:magnesium'], ['alcohol']], NAMES);
    // Assess
    expect(views.columns).toEqual([[1, 2, 3], [0]]);
  });

  it.each([
    ['alcohol;ash;proline', /two views/],
    ['alcohol;colour', /view B names column "colour", which is not a feature column/],
    ['proline:alcohol;ash', /runs backwards/],
    ['alcohol,alcohol;ash', /repeats a column/],
    [';ash', /view A has no columns/],
  ])('refuses %s with a clear OptionsError', (views, message) => {
    // Act / Assess
    expect(() => resolveViews(views, NAMES)).toThrow(OptionsError);
    expect(() => resolveViews(views, NAMES)).toThrow(message);
  });
});
