import { hashId, type IdHasher } from '../../data/idHashes.ts';

/** Above any line number of the shard format (u31): a row's place is input * LINE_SPAN + line. */
export const LINE_SPAN = 2 ** 31;

/** A row whose id hash repeats an earlier row's (IdHashes): its index among all ingested rows and its hash. */
export interface HashRepeat {
  readonly ingested: number;
  readonly shard: number;
  readonly hash: string;
}

/** A shard's ids as UTF-8 (row i: idBytes[idOffsets[i] .. idOffsets[i + 1])), with the place of each row. */
export interface ShardIds {
  readonly n: number;
  readonly idBytes: Uint8Array;
  readonly idOffsets: Uint32Array;
  /** Row i's id as text (decoded only for the repeats). */
  idOf(i: number): string;
  /** Row i's place: input * LINE_SPAN + its file line. */
  placeOf(i: number): number;
}

/** The re-check of a hash repeat: a duplicate of the row placed at `first`, or (`first` undefined) a collision. */
export interface RepeatCheck {
  readonly id: string;
  readonly first?: number;
}

/** The key of an id's 64-bit hash (hashId). */
export function hashKey(hash: Uint32Array): string {
  return `${hash[0]}.${hash[1]}`;
}

/**
 * Re-checks byte for byte the rows whose 64-bit id hash repeated an earlier row's (collect's hash pass keeps
 * hashes, not ids): reads the ids of the shards up to the last repeat, in order, keeps the distinct ids of the
 * repeated hashes only (the duplicates' and their first occurrences': never every id), and says for each repeat
 * which row its id first appeared in, or that it is an id of its own whose hash collided with another's. Returns
 * the checks by ingested row index (`hashOf` must be the hasher of the hash pass). Only the shards up to the last
 * repeat are read, and none when there is none; given `holders` (the shards holding a row of a repeated hash,
 * and the row count of every shard), only those.
 */
export async function checkRepeats(
  repeats: readonly HashRepeat[],
  shardIds: (shard: number) => Promise<ShardIds>,
  hashOf: IdHasher = hashId,
  holders?: { readonly shards: ReadonlySet<number>; readonly rows: readonly number[] },
): Promise<Map<number, RepeatCheck>> {
  const checks = new Map<number, RepeatCheck>();
  if (repeats.length === 0) return checks;
  const isRepeat = new Set(repeats.map((repeat) => repeat.ingested));
  // the distinct ids seen so far with a repeated hash: their bytes and the place of their first row
  const seen = new Map<string, { bytes: Buffer; first: number }[]>();
  for (const repeat of repeats) seen.set(repeat.hash, []);
  const lastShard = repeats.reduce((last, repeat) => Math.max(last, repeat.shard), 0);
  const hash = new Uint32Array(2);
  let ingested = 0;
  for (let s = 0; s <= lastShard; s++) {
    if (holders && !holders.shards.has(s)) {
      ingested += holders.rows[s];
      continue;
    }
    const shard = await shardIds(s);
    const { idBytes, idOffsets } = shard;
    for (let i = 0; i < shard.n; i++, ingested++) {
      hashOf(idBytes, idOffsets[i], idOffsets[i + 1], hash);
      const ids = seen.get(hashKey(hash));
      if (ids === undefined) continue;
      const bytes = Buffer.from(idBytes.buffer, idBytes.byteOffset + idOffsets[i], idOffsets[i + 1] - idOffsets[i]);
      const earlier = ids.find((id) => id.bytes.equals(bytes));
      if (isRepeat.has(ingested)) {
        checks.set(ingested, earlier ? { id: shard.idOf(i), first: earlier.first } : { id: shard.idOf(i) });
      }
      if (earlier === undefined) ids.push({ bytes: Buffer.from(bytes), first: shard.placeOf(i) });
    }
  }
  return checks;
}
