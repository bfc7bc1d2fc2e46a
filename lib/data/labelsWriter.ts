import type { Writable } from 'node:stream';
import { batchLines, csvField, writeText } from './csvText.ts';

/**
 * Provenance of an output label: in the input, from propagation, added by a self-training round, or none;
 * `carried` from the dataset's latest version or `confirmed` by a correction (carriedLabels.ts); and
 * `predicted` in the labels of `pseudolabel predict` (a version's model, no run).
 */
export type LabelSource = 'given' | 'propagated' | 'pseudo' | 'none' | 'carried' | 'confirmed' | 'predicted';

/** One line of labels.csv. A null label (source 'none') is written as an empty field. */
export interface LabelRecord {
  readonly id: string;
  readonly label: string | null;
  readonly confidence: number;
  readonly source: LabelSource;
}

export const LABELS_CSV_HEADER = 'id,label,confidence,source\n';

/** Digits after the decimal point of a written confidence. */
export const CONFIDENCE_DECIMALS = 6;

/**
 * A confidence in [0, 1] with exactly six decimals ("0.950000", "1.000000"): fixed-point rather than
 * significant digits, so every value has the same width, no exponent ever appears, the text sorts like the
 * number, and the bytes are the same on every run and platform. Values below 5e-7 print as "0.000000".
 */
export function formatConfidence(confidence: number): string {
  if (!(confidence >= 0 && confidence <= 1)) throw new RangeError(`confidence must be in [0, 1], got ${confidence}`);
  return confidence.toFixed(CONFIDENCE_DECIMALS);
}

/** One labels.csv line, with its `\n`. */
export function labelsCsvLine(record: LabelRecord): string {
  return `${csvField(record.id)},${record.label === null ? '' : csvField(record.label)},${formatConfidence(record.confidence)},${record.source}\n`;
}

/** labels.csv as text chunks: the header, then one line per record, in the records' order. */
export function labelsCsvChunks(records: Iterable<LabelRecord> | AsyncIterable<LabelRecord>): AsyncGenerator<string> {
  return batchLines(records, LABELS_CSV_HEADER, labelsCsvLine);
}

/**
 * labels.csv as bytes, in one synchronous pass (a `for await` per line, a string per line joined at the end,
 * or Buffer writes per field all cost more than the line itself). The same bytes as labelsCsvChunks. With
 * `header` '' it gives a part of the file (one shard's lines), to be concatenated after the header.
 */
export function labelsCsvBytes(records: Iterable<LabelRecord>, header = LABELS_CSV_HEADER): Buffer {
  const chunks: Buffer[] = [];
  const labelFields = new Map<string, string>(); // labels are few: each quoted once
  let text = header;
  let lines = 0;
  for (const record of records) {
    const { label } = record;
    let field = '';
    if (label !== null) {
      field = labelFields.get(label) ?? csvField(label);
      labelFields.set(label, field);
    }
    text += `${csvField(record.id)},${field},${formatConfidence(record.confidence)},${record.source}\n`;
    if (++lines === LINES_PER_CHUNK) {
      chunks.push(Buffer.from(text, 'utf8'));
      text = '';
      lines = 0;
    }
  }
  chunks.push(Buffer.from(text, 'utf8'));
  return Buffer.concat(chunks);
}

/** Lines encoded together: one UTF-8 encoding call per chunk instead of several per line. */
const LINES_PER_CHUNK = 8192;

/** Streams labels.csv to a path or a Writable. */
export async function writeLabelsCsv(
  destination: string | Writable,
  records: Iterable<LabelRecord> | AsyncIterable<LabelRecord>,
): Promise<void> {
  await writeText(destination, labelsCsvChunks(records));
}
