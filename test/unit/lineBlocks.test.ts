import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputFileError } from '../../lib/data/errors.ts';
import { blockLines, lineBlocks } from '../../lib/data/lineBlocks.ts';
import { chunksOf, drain } from '../support/byteStreams.ts';

describe('lineBlocks', () => {
  it('regroups any chunking into blocks of whole lines with the same bytes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme' }), fc.array(fc.nat({ max: 200 })), async (text, cuts) => {
        // Act
        const blocks = await drain(lineBlocks(chunksOf(text, cuts)));
        // Assess
        expect(Buffer.concat(blocks).toString('utf8')).toBe(text);
        for (const block of blocks.slice(0, -1)) expect(block[block.length - 1]).toBe(10);
        expect(blocks.flatMap(blockLines)).toEqual(
          text === ''
            ? []
            : text
                .replace(/\n$/, '')
                .split('\n')
                .map((l) => l.replace(/\r$/, '')),
        );
      }),
    );
  });

  it('throws InputFileError for a line longer than the limit', async () => {
    // Act
    const failure = drain(lineBlocks(chunksOf('short\n0123456789abcdef', [8, 12]), 'big.csv', 8));
    // Assess
    await expect(failure).rejects.toThrow(InputFileError);
    await expect(failure).rejects.toMatchObject({
      file: 'big.csv',
      reason: 'a line is longer than 8 bytes (binary data, or no line breaks?)',
    });
  });
});
