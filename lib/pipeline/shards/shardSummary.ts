import { NotFoundError } from '../../adapters/errors.ts';
import { DefaultIdBytes } from '../../data/defaultId.ts';
import { ExactMoments, type MomentSums } from '../../data/exactMoments.ts';
import { hashId, type IdHasher } from '../../data/idHashes.ts';
import { type DecodedShard, decodeShard } from '../../data/shardFormat.ts';
import { FeatureRange } from '../../linalg/int16Codes.ts';
import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { keys } from '../keys.ts';
import type { StageContext } from '../stageContext.ts';
import { fileLine, type ShardPlace } from './shardPlace.ts';

/**
 * What the collect step needs of an ingested shard, without its rows (issue 16: collect read every shard whole,
 * 275 bytes a row at d = 64, in one task). Written by the ingest task beside the shard; 8 bytes a row (the id
 * hashes) plus 4 for each row with a default id and 8 for each labelled row, and O(d) for the rest:
 *
 * - the 64-bit hash of each row's id (IdHashes' words; 0, 0 for a row with a default id, which depends on the
 *   shard's first line in its file, known only to collect: its shard line is in `defaultLines`, in row order);
 * - the labelled rows and their labels (the shard's label table, first-seen order);
 * - the exact sums of each feature's values and squares (ExactMoments), for `--scale` and the spread warning;
 * - each feature's smallest and largest value (FeatureRange), for the run's 16-bit codes.
 *
 * Everything else collect decides (which rows are duplicates, the global row offsets, the classes) follows from
 * these in shard order; the rows themselves are read only where an answer needs them (the duplicates' ids and
 * lines, the IVF sample, robust scaling's order statistics, dataset runs' label overrides by id).
 */
export interface ShardSummary {
  readonly n: number;
  readonly d: number;
  /** The shard format's lines spanned, from which collect places the shard in its file (shardPlace.ts). */
  readonly spannedLines: number;
  /** The shard's distinct labels, in first-seen order. */
  readonly labels: string[];
  /** Per row, the two words of its id's hash (hashId); 0, 0 for a row with a default id. */
  readonly hashes: Uint32Array;
  /** The shard's line of each row with a default id, in row order. */
  readonly defaultLines: Int32Array;
  /** The labelled rows, ascending, and each one's label as an index into `labels`. */
  readonly labelled: Int32Array;
  readonly labelCodes: Int32Array;
  /** Per feature, the smallest and largest value of every row (infinities where FeatureRange is unavailable). */
  readonly low: Float32Array;
  readonly high: Float32Array;
  readonly moments: MomentSums;
}

const FORMAT = 1;

/** The summary of an ingested shard (before it is placed in its file: default ids still empty). */
export function summarizeShard(shard: DecodedShard, hashOf: IdHasher = hashId): ShardSummary {
  const { n, d, idBytes, idOffsets, labels: rowLabels, features } = shard;
  const hashes = new Uint32Array(2 * n);
  const hash = new Uint32Array(2);
  const defaultLines: number[] = [];
  const labelled: number[] = [];
  const labelCodes: number[] = [];
  const labels: string[] = [];
  const labelIndex = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    if (idOffsets[i + 1] === idOffsets[i]) defaultLines.push(shard.lines[i]);
    else {
      hashOf(idBytes, idOffsets[i], idOffsets[i + 1], hash);
      hashes[2 * i] = hash[0];
      hashes[2 * i + 1] = hash[1];
    }
    const label = rowLabels[i];
    if (label === null) continue;
    let code = labelIndex.get(label);
    if (code === undefined) {
      code = labels.length;
      labelIndex.set(label, code);
      labels.push(label);
    }
    labelled.push(i);
    labelCodes.push(code);
  }
  const moments = new ExactMoments(d);
  moments.add(features, n);
  const range = new FeatureRange(d);
  if (n > 0) range.add(features);
  return {
    n,
    d,
    spannedLines: shard.spannedLines,
    labels,
    hashes,
    defaultLines: Int32Array.from(defaultLines),
    labelled: Int32Array.from(labelled),
    labelCodes: Int32Array.from(labelCodes),
    low: Float32Array.from(range.bounds.low),
    high: Float32Array.from(range.bounds.high),
    moments: moments.sums(),
  };
}

export function encodeShardSummary(summary: ShardSummary): Uint8Array {
  const { n, d, spannedLines, labels, moments } = summary;
  const header = new TextEncoder().encode(JSON.stringify({ format: FORMAT, n, d, spannedLines, labels, moments }));
  return packArrays([
    header,
    new Int32Array(summary.hashes.buffer, summary.hashes.byteOffset, summary.hashes.length),
    summary.defaultLines,
    summary.labelled,
    summary.labelCodes,
    summary.low,
    summary.high,
  ]);
}

export function decodeShardSummary(bytes: Uint8Array): ShardSummary {
  const [header, hashes, defaultLines, labelled, labelCodes, low, high] = unpackArrays(bytes);
  const fields = JSON.parse(new TextDecoder().decode(header)) as Pick<
    ShardSummary,
    'n' | 'd' | 'spannedLines' | 'labels' | 'moments'
  > & { format: number };
  if (fields.format !== FORMAT) throw new RangeError(`shard summary format ${fields.format}, expected ${FORMAT}`);
  return {
    n: fields.n,
    d: fields.d,
    spannedLines: fields.spannedLines,
    labels: fields.labels,
    moments: fields.moments,
    hashes: new Uint32Array(hashes.buffer, hashes.byteOffset, hashes.length),
    defaultLines: defaultLines as Int32Array,
    labelled: labelled as Int32Array,
    labelCodes: labelCodes as Int32Array,
    low: low as Float32Array,
    high: high as Float32Array,
  };
}

/** Writes the summary of a shard the run holds (a reused shard's, copied from a version that kept none). */
export async function writeShardSummary(
  ctx: StageContext,
  runId: string,
  shard: number,
  decoded: DecodedShard,
  hashOf: IdHasher,
): Promise<void> {
  await ctx.store.put(keys.shardSummary(runId, shard), encodeShardSummary(summarizeShard(decoded, hashOf)));
}

/**
 * A shard's summary; made from the shard itself (read whole) when its ingest task wrote none (a run started
 * before summaries existed).
 */
export async function readShardSummary(
  ctx: StageContext,
  runId: string,
  shard: number,
  hashOf: IdHasher,
): Promise<ShardSummary> {
  try {
    return decodeShardSummary(await ctx.store.get(keys.shardSummary(runId, shard)));
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    return summarizeShard(decodeShard(await ctx.store.get(keys.shardData(runId, shard))), hashOf);
  }
}

/**
 * Calls visit(i, high, low) with the two words of each row's id hash, in row order: the summary's, or for a row
 * with a default id the hash of that id, made from the row's line as placeShard makes it.
 */
export function eachIdHash(
  summary: ShardSummary,
  place: ShardPlace,
  hashOf: IdHasher,
  visit: (i: number, high: number, low: number) => void,
): void {
  const { hashes, defaultLines } = summary;
  const hash = new Uint32Array(2);
  const id = new DefaultIdBytes(place.idFile);
  let next = 0;
  for (let i = 0; i < summary.n; i++) {
    if (hashes[2 * i] !== 0 || hashes[2 * i + 1] !== 0) {
      visit(i, hashes[2 * i], hashes[2 * i + 1]);
      continue;
    }
    hashOf(id.bytes, 0, id.write(fileLine(place, defaultLines[next++]) - place.rowZeroLine), hash);
    visit(i, hash[0], hash[1]);
  }
}
