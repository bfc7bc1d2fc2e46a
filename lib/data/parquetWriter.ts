import { ByteWriter, fileWriter, parquetWriteRows, type SchemaElement, type Writer } from 'hyparquet-writer';
import { formatConfidence, type LabelRecord } from './labelsWriter.ts';

/** Rows per row group of labels.parquet. */
const ROW_GROUP_ROWS = 100_000;

/** labels.parquet columns: id and source strings, label a nullable string, confidence a double. */
const LABELS_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: 4 },
  { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'label', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'confidence', type: 'DOUBLE', repetition_type: 'REQUIRED' },
  { name: 'source', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
];

async function* checked(records: Iterable<LabelRecord> | AsyncIterable<LabelRecord>): AsyncGenerator<LabelRecord> {
  for await (const record of records) {
    formatConfidence(record.confidence); // same range check as labels.csv
    yield record;
  }
}

async function write(writer: Writer, records: Iterable<LabelRecord> | AsyncIterable<LabelRecord>): Promise<void> {
  await parquetWriteRows({
    writer,
    rows: checked(records) as AsyncIterable<Record<string, unknown>>,
    columns: LABELS_SCHEMA.slice(1).map((element) => ({ name: element.name })),
    schema: LABELS_SCHEMA,
    rowGroupSize: ROW_GROUP_ROWS,
    createdBy: 'pseudolabel',
  });
}

/**
 * labels as Parquet (columns id, label, confidence, source; the same content as labels.csv with the
 * confidence at full double precision), streamed into row groups of 100,000 rows.
 */
export async function labelsParquetBytes(
  records: Iterable<LabelRecord> | AsyncIterable<LabelRecord>,
): Promise<Uint8Array> {
  const writer = new ByteWriter();
  await write(writer, records);
  return writer.getBytes();
}

/** Writes labels.parquet to a local path, one row group at a time. */
export async function writeLabelsParquet(
  path: string,
  records: Iterable<LabelRecord> | AsyncIterable<LabelRecord>,
): Promise<void> {
  await write(fileWriter(path), records);
}
