import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import type { LabelRecord } from '../../lib/data/labelsWriter.ts';
import { versionChanges } from '../../lib/pipeline/datasets/versionChanges.ts';
import { bucketCount, idHash, readVersionRows, writeVersionRows } from '../../lib/pipeline/datasets/versionRows.ts';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function store(): Promise<FilesystemObjectStore> {
  const root = await mkdtemp(join(tmpdir(), 'version-changes-'));
  roots.push(root);
  return new FilesystemObjectStore(root);
}

const row = (i: number, label: string | null, confidence: number): LabelRecord => ({
  id: `row-${i}`,
  label,
  confidence,
  source: label === null ? 'none' : 'propagated',
});

describe('version rows', () => {
  it('bucketCount is the smallest power of two with at most 65,536 rows per bucket', () => {
    expect([bucketCount(0), bucketCount(65_536), bucketCount(65_537), bucketCount(1_000_000)]).toEqual([1, 1, 2, 16]);
  });

  it('every row lands in the bucket of its id hash, read back at a larger bucket count too', async () => {
    // Prepare
    const s = await store();
    const records = Array.from({ length: 500 }, (_, i) => row(i, i % 2 ? 'a' : 'b', i / 500));

    // Act
    await writeVersionRows(s, 'v/', 4, records);
    const atFour = await Promise.all([0, 1, 2, 3].map((b) => readVersionRows(s, 'v/', 4, b)));
    const atSixteen = await Promise.all(Array.from({ length: 16 }, (_, b) => readVersionRows(s, 'v/', 4, b, 16)));

    // Assess
    expect(
      atFour
        .flat()
        .map((r) => r[0])
        .sort(),
    ).toEqual(records.map((r) => r.id).sort());
    expect(atSixteen.flat()).toHaveLength(500);
    atSixteen.forEach((rows, b) => {
      for (const [id] of rows) expect(idHash(id) & 15).toBe(b);
    });
  });
});

describe('versionChanges', () => {
  it('counts added, removed and changed rows and the confidence shifts, across different bucket counts', async () => {
    // Prepare: before rows 0..399 (2 buckets); now rows 100..599 (8 buckets), rows divisible by 10 change class,
    // every kept row gains 0.25 confidence
    const s = await store();
    const before = Array.from({ length: 400 }, (_, i) => row(i, 'a', 0.5));
    const now = Array.from({ length: 500 }, (_, j) => {
      const i = j + 100;
      return row(i, i < 400 && i % 10 === 0 ? 'b' : 'a', i < 400 ? 0.75 : 0.9);
    });
    await writeVersionRows(s, 'before/', 2, before);
    await writeVersionRows(s, 'now/', 8, now);

    // Act
    const changes = await versionChanges(
      { store: s, prefix: 'before/', buckets: 2, rows: 400, version: 3, runId: 'r3' },
      { store: s, prefix: 'now/', buckets: 8, rows: 500 },
    );

    // Assess
    const kept = 300; // rows 100..399
    const changed = now.filter((r, j) => j + 100 < 400 && r.label === 'b').length;
    expect(changes).toMatchObject({ previousVersion: 3, previousRunId: 'r3', added: 200, removed: 100 });
    expect(changes.changedClass).toBe(changed);
    expect(changes.transitions).toEqual([{ from: 'a', to: 'b', rows: changed }]);
    expect(changes.confidenceShift.mean).toBeCloseTo(0.25, 12);
    expect(changes.confidenceShift.histogram[Math.floor(((0.25 + 1) / 2) * 20)]).toBe(kept);
  });

  it('a first version adds every row', async () => {
    const s = await store();
    const changes = await versionChanges(undefined, { store: s, prefix: 'x/', buckets: 1, rows: 42 });
    expect(changes).toMatchObject({ added: 42, removed: 0, changedClass: 0, previousRows: 0 });
  });
});
