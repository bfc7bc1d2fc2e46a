import type { RejectedRow } from '../../data/dataset.ts';
import { defaultId } from '../../data/defaultId.ts';
import type { DecodedShard } from '../../data/shardFormat.ts';
import type { ShardSpec } from './shardPlan.ts';

/**
 * Where a shard's rows are in their input file. The plan step does not read the files (issue 16: counting the
 * newlines before each byte range read the whole corpus in one task), so an ingest task numbers its range's lines
 * from 1 and records how many lines the range spans (shardFormat.ts); the collect step, which reads the shards in
 * order, sums those spans into each shard's first line. Every reader of a shard's lines, ids or ingest refusals
 * goes through the place collect recorded, so line numbers and default ids are the file's, as when read whole.
 */
export interface ShardPlace {
  /** The file's line number of the shard's line 1. */
  readonly firstLine: number;
  /** The line of the file's data row 0 (CSV: 2, after the header; JSONL and Parquet: 1): a default id is its row. */
  readonly rowZeroLine: number;
  /** The file a default id names when the run has several input files (defaultId). */
  readonly idFile?: string;
}

/**
 * The places of a plan's shards from their spanned lines, in shard order: a file's first range starts after its
 * header (a CSV split by byte ranges), every later range where the one before ended. Shards whose lines are the
 * file's already (Parquet, a compressed file read whole, header included) span 0 lines and start at 1.
 */
export class ShardPlaces {
  private next = 1;
  private input = -1;

  constructor(private readonly inputKeys: readonly string[]) {}

  /** The place of the plan's next shard (called in shard order), given the lines it spans. */
  place(spec: ShardSpec, spannedLines: number): ShardPlace {
    if (spec.input !== this.input) {
      this.input = spec.input;
      this.next = spec.header ? 2 : 1;
    }
    const place = placeOf(spec, this.next, this.inputKeys);
    this.next += spannedLines;
    return place;
  }
}

function placeOf(spec: ShardSpec, firstLine: number, inputKeys: readonly string[]): ShardPlace {
  const rowZeroLine = spec.format === 'csv' ? 2 : 1;
  return inputKeys.length > 1 ? { firstLine, rowZeroLine, idFile: inputKeys[spec.input] } : { firstLine, rowZeroLine };
}

/** A line of the shard as the file's line. */
export function fileLine(place: ShardPlace, line: number): number {
  return place.firstLine - 1 + line;
}

/** Ingest refusals with the file's line numbers. */
export function placeRejected(place: ShardPlace, rows: readonly RejectedRow[]): RejectedRow[] {
  return rows.map((row) => ({ ...row, line: fileLine(place, row.line) }));
}

/**
 * The shard with the file's line numbers and its default ids made (in place of the empty ids ingest left).
 * Its lines are rewritten in place: the decoded shard must not be used unplaced after.
 */
export function placeShard(shard: DecodedShard, place: ShardPlace): DecodedShard {
  const { lines, idOffsets, n } = shard;
  if (place.firstLine !== 1) for (let i = 0; i < n; i++) lines[i] += place.firstLine - 1;
  let defaults = false;
  for (let i = 0; i < n && !defaults; i++) defaults = idOffsets[i + 1] === idOffsets[i];
  if (!defaults) return shard;
  const given = shard.ids;
  const ids = given.map((id, i) => (id === '' ? defaultId(lines[i] - place.rowZeroLine, place.idFile) : id));
  const offsets = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + Buffer.byteLength(ids[i], 'utf8');
  const bytes = Buffer.allocUnsafe(offsets[n]);
  for (let i = 0; i < n; i++) bytes.write(ids[i], offsets[i], 'utf8');
  return { ...shardFields(shard), ids, idBytes: bytes, idOffsets: offsets };
}

/** A decoded shard's fields as a plain object (its `ids` is a getter that a spread would call). */
function shardFields(shard: DecodedShard) {
  const { n, d, features, labels, lines, spannedLines } = shard;
  return { n, d, features, labels, lines, spannedLines };
}
