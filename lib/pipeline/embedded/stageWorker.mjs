// Worker-thread entry for piscina: worker threads do not inherit the parent's TypeScript loader, so register
// tsx here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./stageWorker.ts');
export default worker.default;
