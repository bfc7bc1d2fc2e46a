import type { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { InProcessQueue } from '../../lib/adapters/inProcessQueue.ts';
import { type StageContext, silentLog } from '../../lib/pipeline/stageContext.ts';

/** A stage context over one filesystem store (run state and inputs), with in-process queues and no logging. */
export function filesystemStageContext(store: FilesystemObjectStore, extra: Partial<StageContext> = {}): StageContext {
  return {
    store,
    inputs: () => store,
    tasks: new InProcessQueue(),
    reduce: new InProcessQueue(),
    log: silentLog,
    ...extra,
  };
}
