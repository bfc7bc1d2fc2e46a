import { defaultId } from '../../data/defaultId.ts';
import { decodeIdsSection, featureBytes, idsSection, SHARD_HEADER_BYTES } from '../../data/shardFormat.ts';
import { mapConcurrently } from '../concurrentRequests.ts';
import { keys } from '../keys.ts';
import type { StageContext } from '../stageContext.ts';
import { fileLine, type ShardPlace } from './shardPlace.ts';
import type { ShardSummary } from './shardSummary.ts';

/**
 * The features of some rows of an ingested shard (local rows, ascending), read with ranged GETs of their bytes
 * (runs of consecutive rows in one GET), not the whole shard: the collect step reads only the rows it needs
 * (the IVF sample, duplicates' rows) this way. Row-major, in the order given.
 */
export async function readShardRows(
  ctx: StageContext,
  runId: string,
  shard: number,
  d: number,
  rows: readonly number[],
): Promise<Float32Array> {
  const out = new Float32Array(rows.length * d);
  if (rows.length === 0 || d === 0) return out;
  const runs: { at: number; from: number; to: number }[] = [];
  for (let r = 0; r < rows.length; r++) {
    const last = runs[runs.length - 1];
    if (last !== undefined && rows[r] === last.to) last.to++;
    else runs.push({ at: r, from: rows[r], to: rows[r] + 1 });
  }
  const key = keys.shardData(runId, shard);
  await mapConcurrently(runs, async ({ at, from, to }) => {
    const [start, end] = featureBytes(d, from, to);
    const bytes = await ctx.store.getRange(key, start, end);
    if (bytes.length !== end - start) throw new RangeError(`${key}: rows ${from} to ${to - 1} are past its end`);
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    out.set(new Float32Array(aligned.buffer, aligned.byteOffset, (end - start) / 4), at * d);
  });
  return out;
}

/**
 * A shard's ids as placeShard names them (default ids made from the summary's lines of those rows), read with two
 * ranged GETs of its header and id section, not its rows: 4 bytes a row and the ids' own.
 */
export async function readShardIds(
  ctx: StageContext,
  runId: string,
  shard: number,
  summary: ShardSummary,
  place: ShardPlace,
): Promise<string[]> {
  const key = keys.shardData(runId, shard);
  const { n, labelCount, start, end } = idsSection(await ctx.store.getRange(key, 0, SHARD_HEADER_BYTES));
  const ids = decodeIdsSection(await ctx.store.getRange(key, start, end), n, labelCount);
  let next = 0;
  for (let i = 0; i < n; i++) {
    if (ids[i] !== '') continue;
    ids[i] = defaultId(fileLine(place, summary.defaultLines[next++]) - place.rowZeroLine, place.idFile);
  }
  return ids;
}
