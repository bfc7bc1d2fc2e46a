import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { ExactMoments } from '../../lib/data/exactMoments.ts';
import { hashId } from '../../lib/data/idHashes.ts';
import { decodeShard, encodeShard, type ShardRow } from '../../lib/data/shardFormat.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import { placeShard, type ShardPlace } from '../../lib/pipeline/shards/shardPlace.ts';
import { readShardIds, readShardRows } from '../../lib/pipeline/shards/shardRowReads.ts';
import {
  decodeShardSummary,
  eachIdHash,
  encodeShardSummary,
  readShardSummary,
  summarizeShard,
} from '../../lib/pipeline/shards/shardSummary.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/** Six rows of two features: ids given and default (''), labels given and not. */
const ROWS: ShardRow[] = [
  { line: 1, id: 'a', label: 'cat', features: [1, 2] },
  { line: 2, id: '', label: null, features: [-3, 0.5] },
  { line: 4, id: 'é', label: 'dog', features: [7, -1] },
  { line: 5, id: '', label: 'cat', features: [0, 0] },
  { line: 6, id: 'b', label: null, features: [2.5, 9] },
  { line: 8, id: '', label: null, features: [-1, 4] },
];

function shardBytes(): Uint8Array {
  return encodeShard(ROWS, 2);
}

describe('shard summaries', () => {
  it('keep the labelled rows, the sums and the range of a shard, and survive encoding', () => {
    // Act
    const summary = decodeShardSummary(encodeShardSummary(summarizeShard(decodeShard(shardBytes()))));

    // Assess
    expect(summary.n).toBe(6);
    expect(summary.labels).toEqual(['cat', 'dog']);
    expect([...summary.labelled]).toEqual([0, 2, 3]);
    expect([...summary.labelCodes]).toEqual([0, 1, 0]);
    expect([...summary.defaultLines]).toEqual([2, 5, 8]);
    const moments = new ExactMoments(2);
    moments.add(Float32Array.from(ROWS.flatMap((row) => Array.from(row.features))), ROWS.length);
    expect(summary.moments).toEqual(moments.sums());
  });

  it("hash every row's id as the placed shard names it, default ids made from the shard's place", () => {
    // Prepare: the shard starts at line 41 of the second of two files (its default ids name the file)
    const summary = summarizeShard(decodeShard(shardBytes()));
    const place: ShardPlace = { firstLine: 41, rowZeroLine: 2, idFile: 'in/part-2.csv' };
    const placed = placeShard(decodeShard(shardBytes()), place);
    const expected = placed.ids.map((id) => {
      const hash = new Uint32Array(2);
      const bytes = Buffer.from(id, 'utf8');
      hashId(bytes, 0, bytes.length, hash);
      return [hash[0], hash[1]];
    });

    // Act
    const hashes: number[][] = [];
    eachIdHash(summary, place, hashId, (i, high, low) => hashes.push([i, high, low]));

    // Assess
    expect(placed.ids[1]).toBe('part-2.csv:40');
    expect(hashes).toEqual(expected.map(([high, low], i) => [i, high, low]));
  });

  it('are made from the shard when its ingest task wrote none (a run from before them), and rows read alone', async () => {
    // Prepare
    const root = await mkdtemp(join(tmpdir(), 'pseudolabel-summary-'));
    dirs.push(root);
    const store = new FilesystemObjectStore(root);
    const ctx = filesystemStageContext(store);
    await store.put(keys.shardData('r1', 0), shardBytes());

    const place: ShardPlace = { firstLine: 41, rowZeroLine: 2, idFile: 'in/part-2.csv' };

    // Act
    const summary = await readShardSummary(ctx, 'r1', 0, hashId);
    const rows = await readShardRows(ctx, 'r1', 0, 2, [1, 2, 5]);
    const ids = await readShardIds(ctx, 'r1', 0, summary, place);

    // Assess
    expect(summary).toEqual(summarizeShard(decodeShard(shardBytes())));
    expect([...rows]).toEqual([-3, 0.5, 7, -1, -1, 4]);
    expect(ids).toEqual(placeShard(decodeShard(shardBytes()), place).ids);
    expect(ids[3]).toBe('part-2.csv:43');
  });
});
