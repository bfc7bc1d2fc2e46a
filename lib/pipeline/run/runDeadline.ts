import { effectiveMaxIter, type RunOptions } from '../runOptions.ts';

/**
 * A run's deadline, set at plan time from its size, after which `pseudolabel status` calls a run that still says
 * "running" stalled (and the stack's alarm fires). A simple, generous estimate, not a prediction:
 * - BASE_MS covers start-up, queue waits, cold starts and one full retry back-off (30 s + 2 min + 10 min);
 * - each pass over the rows costs ROW_MS + FEATURE_MS per feature per row, about ten times what was measured
 *   (1M rows x 24 features: 34 s embedded on 2 cores, bench/RESULTS.md); self-training and co-training make a
 *   pass per round.
 */
export const BASE_MS = 20 * 60_000;
export const ROW_MS = 0.2;
export const FEATURE_MS = 0.01;

/** Passes over the rows the method makes: one for graph methods, one per round for the round-based ones. */
function passes(options: RunOptions): number {
  const roundBased = options.method === 'self-training' || options.method === 'co-training';
  return roundBased ? 1 + effectiveMaxIter(options) : 2;
}

/** The deadline of a run created at `createdAt` over about `rows` rows of `features` features. */
export function runDeadline(createdAt: string, rows: number, features: number, options: RunOptions): string {
  const work = rows * (ROW_MS + FEATURE_MS * features) * passes(options);
  return new Date(Date.parse(createdAt) + BASE_MS + Math.ceil(work)).toISOString();
}

/** Whether a run that is still running has passed its deadline. */
export function isStalled(run: { status: string; deadline?: string }, now = new Date()): boolean {
  return run.status === 'running' && run.deadline !== undefined && now.getTime() > Date.parse(run.deadline);
}
