import type { RejectedRow } from '../../data/dataset.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import type { Collected } from '../shards/collected.ts';
import { placeRejected, type ShardPlace } from '../shards/shardPlace.ts';
import type { ShardPlan } from '../shards/shardPlan.ts';
import type { StageContext } from '../stageContext.ts';

/** Every rejected row of a run (ingest refusals and duplicate ids), in input order: file by file, by line. */
export async function allRejected(
  ctx: StageContext,
  runId: string,
  plan: ShardPlan,
  places: readonly ShardPlace[],
  duplicates: Collected['duplicates'],
): Promise<RejectedRow[]> {
  const rows: { input: number; row: RejectedRow }[] = duplicates.map(({ input, ...row }) => ({ input, row }));
  for (const spec of plan.shards) {
    const refused = await readJson<RejectedRow[]>(ctx.store, keys.shardRejected(runId, spec.shard));
    for (const row of placeRejected(places[spec.shard], refused)) rows.push({ input: spec.input, row });
  }
  rows.sort((a, b) => a.input - b.input || a.row.line - b.row.line);
  return rows.map((entry) => entry.row);
}

/**
 * The kind of a reason: the reason without the value or position it quotes ('column "b" is not a number:
 * "abc"' -> 'column "b" is not a number'), so rows refused for the same cause count together.
 */
export function reasonKind(reason: string): string {
  const cut = [reason.indexOf(': '), reason.indexOf(' (')].filter((at) => at > 0);
  return cut.length === 0 ? reason : reason.slice(0, Math.min(...cut));
}

/** The most common kinds of reason, with their counts and first line: '40 rows: column "b" is not a number (first at line 6)'. */
export function commonReasons(rows: readonly RejectedRow[], top = 3): string[] {
  const kinds = new Map<string, { count: number; first: RejectedRow }>();
  for (const row of rows) {
    const kind = reasonKind(row.reason);
    const entry = kinds.get(kind);
    if (entry) entry.count++;
    else kinds.set(kind, { count: 1, first: row });
  }
  return [...kinds.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, top)
    .map(
      ([kind, { count, first }]) => `${count} ${count === 1 ? 'row' : 'rows'}: ${kind} (first at line ${first.line})`,
    );
}
