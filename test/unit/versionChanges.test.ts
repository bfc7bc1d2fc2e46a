import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import type { LabelRecord } from '../../lib/data/labelsWriter.ts';
import { scanVersionRows } from '../../lib/pipeline/datasets/scannedRows.ts';
import {
  bucketPairing,
  compareBuckets,
  emptyTally,
  mergeChanges,
  versionChanges,
} from '../../lib/pipeline/datasets/versionChanges.ts';
import {
  bucketCount,
  idHash,
  joinShardRows,
  readVersionRows,
  writeShardRows,
  writeVersionRows,
} from '../../lib/pipeline/datasets/versionRows.ts';

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

  it('every row lands in the bucket of its id hash', async () => {
    // Prepare
    const s = await store();
    const records = Array.from({ length: 500 }, (_, i) => row(i, i % 2 ? 'a' : 'b', i / 500));

    // Act
    await writeVersionRows(s, 'v/', 4, records);
    const buckets = await Promise.all([0, 1, 2, 3].map((b) => readVersionRows(s, 'v/', b)));

    // Assess
    expect(
      buckets
        .flat()
        .map((r) => r[0])
        .sort(),
    ).toEqual(records.map((r) => r.id).sort());
    buckets.forEach((rows, b) => {
      expect(rows.length).toBeGreaterThan(0);
      for (const [id] of rows) expect(idHash(id) & 3).toBe(b);
    });
  });

  it('shards written apart and joined are the bytes of the rows written together', async () => {
    // Prepare: odd ids, labels and confidences, split over two shards
    const s = await store();
    const records: LabelRecord[] = [
      ...Array.from({ length: 300 }, (_, i) => row(i, i % 3 ? 'a' : null, i / 7)),
      { id: 'with "quotes", commas', label: 'x,"y"', confidence: 1e-7, source: 'given' },
      { id: 'naïve 日本 \u0001', label: 'é', confidence: 0.999999999999, source: 'carried' },
      { id: 'back\\slash', label: '', confidence: 1, source: 'confirmed' },
    ];

    // Act
    await writeVersionRows(s, 'together/', 4, records);
    const shardRows = (rows: LabelRecord[]) => [rows.map(({ id }) => id), (i: number) => rows[i]] as const;
    await writeShardRows(s, 'run', 0, 4, ...shardRows(records.slice(0, 150)));
    await writeShardRows(s, 'run', 1, 4, ...shardRows(records.slice(150)));
    await joinShardRows(s, 'run', 'joined/', [0, 1, 2, 3], 2);

    // Assess
    for (let b = 0; b < 4; b++) {
      const together = await s.get(`together/${String(b).padStart(5, '0')}.jsonl`);
      expect(Buffer.from(await s.get(`joined/${String(b).padStart(5, '0')}.jsonl`)).equals(Buffer.from(together))).toBe(
        true,
      );
    }
  });
});

describe('scanVersionRows', () => {
  it('reads every line as JSON.parse does, ids and labels kept as their JSON text', () => {
    // Prepare: ids and labels with quotes, backslashes, commas, brackets and non-ASCII; odd numbers; a null label
    const rows: [string, string | null, number, string][] = [
      ['plain', 'a', 1, 'given'],
      ['with "quotes", commas', 'x,"y"', 0.25, 'propagated'],
      ['back\\slash\\', '\\', 1e-7, 'propagated'],
      ['[bracket]', null, 0, 'none'],
      ['naïve 日本 \u0001', 'é', 0.999999999999, 'carried'],
      ['', '', 0.5, 'confirmed'],
    ];
    const text = `${rows.map((row) => JSON.stringify(row)).join('\n')}\n\n`;

    // Act
    const scanned = scanVersionRows(text);

    // Assess
    const each = <T>(value: (i: number) => T) => Array.from({ length: scanned.n }, (_, i) => value(i));
    expect(each((i) => JSON.parse(scanned.id(i)))).toEqual(rows.map((row) => row[0]));
    expect(each((i) => JSON.parse(scanned.label(i)))).toEqual(rows.map((row) => row[1]));
    expect(Array.from(scanned.confidences)).toEqual(rows.map((row) => row[2]));
    expect(Array.from(scanned.hashes)).toEqual(rows.map((row) => idHash(row[0])));
  });

  it('falls back to JSON.parse for a line of another layout', () => {
    // Prepare: a spaced line (JSON.parse) between two common ones, the same row as the last common one
    const text = '["first","b",1,"given"]\n[ "spaced" , "a" , 0.5 , "given" ]\n["n",null,2.5e-3,"none"]';
    const again = scanVersionRows('["spaced","a",0.75,"given"]');

    // Act
    const scanned = scanVersionRows(text);

    // Assess
    expect(Array.from({ length: scanned.n }, (_, i) => scanned.id(i))).toEqual(['"first"', '"spaced"', '"n"']);
    expect(Array.from({ length: scanned.n }, (_, i) => scanned.label(i))).toEqual(['"b"', '"a"', 'null']);
    expect(Array.from(scanned.confidences)).toEqual([1, 0.5, 0.0025]);
    expect(scanned.sameId(1, again, 0) && scanned.sameLabel(1, again, 0)).toBe(true);
    expect(scanned.sameId(0, again, 0) || scanned.sameLabel(2, again, 0)).toBe(false);
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

  it('matches rows by id whatever their order, in a grown and in a shrunk dataset', async () => {
    // Prepare: before rows 0..999 (4 buckets); now the same rows shuffled with rows removed and inserted among
    // them (16 buckets), then compared the other way round (the dataset shrinks from 16 buckets to 4)
    const s = await store();
    const before = Array.from({ length: 1000 }, (_, i) => row(i, i % 3 ? 'a' : null, 0.5));
    const now: LabelRecord[] = [];
    for (let i = 999; i >= 0; i--) {
      if (i % 7 === 0) continue; // removed
      now.push(row(i, i % 11 === 0 ? 'b' : i % 3 ? 'a' : null, 0.75));
      if (i % 5 === 0) now.push(row(10_000 + i, 'c', 1)); // added
    }
    await writeVersionRows(s, 'before/', 4, before);
    await writeVersionRows(s, 'now/', 16, now);
    const removed = before.filter((_, i) => i % 7 === 0).length;
    const added = now.filter((r) => r.label === 'c').length;
    const changed = before.filter((r, i) => i % 7 !== 0 && i % 11 === 0 && r.label !== 'b').length;

    // Act
    const grown = await versionChanges(
      { store: s, prefix: 'before/', buckets: 4, rows: before.length, version: 1, runId: 'r1' },
      { store: s, prefix: 'now/', buckets: 16, rows: now.length },
    );
    const shrunk = await versionChanges(
      { store: s, prefix: 'now/', buckets: 16, rows: now.length, version: 2, runId: 'r2' },
      { store: s, prefix: 'before/', buckets: 4, rows: before.length },
    );

    // Assess
    expect(grown).toMatchObject({ added, removed, changedClass: changed });
    expect(shrunk).toMatchObject({ added: removed, removed: added, changedClass: changed });
    expect(grown.confidenceShift.mean).toBeCloseTo(0.25, 12);
    expect(shrunk.confidenceShift.mean).toBeCloseTo(-0.25, 12);
    const fromNull = grown.transitions.find((t) => t.from === null);
    expect(fromNull).toEqual({
      from: null,
      to: 'b',
      rows: before.filter((_, i) => i % 7 && i % 11 === 0 && i % 3 === 0).length,
    });
  });

  it('compared in shares of buckets (the compare tasks) and merged, gives the changes of one comparison', async () => {
    // Prepare: the grown and shrunk datasets of the test above, in 4 and 16 buckets, rows changing class three ways
    const s = await store();
    const before = Array.from({ length: 1000 }, (_, i) => row(i, i % 3 ? 'a' : null, (i % 10) / 10));
    const now = before
      .filter((_, i) => i % 7 !== 0)
      .map((r, j) => ({ ...r, label: j % 11 === 0 ? 'b' : j % 13 === 0 ? null : r.label, confidence: (j % 9) / 9 }));
    now.push(...Array.from({ length: 50 }, (_, i) => row(5000 + i, 'c', 1)));
    await writeVersionRows(s, 'before/', 4, before);
    await writeVersionRows(s, 'now/', 16, now);
    const pairs = [
      [
        { store: s, prefix: 'before/', buckets: 4, rows: before.length, version: 1, runId: 'r1' },
        { store: s, prefix: 'now/', buckets: 16, rows: now.length },
      ],
      [
        { store: s, prefix: 'now/', buckets: 16, rows: now.length, version: 2, runId: 'r2' },
        { store: s, prefix: 'before/', buckets: 4, rows: before.length },
      ],
    ] as const;

    for (const [previous, current] of pairs) {
      // Act: 3 tasks over the 4 buckets of the fewer side (task t: buckets t, t + 3)
      const tallies = await Promise.all(
        [0, 1, 2].map((t) =>
          compareBuckets(
            previous,
            current,
            [0, 1, 2, 3].filter((b) => b % 3 === t),
          ),
        ),
      );
      const merged = mergeChanges(previous, current, tallies);

      // Assess: the same counts, histogram and transitions (in order: ties by their key); the mean shifts to
      // rounding (other summing order)
      const whole = await versionChanges(previous, current);
      expect(bucketPairing(previous, current).fewer).toBe(4);
      const counts = (c: typeof merged) => ({ ...c, transitions: [], confidenceShift: undefined });
      expect(counts(merged)).toEqual(counts(whole));
      const { confidenceShift, transitions } = merged;
      expect(transitions).toEqual(whole.transitions);
      expect(transitions.length).toBeGreaterThanOrEqual(3);
      expect(confidenceShift.histogram).toEqual(whole.confidenceShift.histogram);
      expect(confidenceShift.mean).toBeCloseTo(whole.confidenceShift.mean, 12);
      expect(confidenceShift.meanAbsolute).toBeCloseTo(whole.confidenceShift.meanAbsolute, 12);
    }
  });

  it('lists tied transitions in the same order whatever the order of the tallies added up', () => {
    // Prepare: two tallies with transitions of equal counts, met in opposite orders
    const tally = (transitions: [string | null, string | null][]) => ({
      ...emptyTally(),
      kept: transitions.length,
      changedClass: transitions.length,
      transitions: transitions.map(([from, to]) => ({ from, to, rows: 1 })),
    });
    const a = tally([
      ['x', 'y'],
      [null, 'x'],
    ]);
    const b = tally([
      ['y', 'x'],
      ['x', null],
    ]);
    const previous = { version: 1, runId: 'r1', rows: 4 };

    // Act
    const ab = mergeChanges(previous, { rows: 4 }, [a, b]);
    const ba = mergeChanges(previous, { rows: 4 }, [b, a]);

    // Assess
    expect(ab.transitions).toHaveLength(4);
    expect(ab.transitions).toEqual(ba.transitions);
  });

  it('a first version adds every row', async () => {
    const s = await store();
    const changes = await versionChanges(undefined, { store: s, prefix: 'x/', buckets: 1, rows: 42 });
    expect(changes).toMatchObject({ added: 42, removed: 0, changedClass: 0, previousRows: 0 });
  });
});
