import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CountingObjectStore } from '../../lib/adapters/countingObjectStore.ts';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { rowNormsOf } from '../../lib/linalg/dotDistances.ts';
import { encodeRows, type Int16Codes, int16Codes } from '../../lib/linalg/int16Codes.ts';
import { packArrays } from '../../lib/pipeline/binaryArrays.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import {
  type RangeCellsPart,
  readProbedCells,
  readRangeCells,
  writeRangeCells,
} from '../../lib/pipeline/neighbors/ivfObjects.ts';
import type { StageContext } from '../../lib/pipeline/stageContext.ts';
import { seededRandom } from '../pipeline/support/datasets.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

/**
 * A cells object (one shard's rows of one cell range, grouped by cell) read whole, and read cell by cell with
 * ranged GETs: the probed cells' members only, the same values, fewer bytes.
 */

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

/** A store counting bytes and ranged GETs. */
class RangeCountingStore extends CountingObjectStore {
  ranged = 0;
  override async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    this.ranged++;
    return super.getRange(key, start, end);
  }
}

async function contextWithStore(): Promise<{ ctx: StageContext; store: RangeCountingStore }> {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-range-cells-'));
  roots.push(root);
  const store = new RangeCountingStore(new FilesystemObjectStore(root));
  return { ctx: filesystemStageContext(store), store };
}

const D = 16;
const WIDTH = 3;
/** Bytes of a row's record: its global index, squared norm and vector. */
const RECORD = 4 * (2 + D);

/** A part of cells of the given sizes, random vectors, members ascending, norms and words as the cells task makes. */
function partOf(sizes: readonly number[], seed: number): { part: RangeCellsPart; codes: Int16Codes } {
  const random = seededRandom(seed);
  const offsets = new Int32Array(sizes.length + 1);
  sizes.forEach((size, i) => {
    offsets[i + 1] = offsets[i] + size;
  });
  const n = offsets[sizes.length];
  const vectors = Float32Array.from({ length: n * D }, () => random() * 2 - 1);
  const codes = int16Codes(D, [Float32Array.from({ length: D * 2 }, (_, i) => (i < D ? -1 : 1))]) as Int16Codes;
  const part = {
    offsets,
    members: Int32Array.from({ length: n }, (_, i) => 1000 + 3 * i),
    vectors,
    norms: rowNormsOf(vectors, n, D),
    words: encodeRows(codes, vectors, n),
    nearestWidth: WIDTH,
    nearest: Int32Array.from({ length: n * WIDTH }, () => Math.floor(random() * 50)),
  };
  return { part, codes };
}

/** The rows of cells [from, to) of a part. */
function rowsOf(part: RangeCellsPart, from: number, to: number) {
  const [a, b] = [part.offsets[from], part.offsets[to]];
  const pairs = part.words.length / part.members.length;
  return {
    members: Array.from(part.members.subarray(a, b)),
    vectors: Array.from(part.vectors.subarray(a * D, b * D)),
    norms: Array.from(part.norms.subarray(a, b)),
    words: Array.from(part.words.subarray(a * pairs, b * pairs)),
  };
}

describe('cells objects', () => {
  it('read whole, round-trip every row of every cell with its nearest cells', async () => {
    // Prepare
    const { ctx } = await contextWithStore();
    const { part, codes } = partOf([5, 0, 7, 3], 1);
    await writeRangeCells(ctx, 'run', 2, 1, part);

    // Act
    const read = await readRangeCells(ctx, 'run', 2, 1, codes);

    // Assess
    expect(read).toEqual(part);
  });

  it('read by probed cells, hold exactly those cells (the others empty), with fewer bytes and one GET per run', async () => {
    // Prepare: rows of 16 features take 72 bytes, so cells of 1,000 rows are 72 KB apart, past the 64 KiB join gap.
    const { ctx, store } = await contextWithStore();
    const sizes = [1000, 0, 1200, 900, 1000, 1100, 800];
    const { part, codes } = partOf(sizes, 2);
    await writeRangeCells(ctx, 'run', 0, 3, part);
    const whole = (await store.head(keys.rangeCells('run', 0, 3)))?.size ?? 0;
    const wanted = Uint8Array.from([1, 0, 0, 1, 1, 0, 1]);
    store.traffic.bytesRead = 0;

    // Act
    const [read] = await readProbedCells(ctx, 'run', [{ range: 0, shard: 3, wanted }], codes);

    // Assess
    const cellSizes = Array.from({ length: sizes.length }, (_, i) => read.offsets[i + 1] - read.offsets[i]);
    expect(cellSizes).toEqual(sizes.map((size, i) => (wanted[i] === 1 ? size : 0)));
    expect(rowsOf(read, 0, 1)).toEqual(rowsOf(part, 0, 1));
    expect(rowsOf(read, 3, 5)).toEqual(rowsOf(part, 3, 5));
    expect(rowsOf(read, 6, 7)).toEqual(rowsOf(part, 6, 7));
    expect(read.nearest.length).toBe(0);
    // The index, then cells 0, 3-4 (adjacent: one GET) and 6.
    expect(store.ranged).toBe(4);
    const records = (1000 + 900 + 1000 + 800) * RECORD;
    expect(store.traffic.bytesRead).toBeLessThan(records + 200);
    // Neither the unprobed cells 2 and 5 nor the nearest cells.
    expect(store.traffic.bytesRead).toBeLessThan(whole - (1200 + 1100) * RECORD);
  });

  it('read by probed cells, join cells a few rows apart into one GET, and read only the index of an object without them', async () => {
    // Prepare
    const { ctx, store } = await contextWithStore();
    const { part, codes } = partOf([4, 3, 5, 0, 2], 3);
    await writeRangeCells(ctx, 'run', 1, 0, part);
    await writeRangeCells(ctx, 'run', 1, 1, partOf([0, 0, 0, 0, 0], 4).part);
    const wanted = Uint8Array.from([1, 0, 1, 0, 1]);

    // Act
    const [read, empty] = await readProbedCells(
      ctx,
      'run',
      [
        { range: 1, shard: 0, wanted },
        { range: 1, shard: 1, wanted },
      ],
      codes,
    );

    // Assess: cell 1 (3 rows) came along with 0 and 2 in one GET, and was left out of the part.
    expect(store.ranged).toBe(3);
    const cellSizes = Array.from({ length: 5 }, (_, i) => read.offsets[i + 1] - read.offsets[i]);
    expect(cellSizes).toEqual([4, 0, 5, 0, 2]);
    expect(Array.from(read.objectOffsets)).toEqual([0, 4, 7, 12, 12, 14]); // every cell's rows, from the index
    expect(rowsOf(read, 0, 1)).toEqual(rowsOf(part, 0, 1));
    expect(rowsOf(read, 2, 3)).toEqual(rowsOf(part, 2, 3));
    expect(rowsOf(read, 4, 5)).toEqual(rowsOf(part, 4, 5));
    expect(empty.members.length).toBe(0);
    expect(Array.from(empty.offsets)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('read an object of format 2 (no norms stored, as versions kept before), computing the norms', async () => {
    // Prepare: the object as format 2 wrote it, records of index and vector only
    const { ctx } = await contextWithStore();
    const { part, codes } = partOf([5, 0, 7, 3], 6);
    const records = new ArrayBuffer(part.members.length * 4 * (1 + D));
    part.members.forEach((member, i) => {
      new Int32Array(records)[i * (1 + D)] = member;
      new Float32Array(records).set(part.vectors.subarray(i * D, (i + 1) * D), i * (1 + D) + 1);
    });
    const object = packArrays([Int32Array.of(2, WIDTH, D), part.offsets, new Uint8Array(records), part.nearest]);
    await ctx.store.put(keys.rangeCells('run', 0, 0), object);

    // Act
    const whole = await readRangeCells(ctx, 'run', 0, 0, codes);
    const [probed] = await readProbedCells(
      ctx,
      'run',
      [{ range: 0, shard: 0, wanted: Uint8Array.of(0, 0, 1, 1) }],
      codes,
    );

    // Assess
    expect(whole).toEqual(part);
    expect(rowsOf(probed, 2, 4)).toEqual(rowsOf(part, 2, 4));
  });

  it('refuse an object that is not the cells object of that many cells, naming it', async () => {
    // Prepare
    const { ctx } = await contextWithStore();
    await writeRangeCells(ctx, 'run', 0, 0, partOf([2, 2], 5).part);

    // Act
    const read = readProbedCells(ctx, 'run', [{ range: 0, shard: 0, wanted: Uint8Array.from([1, 1, 1]) }]);

    // Assess
    await expect(read).rejects.toThrow(/ranges\/0+\/0+\/cells\.bin is not a cells object of 3 cells/);
  });
});
