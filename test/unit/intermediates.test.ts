import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { DELETES_AT_ONCE, deleteIntermediates } from '../../lib/hosts/embedded/intermediates.ts';
import { keys } from '../../lib/pipeline/keys.ts';

/** A filesystem store that counts the deletes in flight at once. */
class CountingDeletes extends FilesystemObjectStore {
  inFlight = 0;
  mostInFlight = 0;
  override async delete(key: string): Promise<void> {
    this.inFlight++;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    try {
      await super.delete(key);
    } finally {
      this.inFlight--;
    }
  }
}

describe('deleteIntermediates', () => {
  let root: string;
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('deletes every intermediate key, a bounded number at a time, and keeps run.json and the outputs', async () => {
    // Prepare: a run with many more intermediate keys than deletes allowed at once.
    root = await mkdtemp(join(tmpdir(), 'intermediates-'));
    const store = new CountingDeletes(root);
    const runId = 'run-1';
    const intermediates = Array.from(
      { length: 4 * DELETES_AT_ONCE },
      (_, i) => `${keys.runPrefix(runId)}ranges/${i % 7}/${i}/partial.bin`,
    );
    for (const key of intermediates) await store.put(key, 'x');
    await store.put(keys.run(runId), '{}');
    await store.put(keys.output(runId, 'labels.csv'), 'id,label\n');

    // Act
    await deleteIntermediates(store, runId);

    // Assess
    expect(await store.keys(keys.runPrefix(runId))).toEqual([keys.output(runId, 'labels.csv'), keys.run(runId)].sort());
    expect(store.mostInFlight).toBeGreaterThan(1);
    expect(store.mostInFlight).toBeLessThanOrEqual(DELETES_AT_ONCE);
  });
});
