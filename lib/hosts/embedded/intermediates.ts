import type { FilesystemObjectStore } from '../../adapters/filesystemObjectStore.ts';
import { mapConcurrently } from '../../pipeline/concurrentRequests.ts';
import { keys } from '../../pipeline/keys.ts';

/**
 * Deletes in flight at once. All at once, a 160-shard run's ~100,000 keys (routed queries and partial lists of
 * every range x shard pair, markers, round state) held a pending unlink and rmdir chain each, and an ENOTEMPTY
 * error for most: the CLI process peaked at 2 GB after a 10M-row run whose largest task was 386 MB.
 */
export const DELETES_AT_ONCE = 64;

/**
 * Embedded runs keep run.json and output/ (for `status`); shards, markers, round state and runner.json are deleted
 * when the run ends, however it ends.
 */
export async function deleteIntermediates(store: FilesystemObjectStore, runId: string): Promise<void> {
  const keep = new Set([keys.run(runId)]);
  const output = keys.output(runId, '');
  const doomed = (await store.keys(keys.runPrefix(runId))).filter((key) => !keep.has(key) && !key.startsWith(output));
  await mapConcurrently(doomed, (key) => store.delete(key), DELETES_AT_ONCE);
  // A runner killed while writing can leave a directory that holds no key (pruneEmptyDirectories).
  await store.pruneEmptyDirectories(keys.runPrefix(runId));
}
