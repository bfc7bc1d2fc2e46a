import { InProcessQueue } from '../../lib/adapters/inProcessQueue.ts';
import type { ObjectStore } from '../../lib/adapters/objectStore.ts';
import { type StageContext, silentLog } from '../../lib/pipeline/stageContext.ts';

/**
 * A stage context over one store (a filesystem store, or a store wrapping one) holding run state and inputs, with
 * in-process queues and no logging; `extra` replaces any of them (a test's own queues or log).
 */
export function filesystemStageContext(store: ObjectStore, extra: Partial<StageContext> = {}): StageContext {
  return {
    store,
    inputs: () => store,
    tasks: new InProcessQueue(),
    reduce: new InProcessQueue(),
    log: silentLog,
    ...extra,
  };
}
