import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectText } from '../../lib/data/csvText.ts';
import {
  formatConfidence,
  type LabelRecord,
  labelsCsvBytes,
  labelsCsvChunks,
  writeLabelsCsv,
} from '../../lib/data/labelsWriter.ts';

const RECORDS: LabelRecord[] = [
  { id: 'a', label: 'cat', confidence: 1, source: 'given' },
  { id: 'b,2', label: 'say "hi"', confidence: 0.95, source: 'propagated' },
  { id: 'c\nd', label: 'dog', confidence: 1 / 3, source: 'pseudo' },
  { id: 'é', label: null, confidence: 0, source: 'none' },
  { id: 'f', label: '7', confidence: 4e-7, source: 'propagated' },
];

const EXPECTED = [
  'id,label,confidence,source',
  'a,cat,1.000000,given',
  '"b,2","say ""hi""",0.950000,propagated',
  '"c\nd",dog,0.333333,pseudo',
  'é,,0.000000,none',
  'f,7,0.000000,propagated',
  '',
].join('\n');

describe('labelsWriter', () => {
  it('writes labels.csv with minimal quoting and six-decimal confidences', async () => {
    expect(await collectText(labelsCsvChunks(RECORDS))).toBe(EXPECTED);
  });

  it('writes the header alone for no records', async () => {
    expect(await collectText(labelsCsvChunks([]))).toBe('id,label,confidence,source\n');
  });

  it('builds the same text in one synchronous pass', async () => {
    expect(labelsCsvBytes(RECORDS).toString('utf8')).toBe(EXPECTED);
    expect(labelsCsvBytes([]).toString('utf8')).toBe('id,label,confidence,source\n');
    const many = Array.from({ length: 5000 }, (_, i) => RECORDS[i % RECORDS.length]); // grows the buffer
    expect(labelsCsvBytes(many).toString('utf8')).toBe(await collectText(labelsCsvChunks(many)));
  });

  it('streams the same bytes to a file, from an async source too', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'labelsWriter-'));
    const path = join(dir, 'labels.csv');
    async function* source() {
      yield* RECORDS;
    }
    // Act
    await writeLabelsCsv(path, source());
    const written = await readFile(path);
    await rm(dir, { recursive: true, force: true });
    // Assess
    expect(written.equals(Buffer.from(EXPECTED, 'utf8'))).toBe(true);
  });

  it('rounds confidences to six decimals and refuses values outside [0, 1]', () => {
    expect(formatConfidence(0.9999995)).toBe('1.000000');
    expect(formatConfidence(0.1234567)).toBe('0.123457');
    for (const bad of [Number.NaN, -0.1, 1.5, Number.POSITIVE_INFINITY])
      expect(() => formatConfidence(bad)).toThrow(RangeError);
  });
});
