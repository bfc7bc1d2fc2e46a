import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { loadShardFeatures, loadShardRows, readCollected } from '../../lib/pipeline/shards/collected.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import { driveRun } from './support/manualDriver.ts';
import { removeTempDirs, tempDir } from './support/pipelineHarness.ts';

afterAll(removeTempDirs);

describe('loadShardFeatures', () => {
  it.each(['none', 'standard', 'robust'] as const)(
    'gives the features loadShardRows gives, duplicates left out (--scale %s)',
    async (scale) => {
      // Prepare: 3 shards, with repeated ids (collect drops the later copies) in two of them
      const dir = await tempDir();
      const rows = blobRows({ n: 120, d: 5, seed: 31 });
      const repeated = [...rows, ...rows.slice(10, 14), ...rows.slice(50, 52)];
      const input = await writeInput(dir, 'data.csv', csvText(repeated));
      const options = parseRunOptions({ scale, shards: 3, neighborsMode: 'exact', workers: 1, neighbors: 5 });
      const run = await driveRun(input, join(dir, 'state'), options, `features-${scale}`);
      const ctx = filesystemStageContext(run.store);
      const collected = await readCollected(ctx, run.runId);

      // Act
      const loaded = await Promise.all(
        collected.shards.map(async (_, s) => ({
          features: await loadShardFeatures(ctx, run.runId, s, collected),
          rows: await loadShardRows(ctx, run.runId, s, collected),
        })),
      );

      // Assess
      expect(collected.shards.reduce((dropped, shard) => dropped + shard.dropped.length, 0)).toBe(6);
      for (const { features, rows } of loaded) expect(features).toEqual(rows.X.data);
      expect(loaded.reduce((n, { features }) => n + features.length / 5, 0)).toBe(120);
    },
  );
});
