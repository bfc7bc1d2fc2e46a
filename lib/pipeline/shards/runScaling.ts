import type { MomentSums } from '../../data/exactMoments.ts';
import { type FeatureScaling, FeatureStatistics, type Scale } from '../../data/featureScaling.ts';
import { decodeShard } from '../../data/shardFormat.ts';
import { keys } from '../keys.ts';
import type { StageContext } from '../stageContext.ts';
import type { Collected } from './collected.ts';

/**
 * The collect step's `--scale` statistics (lib/data/featureScaling.ts): fed each shard's exact sums from its
 * summary (shardSummary.ts), less the rows collect drops as duplicate ids, then finished with further reads of
 * the shards where robust scaling needs them.
 */
export class RunScaling {
  private readonly statistics: FeatureStatistics;

  constructor(d: number, scale: Scale) {
    this.statistics = new FeatureStatistics(d, scale);
  }

  /** A shard's sums (its summary's), every row of it included. */
  addSums(sums: MomentSums): void {
    this.statistics.moments.merge(sums);
  }

  /** Leaves out a row added with its shard's sums (a duplicate id): its features. */
  subtractRow(row: Float32Array): void {
    this.statistics.moments.subtractRow(row);
  }

  /** The scaling by `method` (default the run's --scale); robust reads the shards again. */
  finish(ctx: StageContext, runId: string, shards: Collected['shards'], method?: Scale): Promise<FeatureScaling> {
    return this.statistics.finish(async (visit) => {
      for (let s = 0; s < shards.length; s++) {
        const shard = decodeShard(await ctx.store.get(keys.shardData(runId, s)));
        const { dropped } = shards[s];
        visit({ data: shard.features, n: shard.n, skip: dropped.length > 0 ? new Set(dropped) : undefined });
      }
    }, method);
  }
}
