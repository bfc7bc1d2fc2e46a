import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMinusOne } from '../../lib/data/decimalText.ts';
import { InputFileError } from '../../lib/data/errors.ts';
import { inferJsonlSchema, openJsonlRows } from '../../lib/data/jsonlRows.ts';
import { chunksOf, drain, plain } from '../support/byteStreams.ts';

async function readJsonl(text: string, options: Parameters<typeof openJsonlRows>[1] = {}, cuts: number[] = []) {
  const reader = await openJsonlRows(chunksOf(text, cuts), { file: 'in.jsonl', ...options });
  return { reader, rows: plain(await drain(reader.rows)) };
}

describe('openJsonlRows', () => {
  it('reads numeric fields in the order of the first object, with ids and labels', async () => {
    // Prepare
    const text = [
      '{"id":"a","label":"cat","f1":1,"f2":2.5}',
      '{"f2":4,"f1":3,"id":7,"label":null}',
      '{"id":"c","label":-1,"f1":0,"f2":0}',
      '{"id":"d","label":3,"f1":1,"f2":1}',
      '{"f1":1,"f2":1}',
    ].join('\n');
    // Act
    const { reader, rows } = await readJsonl(text);
    // Assess
    expect(reader.featureNames).toEqual(['f1', 'f2']);
    expect(reader.schema).toEqual({ kind: 'fields', names: ['f1', 'f2'] });
    expect(rows).toEqual([
      { line: 1, row: 0, id: 'a', label: 'cat', features: [1, 2.5] },
      { line: 2, row: 1, id: '7', label: null, features: [3, 4] },
      { line: 3, row: 2, id: 'c', label: null, features: [0, 0] },
      { line: 4, row: 3, id: 'd', label: '3', features: [1, 1] },
      { line: 5, row: 4, id: undefined, label: null, features: [1, 1] },
    ]);
  });

  it('reads a vector field and ignores other fields beside it', async () => {
    // Prepare
    const text = '\ufeff{"id":"a","label":"x","vector":[1,2,3],"text":"hello"}\r\n\r\n{"id":"b","vector":[4,5,6]}\r\n';
    // Act
    const { reader, rows } = await readJsonl(text);
    // Assess
    expect(reader.featureNames).toEqual(['vector[0]', 'vector[1]', 'vector[2]']);
    expect(rows).toEqual([
      { line: 1, row: 0, id: 'a', label: 'x', features: [1, 2, 3] },
      { line: 3, row: 2, id: 'b', label: null, features: [4, 5, 6] },
    ]);
  });

  it('refuses each bad line with its line and reason and keeps the others', async () => {
    // Prepare
    const text = [
      '{"id":"ok1","label":"a","f1":1,"f2":2}',
      '{"id":"broken",',
      '[1,2]',
      '42',
      '{"id":"word","f1":"abc","f2":2}',
      '{"id":"null","f1":null,"f2":2}',
      '{"id":"missing","f1":1}',
      '{"id":"extra","f1":1,"f2":2,"f3":3}',
      '{"id":"huge","f1":1e999,"f2":2}',
      '{"id":true,"f1":1,"f2":2}',
      '{"id":null,"f1":1,"f2":2}',
      '{"id":"","f1":1,"f2":2}',
      '{"id":"badlabel","label":[1],"f1":1,"f2":2}',
      '{"id":"ok2","label":"","f1":3,"f2":4}',
    ].join('\n');
    // Act
    const { rows } = await readJsonl(text);
    // Assess
    expect(rows[0]).toEqual({ line: 1, row: 0, id: 'ok1', label: 'a', features: [1, 2] });
    expect(rows[1]).toMatchObject({ line: 2, reason: expect.stringMatching(/^invalid JSON: /) });
    expect(rows.slice(2)).toEqual([
      { line: 3, reason: 'not a JSON object: an array' },
      { line: 4, reason: 'not a JSON object: 42' },
      { line: 5, reason: 'field "f1" is not a number: "abc"' },
      { line: 6, reason: 'field "f1" is not a number: null' },
      { line: 7, reason: 'field "f2" is missing' },
      { line: 8, reason: 'unexpected field "f3"' },
      { line: 9, reason: 'field "f1" is not finite: Infinity' },
      { line: 10, reason: 'field "id" is not a string or a number: true' },
      { line: 11, reason: 'field "id" is null' },
      { line: 12, reason: 'field "id" is empty' },
      { line: 13, reason: 'field "label" is not a string, a number or null: [1]' },
      { line: 14, row: 13, id: 'ok2', label: null, features: [3, 4] },
    ]);
  });

  it('refuses vectors of the wrong length or with bad values', async () => {
    // Prepare
    const text = [
      '{"id":"a","vector":[1,2]}',
      '{"id":"b","vector":[1]}',
      '{"id":"c","vector":[1,"x"]}',
      '{"id":"d","vector":"1,2"}',
      '{"id":"e"}',
    ].join('\n');
    // Act
    const { rows } = await readJsonl(text);
    // Assess
    expect(rows).toEqual([
      { line: 1, row: 0, id: 'a', label: null, features: [1, 2] },
      { line: 2, reason: '"vector" has 1 values, expected 2' },
      { line: 3, reason: 'vector[1] is not a number: "x"' },
      { line: 4, reason: 'field "vector" is not an array: "1,2"' },
      { line: 5, reason: 'field "vector" is missing' },
    ]);
  });

  it('infers the schema from the first object with features and checks earlier lines against it', async () => {
    // Prepare
    const text = 'nonsense\n{"id":"x"}\n{"id":"y","f":1}\n';
    // Act
    const { rows } = await readJsonl(text);
    const schema = await inferJsonlSchema(chunksOf(text));
    // Assess
    expect(schema).toEqual({ kind: 'fields', names: ['f'] });
    expect(rows).toEqual([
      { line: 1, reason: expect.stringMatching(/^invalid JSON/) },
      { line: 2, reason: 'field "f" is missing' },
      { line: 3, row: 2, id: 'y', label: null, features: [1] },
    ]);
  });

  it('reads a shard with a given schema and first line', async () => {
    // Prepare
    const text = '{"id":"q","vector":[1,2]}\n';
    // Act
    const { rows } = await readJsonl(text, { schema: { kind: 'vector', d: 2 }, firstLine: 10 });
    // Assess
    expect(rows).toEqual([{ line: 10, row: 9, id: 'q', label: null, features: [1, 2] }]);
  });

  it.each([
    ['', 'empty file: no JSON objects'],
    ['\n  \n', 'empty file: no JSON objects'],
    ['{"a":1\u0000}\n', 'binary data (control character 0x00); expected UTF-8 JSON Lines text'],
    ['{"id":1,"label":2}\n[3]\n', 'no JSON object with features (a non-empty "vector" array or numeric fields)'],
  ])('throws InputFileError for an unreadable file %j', async (text, reason) => {
    // Act
    const failure = readJsonl(text);
    // Assess
    await expect(failure).rejects.toThrow(InputFileError);
    await expect(failure).rejects.toMatchObject({ file: 'in.jsonl', reason });
  });

  it('gives the same rows whatever the chunk boundaries (property)', async () => {
    const text = '{"id":"é","label":"ü","v":1.5,"w":-2}\n{"id":"b","v":"x","w":1}\r\n\n{"id":"c","v":3,"w":4}';
    const whole = await readJsonl(text);
    const size = new TextEncoder().encode(text).length;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: size }), { maxLength: 12 }), async (cuts) => {
        const { rows } = await readJsonl(text, {}, cuts);
        expect(rows).toEqual(whole.rows);
      }),
    );
  });

  it('rejects each line that is not UTF-8 with its line and the first bad byte, and reads the others', async () => {
    // Prepare
    const bytes = Buffer.concat([
      Buffer.from('{"label":"caf\u00e9","f":1}\n'),
      Buffer.from('{"label":"caf\xe9","f":2}\r\n', 'latin1'),
      Buffer.from('{"label":"caf\xe8","f":3}\n', 'latin1'),
      Buffer.from('{"label":"\ufffd","f":4}\n'),
    ]);
    // Act
    const rows = plain(await drain((await openJsonlRows(chunksOf(bytes), { file: 'l1.jsonl' })).rows));
    // Assess
    const reason = (byte: string) =>
      `the line is not valid UTF-8 text (byte 0x${byte} at byte 14 of the line); save the file as UTF-8`;
    expect(rows).toEqual([
      { line: 1, row: 0, id: undefined, label: 'caf\u00e9', features: [1] },
      { line: 2, reason: reason('E9') },
      { line: 3, reason: reason('E8') },
      { line: 4, row: 3, id: undefined, label: '\ufffd', features: [4] },
    ]);
  });

  it('rejects a row with a value nested 100,000 levels deep with its reason, instead of overflowing the stack', async () => {
    // Prepare
    const deep = (open: string, inner: string, close: string) => `${open.repeat(1e5)}${inner}${close.repeat(1e5)}`;
    const text = [
      '{"f":1}',
      `{"f":${deep('[', '', ']')}}`,
      `{"f":2,"label":${deep('[', '1', ']')}}`,
      `{"f":3,"id":${deep('{"a":', '1', '}')}}`,
      `{"f":4,"g":${deep('[', '', ']')}}`,
      '{"f":5}',
    ].join('\n');
    // Act
    const { rows } = await readJsonl(text);
    // Assess
    expect(rows.map((row) => (row as { reason?: string }).reason ?? 'accepted')).toEqual([
      'accepted',
      `field "f" is not a number: ${'['.repeat(60)}...`,
      `field "label" is not a string, a number or null: ${'['.repeat(60)}...`,
      `field "id" is not a string or a number: ${'{"a":'.repeat(12)}...`,
      'unexpected field "g"',
      'accepted',
    ]);
  });

  it('refuses a file whose first object with features is wider than the column limit', async () => {
    // Act
    const fields = readJsonl('{"id":1}\n{"a":1,"b":2,"c":3}\n', { maxColumns: 2 });
    const vector = readJsonl('{"vector":[1,2,3]}\n', { maxColumns: 2 });
    // Assess
    await expect(fields).rejects.toMatchObject({
      reason: 'line 2 (the first object with features) has 3 columns, more than the limit of 2 per file',
    });
    await expect(vector).rejects.toMatchObject({
      reason: 'line 1 (the first object with features) has 3 columns, more than the limit of 2 per file',
    });
  });

  it('reads a number label by its spelling in the line, not its float64 value', async () => {
    // Prepare
    const text =
      '{"f":1,"label":9007199254740993}\n{"label":1.0,"f":2}\n{"label":-1.0,"f":3}\n{"label":1e-400,"f":4}\n';
    // Act
    const { rows } = await readJsonl(text);
    // Assess
    expect(rows.map((row) => (row as { label: unknown }).label)).toEqual(['9007199254740993', '1.0', null, '1e-400']);
  });

  it('reads a number id by its spelling in the line: 2^53 and 2^53 + 1 are two ids', async () => {
    // Prepare
    const text = '{"id":9007199254740992,"f":1}\n{"id":9007199254740993,"f":2}\n{"id":1.50,"f":3}\n';
    // Act
    const { rows } = await readJsonl(text);
    // Assess
    expect(rows.map((row) => (row as { id: unknown }).id)).toEqual(['9007199254740992', '9007199254740993', '1.50']);
  });

  it('reads back any numbers of the Float32 range, ids and labels it is given (property)', async () => {
    const record = fc.record({
      id: fc.string({ unit: 'grapheme', minLength: 1 }),
      label: fc.option(fc.string({ unit: 'grapheme', minLength: 1 }).filter((s) => !isMinusOne(s.trim()))),
      f: fc.double({ noNaN: true, min: -3.4028234663852886e38, max: 3.4028234663852886e38 }), // Float32's range
    });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 20 }), async (records) => {
        // Prepare
        const text = records.map((r) => JSON.stringify(r)).join('\n');
        // Act
        const { rows } = await readJsonl(text);
        // Assess
        expect(rows).toEqual(
          records.map((r, i) => ({
            line: i + 1,
            row: i,
            id: r.id,
            label: r.label === null || r.label.trim() === '' ? null : r.label.trim(),
            features: [r.f === 0 ? 0 : r.f],
          })),
        );
      }),
    );
  });
});
