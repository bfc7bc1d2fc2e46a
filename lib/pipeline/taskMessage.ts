import { z } from 'zod';

/**
 * The stages of a run, in order. Shard tasks (ingest, sample, cells, probes, neighbors, gather, the fanned-out propagation's
 * edges, route, degrees, iterate and result, score, outcome, output, compare) fan out on the tasks queue, one per
 * shard (approximate neighbors: one per cell range, the fanned-out edges, degrees and iterate one per partition,
 * compare one per group of version buckets, its number in `shard`); the others are reduce steps on the reduce
 * queue, one per run and round (for iterate and converge, the round is the iteration).
 */
export const STAGES = [
  'plan',
  'ingest',
  'collect',
  'sample',
  'train',
  'cells',
  'calibrate',
  'probes',
  'probed',
  'neighbors',
  'lists',
  'gather',
  'propagate',
  'edges',
  'graph',
  'route',
  'routed',
  'degrees',
  'iterate',
  'converge',
  'result',
  'score',
  'reduce',
  'outcome',
  'output',
  'version',
  'compare',
  'finalize',
] as const;
export type Stage = (typeof STAGES)[number];

export const SHARD_STAGES: ReadonlySet<Stage> = new Set<Stage>([
  'ingest',
  'sample',
  'cells',
  'probes',
  'neighbors',
  'gather',
  'edges',
  'route',
  'degrees',
  'iterate',
  'result',
  'score',
  'outcome',
  'output',
  'compare',
]);

/** A message names a unit of work; its data lives in the object store, never in the message. */
export const taskMessageSchema = z
  .object({
    v: z.literal(1),
    runId: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'runId must be 1-128 characters of [A-Za-z0-9._-]'),
    stage: z.enum(STAGES),
    round: z.number().int().min(0),
    shard: z.number().int().min(0),
  })
  .strict();

export type TaskMessage = z.infer<typeof taskMessageSchema>;

/** A message that can never succeed: it goes to the dead-letter queue at once instead of being retried. */
export class InvalidMessageError extends Error {
  constructor(readonly reason: string) {
    super(`invalid task message: ${reason}`);
    this.name = 'InvalidMessageError';
  }
}

/** Parses and validates a message body (a JSON string or an already parsed value). */
export function parseTaskMessage(body: unknown): TaskMessage {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      throw new InvalidMessageError(`body is not JSON: ${body.slice(0, 80)}`);
    }
  }
  const result = taskMessageSchema.safeParse(value);
  if (!result.success) {
    throw new InvalidMessageError(
      result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  }
  return result.data;
}

export function taskMessage(runId: string, stage: Stage, round = 0, shard = 0): TaskMessage {
  return { v: 1, runId, stage, round, shard };
}
