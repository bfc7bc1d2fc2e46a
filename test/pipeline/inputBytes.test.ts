import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunFailedError } from '../../lib/hosts/embedded/embeddedRunner.ts';
import { writeInput } from './support/datasets.ts';
import { parseLabels, readRunRecord, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * DESIGN.md section 3: bytes that are not UTF-8 are rejected with their line (never decoded to U+FFFD, which
 * would merge Latin-1 'caf\xe9' and 'caf\xe8' into one class), and a header that is not UTF-8 refuses the file.
 */

afterAll(removeTempDirs);

/** Two groups of rows, labelled 'café' (valid UTF-8) and 'thé'; rows 3 and 5 carry Latin-1 labels. */
function latin1Rows(): Buffer {
  const lines: Buffer[] = [Buffer.from('id,label,x\n')];
  for (let i = 0; i < 20; i++) {
    const label = i === 0 ? 'café' : i === 10 ? 'thé' : i === 1 ? 'café' : i === 11 ? 'thé' : '';
    lines.push(Buffer.from(`r${i},${label},${i < 10 ? i / 10 : 10 + i / 10}\n`));
  }
  lines.splice(3, 0, Buffer.from('l1,caf\xe9,0.05\n', 'latin1'));
  lines.splice(5, 0, Buffer.from('l2,caf\xe8,0.15\n', 'latin1'));
  return Buffer.concat(lines);
}

describe('bytes that are not UTF-8', () => {
  it('rejects each row with invalid UTF-8 with its line and reason, for 1 and 3 shards alike', async () => {
    // Prepare
    const input = await writeInput(await tempDir(), 'latin1.csv', latin1Rows());
    // Act
    const one = await runPipeline(input, { shards: 1, workers: 1, neighbors: 3 });
    const three = await runPipeline(input, { shards: 3, workers: 1, neighbors: 3 });
    // Assess
    const reason = (byte: string) =>
      `"column ""label"" is not valid UTF-8 text (byte 0x${byte} at byte 7 of the line); save the file as UTF-8"`;
    expect(one.rejected).toBe(`file,line,reason\n${input},4,${reason('E9')}\n${input},6,${reason('E8')}\n`);
    expect(three.rejected).toBe(one.rejected);
    expect(one.report.classes).toEqual(['café', 'thé']);
    expect(parseLabels(one.labels).some((row) => row.id === 'l1' || row.id === 'l2')).toBe(false);
  });

  it('refuses a file whose header is not UTF-8, naming the file, and records the run failed', async () => {
    // Prepare
    const dir = await tempDir();
    const input = await writeInput(
      dir,
      'latin1-header.csv',
      Buffer.from('id,label,gr\xf6\xdfe\nr0,a,1\nr1,b,2\n', 'latin1'),
    );
    const stateDir = join(dir, 'state');
    // Act
    const error = await runPipeline(input, { neighbors: 1 }, { stateDir }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    const failure = error as RunFailedError;
    expect(failure.message).toBe(
      `cannot read input file ${input}: the header (line 1) is not valid UTF-8 text (byte 0xF6 at byte 12 of the line); save the file as UTF-8`,
    );
    expect((await readRunRecord(stateDir, failure.runId)).status).toBe('failed');
  });
});
