import { type FeatureScaling, FeatureStatistics, type Scale } from '../../data/featureScaling.ts';
import { decodeShard } from '../../data/shardFormat.ts';
import { keys } from '../keys.ts';
import type { StageContext } from '../stageContext.ts';
import type { Collected } from './collected.ts';

/**
 * The collect step's `--scale` statistics (lib/data/featureScaling.ts): fed each shard's accepted rows during
 * collect's read, then finished with further reads of the shards where robust scaling needs them.
 */
export class RunScaling {
  private readonly statistics: FeatureStatistics;

  constructor(d: number, scale: Scale) {
    this.statistics = new FeatureStatistics(d, scale);
  }

  /** A shard's rows as collect decoded them, `dropped` its local rows left out as duplicate ids. */
  add(features: Float32Array, n: number, dropped: readonly number[]): void {
    this.statistics.add({ data: features, n, skip: dropped.length > 0 ? new Set(dropped) : undefined });
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
