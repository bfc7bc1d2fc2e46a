import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../lib/errors.ts';
import {
  checkShards,
  checkWorkers,
  DEFAULT_MAX_SHARDS,
  runLimits,
  shardAllowance,
} from '../../lib/pipeline/runLimits.ts';

const LIMITS = { maxShards: 1000, maxColumns: 100_000, memoryBytes: 8 * 2 ** 30 };

describe('runLimits', () => {
  it('reads the maxima from the environment the stack sets, with defaults, and the Lambda memory size', () => {
    // Act
    const deployed = runLimits({
      PSEUDOLABEL_MAX_SHARDS: '250',
      PSEUDOLABEL_MAX_COLUMNS: '5000',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '3008',
    });
    const embedded = runLimits({});
    // Assess
    expect(deployed).toEqual({ maxShards: 250, maxColumns: 5000, memoryBytes: 3008 * 2 ** 20 });
    expect(embedded.maxShards).toBe(DEFAULT_MAX_SHARDS);
    expect(embedded.memoryBytes).toBeGreaterThan(0);
    expect(() => runLimits({ PSEUDOLABEL_MAX_SHARDS: 'many' })).toThrow(/PSEUDOLABEL_MAX_SHARDS/);
  });

  it('allows 16 shards to any input, one more per 1,000 rows, and never more than the maximum', () => {
    expect(shardAllowance(70, LIMITS)).toBe(16);
    expect(shardAllowance(40_500, LIMITS)).toBe(41);
    expect(shardAllowance(5e7, LIMITS)).toBe(1000);
    expect(shardAllowance(5e7, { ...LIMITS, maxShards: 250 })).toBe(250);
  });

  it('refuses shards: 100000 on a small file with an OptionsError saying the bounds', () => {
    // Act
    const attempt = () => checkShards(100_000, 3100, LIMITS);
    // Assess
    expect(attempt).toThrow(OptionsError);
    expect(attempt).toThrow(
      'shards 100000 is more than this input allows: at most 16 (any run may have 16, more need 1,000 rows each: ' +
        "about 3,100 rows estimated; and at most 1,000, this host's maximum): use --shards 16 or fewer",
    );
    expect(() => checkShards(16, 3100, LIMITS)).not.toThrow();
  });

  it('refuses more than 4 workers per core', () => {
    expect(() => checkWorkers(1000, 2)).toThrow(OptionsError);
    expect(() => checkWorkers(1000, 2)).toThrow(
      '--workers 1000 is more than 4 per core of this host (2 cores): use --workers 8 or fewer',
    );
    expect(() => checkWorkers(8, 2)).not.toThrow();
  });
});
