import { describe, expect, it } from 'vitest';
import { collectText } from '../../lib/data/csvText.ts';
import { rejectedCsvChunks } from '../../lib/data/rejectedWriter.ts';

describe('rejectedWriter', () => {
  it('writes rejected.csv with file, line and quoted reasons', async () => {
    // Prepare
    const rows = [
      { file: 'in/a.csv', line: 3, reason: 'expected 5 fields, found 4' },
      { file: 'in/b,c.jsonl', line: 12, reason: 'field "f1" is not a number: "abc"' },
    ];
    // Act
    const text = await collectText(rejectedCsvChunks(rows));
    // Assess
    expect(text).toBe(
      'file,line,reason\nin/a.csv,3,"expected 5 fields, found 4"\n"in/b,c.jsonl",12,"field ""f1"" is not a number: ""abc"""\n',
    );
  });
});
