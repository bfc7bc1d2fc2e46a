import type { ObjectStore } from '../../lib/adapters/objectStore.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import type { RunRecord } from '../../lib/pipeline/run/runRecord.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import type { Stage } from '../../lib/pipeline/taskMessage.ts';
import { sampleReport } from '../unit/sampleReport.ts';

/**
 * Moves a fake run forward in a store as the pipeline would (run.json, completion markers, output/report.json),
 * so a test can watch `pseudolabel status` follow it step by step without running any stage.
 */
export class RunDriver {
  private record: RunRecord;

  constructor(
    private readonly store: ObjectStore,
    readonly runId: string,
    shards: number,
    dataset = 'blobs',
  ) {
    const now = new Date().toISOString();
    this.record = {
      runId,
      dataset,
      inputRoot: 'file:///data',
      inputs: [{ key: 'incoming/blobs/a.csv', size: 10, etag: 'e' }],
      options: parseRunOptions({}),
      status: 'running',
      stage: 'plan',
      round: 0,
      shards,
      createdAt: now,
      updatedAt: now,
      timings: {},
    };
  }

  /** Writes run.json at a stage and round. */
  async stage(stage: Stage, round = 0): Promise<void> {
    await this.write({ stage, round });
  }

  /** Writes the completion markers of shards `from` .. `to - 1` of a stage and round. */
  async markers(stage: Stage, round: number, from: number, to: number): Promise<void> {
    for (let shard = from; shard < to; shard++)
      await this.store.put(keys.marker(this.runId, stage, round, shard), '{}');
  }

  /** Ends the run successfully with an output/report.json of `rows` rows, `unreached` of them unlabelled. */
  async succeed(rows: number, unreached: number): Promise<void> {
    const counts = { given: { a: 2 }, propagated: { a: rows - 2 - unreached }, pseudo: {}, none: { a: unreached } };
    const rounds = [{ round: 0, added: rows - unreached, counts, confidenceHistogram: [] }];
    const report = sampleReport({
      runId: this.runId,
      method: 'label-spreading',
      n: rows,
      given: 2,
      rejected: 0,
      rounds,
    });
    await this.store.put(keys.output(this.runId, 'report.json'), JSON.stringify(report));
    await this.write({ status: 'succeeded', stage: 'finalize', finishedAt: new Date().toISOString() });
  }

  async fail(error: string): Promise<void> {
    await this.write({ status: 'failed', error, finishedAt: new Date().toISOString() });
  }

  private async write(change: Partial<RunRecord>): Promise<void> {
    this.record = { ...this.record, ...change, updatedAt: new Date().toISOString() };
    await this.store.put(keys.run(this.runId), JSON.stringify(this.record));
  }
}
