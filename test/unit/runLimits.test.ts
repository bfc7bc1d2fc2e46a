import { describe, expect, it } from 'vitest';
import { IdTable, idTableBytes, MAX_IDS } from '../../lib/data/idTable.ts';
import { CapacityError, OptionsError } from '../../lib/errors.ts';
import {
  checkClassMemory,
  checkIdTableMemory,
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

  it('refuses 10,000 classes on 50,000 rows on a 16 GiB host with a CapacityError, accepts 1,000 classes', () => {
    // Act
    const host = { ...LIMITS, memoryBytes: 16 * 2 ** 30 };
    const attempt = () => checkClassMemory(50_000, 10_000, host, 'data.csv');
    // Assess
    expect(attempt).toThrow(CapacityError);
    expect(attempt).toThrow(
      /^data\.csv: 50,000 rows x 10,000 classes need about 11\.2 GiB for the label distributions .* half this host's 16\.0 GiB/,
    );
    expect(() => checkClassMemory(50_000, 1000, host, 'data.csv')).not.toThrow();
  });

  it('refuses ids whose table could pass half a 3,008 MB Lambda (30M 10-byte ids), accepts 10M', () => {
    // Prepare
    const lambda = { ...LIMITS, memoryBytes: 3008 * 2 ** 20 };
    const table = (ids: number) => ({ size: ids, bytes: idTableBytes(ids, 10 * ids), idBytes: 10 * ids });
    // Act
    const attempt = () => checkIdTableMemory(table(30_000_000), lambda, 'big.csv');
    // Assess
    expect(attempt).toThrow(CapacityError);
    expect(attempt).toThrow(
      /^big\.csv: finding duplicate ids keeps every id in one table .* 30,000,000 ids in 1\.9 GiB: more than half this host's 2\.9 GiB.*split the input into several runs/,
    );
    expect(() => checkIdTableMemory(table(10_000_000), lambda, 'big.csv')).not.toThrow();
  });

  it("refuses more ids than the table's bound on any host", () => {
    // Prepare
    const huge = { ...LIMITS, memoryBytes: 2 ** 50 };
    // Act
    const attempt = () => checkIdTableMemory({ size: MAX_IDS + 1, bytes: 0, idBytes: 0 }, huge, 'big.csv');
    // Assess
    expect(attempt).toThrow(CapacityError);
  });

  it('idTableBytes bounds what an IdTable takes as it fills', () => {
    // Prepare
    const table = new IdTable();
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => `id-${i}`).join(''), 'utf8');
    // Act
    let at = 0;
    let worst = 0;
    for (let i = 0; i < 300_000; i++) {
      const end = at + `id-${i}`.length;
      table.firstOrAdd(bytes, at, end, i);
      at = end;
      if (i % 1000 === 999) worst = Math.max(worst, table.bytes / idTableBytes(table.size, table.idBytes));
    }
    // Assess
    expect(table.idBytes).toBe(bytes.length);
    expect(worst).toBeLessThanOrEqual(1);
  });
});
