import type { FilesystemObjectStore } from '../../adapters/filesystemObjectStore.ts';
import { keys } from '../../pipeline/keys.ts';

/**
 * Embedded runs keep run.json and output/ (for `status`); shards, markers, round state and runner.json are deleted
 * when the run ends, however it ends.
 */
export async function deleteIntermediates(store: FilesystemObjectStore, runId: string): Promise<void> {
  const keep = new Set([keys.run(runId)]);
  const output = keys.output(runId, '');
  const doomed = (await store.keys(keys.runPrefix(runId))).filter((key) => !keep.has(key) && !key.startsWith(output));
  await Promise.all(doomed.map((key) => store.delete(key)));
  // A runner killed while writing can leave a directory that holds no key (pruneEmptyDirectories).
  await store.pruneEmptyDirectories(keys.runPrefix(runId));
}
