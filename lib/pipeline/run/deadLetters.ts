import { keys } from '../keys.ts';
import type { StageContext } from '../stageContext.ts';
import { parseTaskMessage, SHARD_STAGES, type TaskMessage } from '../taskMessage.ts';
import { findRun, markRunFailed } from './runRecord.ts';

/** What became of a message taken from a dead-letter queue. */
export type DeadLetterOutcome =
  /** Its run was running: it is now failed, with the message's stage and the reason. */
  | 'run-failed'
  /** Its run had already ended (succeeded, failed or cancelled): left as it is. */
  | 'run-ended'
  /** A duplicate of work that another delivery completed (its marker is present): the run goes on. */
  | 'work-done'
  /** Not a task message, or its run does not exist: logged and dropped. */
  | 'dropped';

/** Why a task message was dead-lettered, as recorded in run.json. */
export function deadLetterReason(task: TaskMessage, reason: string | undefined): string {
  const what = `task ${task.stage}${task.round > 0 ? ` round ${task.round}` : ''} shard ${task.shard}`;
  return reason
    ? `${what} was dead-lettered: ${reason}`
    : `${what} was dead-lettered: it did not complete in its allowed receives (the worker died, timed out or kept failing)`;
}

/**
 * The dead-letter queue consumer (DESIGN.md section 5, "Every run ends"). A task whose worker dies on every
 * receive (out of memory, Lambda timeout, SIGKILL) reaches its DLQ without any handler seeing its last receive,
 * so nothing else would ever move its run on: this marks the run failed with the task's stage and the reason
 * (the `reason` attribute a handler gave it, if any). A message that is not a valid task message, or names a run
 * that does not exist, is logged and dropped; a dead letter whose work another delivery completed (its completion
 * or advanced marker is present) leaves its run running. Errors of the store are thrown, for redelivery.
 */
export async function settleDeadLetter(
  ctx: Pick<StageContext, 'store' | 'log' | 'runEnded'>,
  body: string,
  reason: string | undefined,
): Promise<DeadLetterOutcome> {
  let task: TaskMessage;
  try {
    task = parseTaskMessage(body);
  } catch (error) {
    ctx.log.warn('dead letter is not a task message; dropped', {
      body: body.slice(0, 200),
      reason,
      error: error instanceof Error ? error.message : String(error),
    });
    return 'dropped';
  }
  const run = await findRun(ctx.store, task.runId);
  if (!run) {
    ctx.log.warn('dead letter names no run; dropped', { ...task, reason });
    return 'dropped';
  }
  if (run.status !== 'running') {
    ctx.log.info('dead letter of a run that has ended; dropped', { ...task, status: run.status });
    return 'run-ended';
  }
  const doneKey = SHARD_STAGES.has(task.stage)
    ? keys.marker(task.runId, task.stage, task.round, task.shard)
    : keys.advanced(task.runId, task.stage, task.round);
  if (await ctx.store.exists(doneKey)) {
    ctx.log.info('dead letter of work another delivery completed; dropped', { ...task });
    return 'work-done';
  }
  const error = deadLetterReason(task, reason);
  const record = await markRunFailed(ctx.store, task.runId, { stage: task.stage, error }, ctx.runEnded);
  ctx.log.warn('task dead-lettered; run marked failed', { ...task, status: record.status, error });
  return record.status === 'failed' && record.error === error ? 'run-failed' : 'run-ended';
}
