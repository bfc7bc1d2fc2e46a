import { statSync } from 'node:fs';
import type { ObjectStore } from '../adapters/objectStore.ts';
import { storeFromUrl } from '../adapters/storeFromUrl.ts';

/**
 * What `pseudolabel status` looks at: a run in a store (runId undefined = the latest one), or a location that
 * may be an output folder (report.json) and otherwise is a store holding runs/.
 */
export type StatusTarget =
  | { readonly kind: 'run'; readonly store: ObjectStore; readonly location: string; readonly runId?: string }
  | { readonly kind: 'location'; readonly store: ObjectStore; readonly location: string };

/**
 * Reads the status argument:
 * - none: the latest run in `defaultStore`;
 * - a path or URL through `runs/<runId>` (`s3://bucket/runs/<runId>/`, `.pseudolabel/runs/<runId>/output`): that
 *   run in the store above `runs/`;
 * - another URL, a path with a `/`, or the name of an existing directory (when no `--store` was given): a location;
 * - anything else: a run id in `defaultStore`.
 */
export function statusTarget(
  argument: string | undefined,
  defaultStore: string,
  storeGiven: boolean,
  open: (location: string) => ObjectStore = storeFromUrl,
): StatusTarget {
  if (argument === undefined) return { kind: 'run', store: open(defaultStore), location: defaultStore };
  const isLocation = argument.includes('://') || argument.includes('/') || (!storeGiven && isDirectory(argument));
  if (!isLocation) return { kind: 'run', store: open(defaultStore), location: defaultStore, runId: argument };
  const inRuns = /^(.*?)(?:^|\/)runs\/([^/]+)(?:\/.*)?$/.exec(argument);
  if (inRuns) {
    const root = inRuns[1] === '' ? '.' : inRuns[1];
    return { kind: 'run', store: open(root), location: root, runId: inRuns[2] };
  }
  return { kind: 'location', store: open(argument), location: argument };
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
