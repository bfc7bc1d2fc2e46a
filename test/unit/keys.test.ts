import { describe, expect, it } from 'vitest';
import { isIntermediate, keys } from '../../lib/pipeline/keys.ts';

describe('isIntermediate', () => {
  it('marks shard data, markers, plan and round state of a run as intermediate', () => {
    // Prepare
    const intermediate = [
      keys.shardData('r', 3),
      keys.marker('r', 'neighbors', 0, 2),
      keys.advanced('r', 'collect', 0),
      keys.plan('r'),
      keys.collected('r'),
      keys.roundState('r', 2),
      keys.shardResult('r', 0),
    ];

    // Act
    const flags = intermediate.map(isIntermediate);

    // Assess
    expect(flags).toEqual(intermediate.map(() => true));
  });

  it('keeps run.json, outputs and anything outside runs/ untagged', () => {
    // Prepare
    const kept = [keys.run('r'), keys.output('r', 'labels.csv'), 'incoming/ds/a.csv', 'runs/r'];

    // Act
    const flags = kept.map(isIntermediate);

    // Assess
    expect(flags).toEqual([false, false, false, false]);
  });
});
