import { ShardFormatError } from './errors.ts';

/**
 * The binary shard: the validated rows of one ingest task (a byte range or a row group), compact and
 * decodable without parsing. Little-endian, every section 4-byte aligned:
 *
 * | offset | content                                                                     |
 * | ------ | --------------------------------------------------------------------------- |
 * | 0      | magic "PLSH"                                                                |
 * | 4      | u32 version (2), u32 n, u32 d, u32 label table size L,                      |
 * |        | u32 id bytes, u32 label bytes, u32 lines spanned (see below)                |
 * | 32     | f32 features[n*d] (row-major)                                               |
 * |        | i32 label codes[n]: index into the label table, -1 = unlabelled            |
 * |        | i32 lines[n]: line (CSV/JSONL) or 1-based row (Parquet), see below          |
 * |        | u32 id offsets[n+1], u32 label offsets[L+1]: byte offsets into the blobs    |
 * |        | UTF-8 id blob, UTF-8 label blob (raw labels, in order of first appearance)  |
 *
 * Line numbers count from 1 at the ingest unit's first line, and "lines spanned" is how many lines the unit
 * spans (blank and refused ones included): an ingest task of a byte range does not know how many lines precede
 * it (counting them would read the file up to it), so the collect step sums the spans in shard order
 * (lib/pipeline/shards/shardPlace.ts). An empty id stands for the row's default id, made from its line the same way
 * (no reader accepts an empty id).
 *
 * Labels stay raw strings: classes are only known once every shard is read. Strings round-trip when they
 * are well-formed UTF-16 (a lone surrogate comes back as U+FFFD).
 */
export const SHARD_MAGIC = 0x48534c50; // "PLSH" read as a little-endian u32
export const SHARD_VERSION = 2;
const HEADER_BYTES = 32;

/** The largest finite Float32: shards hold features as Float32, so a larger value would become Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** The bytes of a shard's header, to read its sections with ranged reads (idsSection). */
export const SHARD_HEADER_BYTES = HEADER_BYTES;

/**
 * Where a shard's ids are, from its header: the bytes [start, end) hold the id offsets, the label offsets and the
 * id blob, so the ids can be read without the rows (decodeIdsSection).
 */
export function idsSection(header: Uint8Array): { n: number; labelCount: number; start: number; end: number } {
  if (header.length < HEADER_BYTES) throw new ShardFormatError(`truncated: ${header.length} bytes of header`);
  const view = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
  const word = (i: number) => view.getUint32(4 * i, true);
  if (word(0) !== SHARD_MAGIC) throw new ShardFormatError('wrong magic number: not a pseudolabel shard');
  if (word(1) !== SHARD_VERSION)
    throw new ShardFormatError(`unsupported version ${word(1)} (this reader knows ${SHARD_VERSION})`);
  const [n, d, labelCount, idBytes] = [word(2), word(3), word(4), word(5)];
  const start = HEADER_BYTES + 4 * (n * d + 2 * n);
  return { n, labelCount, start, end: start + 4 * (n + 1) + 4 * (labelCount + 1) + idBytes };
}

/** The ids of the section idsSection located ('' for a row with a default id). */
export function decodeIdsSection(bytes: Uint8Array, n: number, labelCount: number): string[] {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const idOffsets = new Uint32Array(aligned.buffer, aligned.byteOffset, n + 1);
  const blobAt = aligned.byteOffset + 4 * (n + 1) + 4 * (labelCount + 1);
  checkOffsets(idOffsets, n, aligned.byteOffset + aligned.length - blobAt, 'id');
  const blob = Buffer.from(aligned.buffer, blobAt, idOffsets[n]);
  return Array.from({ length: n }, (_, i) => blob.toString('utf8', idOffsets[i], idOffsets[i + 1]));
}

/** The bytes [start, end) of rows [from, to) of a shard's features, to read rows with ranged reads. */
export function featureBytes(d: number, from: number, to: number): readonly [number, number] {
  return [HEADER_BYTES + 4 * d * from, HEADER_BYTES + 4 * d * to];
}

export interface ShardRow {
  readonly line: number;
  readonly id: string;
  readonly label: string | null;
  readonly features: ArrayLike<number>;
}

export interface DecodedShard {
  readonly n: number;
  readonly d: number;
  /** Decoded on first use: a reader that only compares ids can use their bytes instead. */
  readonly ids: string[];
  /** The ids as UTF-8: row i's bytes are idBytes[idOffsets[i] .. idOffsets[i + 1]). */
  readonly idBytes: Uint8Array;
  readonly idOffsets: Uint32Array;
  /** n*d values, row-major. Like `lines`, a view sharing memory with the encoded bytes when they are 4-byte aligned. */
  readonly features: Float32Array;
  readonly labels: (string | null)[];
  readonly lines: Int32Array;
  /** Lines the ingest unit spans (0 when its line numbers are already the file's: Parquet, a compressed file). */
  readonly spannedLines: number;
}

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error('the shard format needs a little-endian platform');
}

/** Encodes rows of `d` features each (features are stored as Float32). */
export function encodeShard(rows: readonly ShardRow[], d: number): Uint8Array {
  const builder = new ShardBuilder(d);
  for (const row of rows) builder.add(row);
  return builder.encode();
}

/**
 * A shard built row by row: each row's features go straight into Float32 storage and its line and label into
 * typed arrays, so a reader's row objects die young instead of living until the shard is encoded (an ingest
 * task of 50k rows x 64 kept about 30 MB of them).
 */
export class ShardBuilder {
  /** Rows added. */
  n = 0;
  /** Lines the ingest unit spans (see the layout above). */
  spannedLines = 0;
  private features: Float32Array;
  private codes: Int32Array;
  private lines: Int32Array;
  private readonly ids: string[] = [];
  private readonly labelTable: string[] = [];
  private readonly labelIndex = new Map<string, number>();

  constructor(private readonly d: number) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`d must be a non-negative integer, got ${d}`);
    this.features = new Float32Array(1024 * d);
    this.codes = new Int32Array(1024);
    this.lines = new Int32Array(1024);
  }

  add(row: ShardRow): void {
    const { d, n } = this;
    if (row.features.length !== d) throw new RangeError(`row ${n} has ${row.features.length} features, expected ${d}`);
    if (!Number.isInteger(row.line) || row.line < 0 || row.line > 0x7fffffff)
      throw new RangeError(`row ${n} has line ${row.line}`);
    if (n === this.lines.length) this.grow();
    this.lines[n] = row.line;
    const at = n * d;
    for (let j = 0; j < d; j++) this.features[at + j] = row.features[j];
    if (row.label === null) this.codes[n] = -1;
    else {
      let code = this.labelIndex.get(row.label);
      if (code === undefined) {
        code = this.labelTable.length;
        this.labelIndex.set(row.label, code);
        this.labelTable.push(row.label);
      }
      this.codes[n] = code;
    }
    this.ids.push(row.id);
    this.n++;
  }

  /** The shard's bytes (see the layout above). */
  encode(): Uint8Array {
    const { n, d, ids, labelTable } = this;
    const idOffsets = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) idOffsets[i + 1] = idOffsets[i] + Buffer.byteLength(ids[i], 'utf8');
    const labelOffsets = new Uint32Array(labelTable.length + 1);
    for (let c = 0; c < labelTable.length; c++)
      labelOffsets[c + 1] = labelOffsets[c] + Buffer.byteLength(labelTable[c], 'utf8');
    const idBytes = idOffsets[n];
    const labelBytes = labelOffsets[labelTable.length];
    const words = n * d + 2 * n + (n + 1) + (labelTable.length + 1);
    const total = HEADER_BYTES + 4 * words + idBytes + labelBytes;
    const out = new Uint8Array(total);
    const header = new Uint32Array(out.buffer, 0, HEADER_BYTES / 4);
    header.set([SHARD_MAGIC, SHARD_VERSION, n, d, labelTable.length, idBytes, labelBytes, this.spannedLines]);
    let offset = HEADER_BYTES;
    new Float32Array(out.buffer, offset, n * d).set(this.features.subarray(0, n * d));
    offset += 4 * n * d;
    new Int32Array(out.buffer, offset, n).set(this.codes.subarray(0, n));
    offset += 4 * n;
    new Int32Array(out.buffer, offset, n).set(this.lines.subarray(0, n));
    offset += 4 * n;
    new Uint32Array(out.buffer, offset, n + 1).set(idOffsets);
    offset += 4 * (n + 1);
    new Uint32Array(out.buffer, offset, labelTable.length + 1).set(labelOffsets);
    offset += 4 * (labelTable.length + 1);
    const blob = Buffer.from(out.buffer);
    for (let i = 0; i < n; i++) blob.write(ids[i], offset + idOffsets[i], 'utf8');
    offset += idBytes;
    for (let c = 0; c < labelTable.length; c++) blob.write(labelTable[c], offset + labelOffsets[c], 'utf8');
    return out;
  }

  private grow(): void {
    const capacity = 2 * this.lines.length;
    const features = new Float32Array(capacity * this.d);
    features.set(this.features);
    this.features = features;
    const codes = new Int32Array(capacity);
    codes.set(this.codes);
    this.codes = codes;
    const lines = new Int32Array(capacity);
    lines.set(this.lines);
    this.lines = lines;
  }
}

/** A validated shard's sections, as views on its bytes; strings are decoded on demand. */
interface ShardSections {
  readonly n: number;
  readonly d: number;
  readonly features: Float32Array;
  readonly codes: Int32Array;
  readonly lines: Int32Array;
  readonly ids: () => string[];
  readonly idBytes: Uint8Array;
  readonly idOffsets: Uint32Array;
  readonly labelTable: () => string[];
  readonly spannedLines: number;
}

/** Checks the header and sizes of a shard and locates its sections (ShardFormatError when inconsistent). */
function shardSections(bytes: Uint8Array): ShardSections {
  if (bytes.length < HEADER_BYTES)
    throw new ShardFormatError(`truncated: ${bytes.length} bytes, the header alone has ${HEADER_BYTES}`);
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset } = aligned;
  const view = new DataView(buffer, byteOffset, aligned.length);
  const word = (i: number) => view.getUint32(4 * i, true);
  if (word(0) !== SHARD_MAGIC) throw new ShardFormatError('wrong magic number: not a pseudolabel shard');
  if (word(1) !== SHARD_VERSION)
    throw new ShardFormatError(`unsupported version ${word(1)} (this reader knows ${SHARD_VERSION})`);
  const [n, d, labelCount, idBytes, labelBytes] = [word(2), word(3), word(4), word(5), word(6)];
  const words = n * d + 2 * n + (n + 1) + (labelCount + 1);
  const expected = HEADER_BYTES + 4 * words + idBytes + labelBytes;
  if (aligned.length !== expected)
    throw new ShardFormatError(`${aligned.length} bytes, the header announces ${expected}`);
  let offset = byteOffset + HEADER_BYTES;
  const features = new Float32Array(buffer, offset, n * d);
  offset += 4 * n * d;
  const codes = new Int32Array(buffer, offset, n);
  offset += 4 * n;
  const lines = new Int32Array(buffer, offset, n);
  offset += 4 * n;
  const idOffsets = new Uint32Array(buffer, offset, n + 1);
  offset += 4 * (n + 1);
  const labelOffsets = new Uint32Array(buffer, offset, labelCount + 1);
  offset += 4 * (labelCount + 1);
  const blob = Buffer.from(buffer, 0, buffer.byteLength);
  /** The strings of a blob whose offsets were checked (checkOffsets). */
  const strings = (offsets: Uint32Array, count: number, start: number): string[] => {
    const out = new Array<string>(count);
    for (let i = 0; i < count; i++) out[i] = blob.toString('utf8', start + offsets[i], start + offsets[i + 1]);
    return out;
  };
  const idsAt = offset;
  // The id offsets are checked here, once: readers use them as bytes too (idBytes) without decoding strings.
  checkOffsets(idOffsets, n, idBytes, 'id');
  return {
    n,
    d,
    features,
    codes,
    lines,
    ids: () => strings(idOffsets, n, idsAt),
    idBytes: new Uint8Array(buffer, idsAt, idBytes),
    idOffsets,
    spannedLines: word(7),
    labelTable: () => {
      checkOffsets(labelOffsets, labelCount, labelBytes, 'label');
      return strings(labelOffsets, labelCount, idsAt + idBytes);
    },
  };
}

/** Offsets of `count` strings in a blob of `size` bytes: from 0 to size, never decreasing. */
function checkOffsets(offsets: Uint32Array, count: number, size: number, what: string): void {
  if (offsets[0] !== 0 || offsets[count] !== size) throw new ShardFormatError(`corrupt ${what} offsets`);
  for (let i = 0; i < count; i++) {
    if (offsets[i + 1] < offsets[i]) throw new ShardFormatError(`corrupt ${what} offsets`);
  }
}

/** Decodes a shard. Throws ShardFormatError for bytes that are not a complete, consistent shard. */
export function decodeShard(bytes: Uint8Array): DecodedShard {
  const { n, d, features, codes, lines, ids, idBytes, idOffsets, labelTable, spannedLines } = shardSections(bytes);
  let rowIds: string[] | undefined;
  const table = labelTable();
  const labels = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    const code = codes[i];
    if (code < -1 || code >= table.length)
      throw new ShardFormatError(`label code ${code} of row ${i} is outside the table of ${table.length}`);
    labels[i] = code === -1 ? null : table[code];
  }
  return {
    n,
    d,
    get ids() {
      rowIds ??= ids();
      return rowIds;
    },
    idBytes,
    idOffsets,
    features,
    labels,
    lines,
    spannedLines,
  };
}
