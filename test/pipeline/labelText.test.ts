import { afterAll, describe, expect, it } from 'vitest';
import { writeInput } from './support/datasets.ts';
import { parseLabels, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * DESIGN.md section 3: a label is a class by its exact text (trimmed), never by a float value. Through the
 * sharded pipeline, for CSV and JSONL alike.
 */

afterAll(removeTempDirs);

/** Rows in groups around 0, 10, 20, ..., one group per label, the first two rows of each group labelled. */
function groups(labels: readonly string[], perGroup = 6): { label: string; x: number; y: number }[] {
  const rows: { label: string; x: number; y: number }[] = [];
  labels.forEach((label, g) => {
    for (let i = 0; i < perGroup; i++) rows.push({ label: i < 2 ? label : '', x: g * 10 + i / 10, y: (i % 3) / 10 });
  });
  return rows;
}

describe('labels keep their exact text', () => {
  it('keeps numbers apart that float64 merges: 2^53 and 2^53 + 1, 0 and 1e-400, 1 and 1.0 (CSV)', async () => {
    // Prepare
    const labels = ['9007199254740992', '9007199254740993', '0', '1e-400', '1', '1.0'];
    const rows = groups(labels);
    const csv = ['id,label,x,y', ...rows.map((r, i) => `r${i},${r.label},${r.x},${r.y}`)].join('\n');
    const input = await writeInput(await tempDir(), 'big-numbers.csv', `${csv}\n`);
    // Act
    const run = await runPipeline(input, { shards: 2, workers: 1, neighbors: 3 });
    // Assess
    expect(run.report.classes).toEqual(['0', '1e-400', '1', '1.0', '9007199254740992', '9007199254740993']);
    const byId = new Map(parseLabels(run.labels).map((row) => [row.id, row.label]));
    for (let i = 0; i < rows.length; i++) expect(byId.get(`r${i}`)).toBe(labels[Math.floor(i / 6)]);
  });

  it('reads a JSON number label by its spelling, not its float64 value (JSONL)', async () => {
    // Prepare
    const labels = ['9007199254740992', '9007199254740993', '1e-400', '0'];
    const rows = groups(labels);
    const jsonl = rows.map((r, i) => `{"id":"r${i}","label":${r.label || 'null'},"x":${r.x},"y":${r.y}}`).join('\n');
    const input = await writeInput(await tempDir(), 'big-numbers.jsonl', `${jsonl}\n`);
    // Act
    const run = await runPipeline(input, { shards: 2, workers: 1, neighbors: 3 });
    // Assess
    expect(run.report.classes).toEqual(['0', '1e-400', '9007199254740992', '9007199254740993']);
    const byId = new Map(parseLabels(run.labels).map((row) => [row.id, row.label]));
    expect(byId.get('r8')).toBe('9007199254740993');
  });

  it("makes ' a', 'a' and 'a ' one class, as ' 1' and '1' (trimmed text, the same rule for words and numbers)", async () => {
    // Prepare
    const rows = groups(['a', 'b']);
    const spelled = [' a', 'a ', ' b', 'b'];
    let next = 0;
    const csv = [
      'id,label,x,y',
      ...rows.map((r, i) => `r${i},${r.label ? spelled[next++] : ''},${r.x},${r.y}`),
      'n1, 1 ,100,0',
      'n2,1,100.1,0',
    ].join('\n');
    const input = await writeInput(await tempDir(), 'spaces.csv', `${csv}\n`);
    // Act
    const run = await runPipeline(input, { shards: 1, workers: 1, neighbors: 3 });
    // Assess
    expect(run.report.classes).toEqual(['1', 'a', 'b']);
  });
});
