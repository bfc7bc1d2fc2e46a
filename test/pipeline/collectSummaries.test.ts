import { afterAll, describe, expect, it } from 'vitest';
import type { StageMetrics } from '../../lib/pipeline/taskMetrics.ts';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import { comparableReport, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * The collect step reads each shard's summary (shards/shardSummary.ts), not its rows (issue 16): its bytes read
 * stay a small fraction of the shards', and only the shards holding a repeated id are read for the repeats.
 */

afterAll(removeTempDirs);

const N = 6000;
const D = 16;

function collectMetrics(report: Record<string, unknown>): StageMetrics {
  return (report.stageMetrics as Record<string, StageMetrics>).collect;
}

describe('collect over shard summaries', () => {
  it("reads about 8 bytes a row of the shards' summaries, not the shards (4 bytes x d features a row)", async () => {
    // Prepare
    const text = csvText(blobRows({ n: N, d: D, seed: 61 }));
    const input = await writeInput(await tempDir(), 'blobs.csv', text);

    // Act
    const run = await runPipeline(input, { shards: 4, workers: 2, neighbors: 5 });

    // Assess: the shards alone hold 4 D bytes a row of features
    const read = collectMetrics(run.report).bytesRead;
    expect(read).toBeLessThan(N * 16);
    expect(read).toBeLessThan((N * 4 * D) / 4);
  });

  it('reads for a repeated id only the shards that hold it, and labels as one shard does', async () => {
    // Prepare: row 2 of the first quarter repeated near the start of the second quarter (rows of 4 shards)
    const d = 48;
    const rows = blobRows({ n: N, d, seed: 62 });
    rows[N / 4 + 10] = { ...rows[N / 4 + 10], id: rows[2].id };
    const input = await writeInput(await tempDir(), 'repeat.csv', csvText(rows));

    // Act
    const sharded = await runPipeline(input, { shards: 4, workers: 2, neighbors: 5 });
    const single = await runPipeline(input, { shards: 1, workers: 1, neighbors: 5 });

    // Assess: the two shards of the repeat and the summaries twice (the second read finds the shards), not all four
    expect(sharded.labels).toBe(single.labels);
    expect(sharded.rejected).toBe(single.rejected);
    expect(sharded.rejected).toContain(`duplicate id ""${rows[2].id}""`);
    expect(comparableReport(sharded.report)).toEqual(comparableReport(single.report));
    const read = collectMetrics(sharded.report).bytesRead;
    // (ingest wrote the four shards of about equal size, their summaries and refusals: about 10 bytes a row
    // of summary against 4 x 48 + 30 of shard)
    const written = (sharded.report.stageMetrics as Record<string, StageMetrics>).ingest.bytesWritten;
    expect(read).toBeGreaterThan(0.4 * written);
    expect(read).toBeLessThan(0.8 * written);
  });
});
