import { NotFoundError } from '../../adapters/errors.ts';
import { StepClaimedError } from '../errors.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * How long a claim holds without renewal. The holder renews it every CLAIM_RENEW_MS while it computes, so only a
 * holder that died (killed, timed out) lets it expire; a retry after that (back-off 30 s, 2 min, 10 min) takes
 * the step over.
 */
export const CLAIM_TTL_MS = 90_000;
export const CLAIM_RENEW_MS = 20_000;

interface ClaimBody {
  readonly claimedAt: string;
  readonly expiresAt: string;
}

export interface StepClaim {
  /** Gives the claim up (the step failed: a redelivery may compute it at once). */
  release(): Promise<void>;
  /** Stops renewing (the step is done; its advanced marker now keeps duplicates out). */
  stop(): void;
}

const body = (now: number): string =>
  JSON.stringify({
    claimedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + CLAIM_TTL_MS).toISOString(),
  } satisfies ClaimBody);

/**
 * Claims a reduce step for this delivery with a put-if-absent claim object (S3 If-None-Match), so that two
 * deliveries never compute it at the same time (DESIGN.md section 5). Claims are numbered: when the newest one has
 * expired (its holder died), the next number is claimed, and put-if-absent again lets exactly one delivery have
 * it. Throws StepClaimedError while another delivery holds a live claim.
 */
export async function claimStep(ctx: StageContext, task: TaskMessage): Promise<StepClaim> {
  const prefix = keys.claims(task.runId, task.stage, task.round);
  const listed = await ctx.store.list(prefix);
  let generation = 0;
  const newest = listed.at(-1);
  if (newest) {
    const held = await readJson<ClaimBody>(ctx.store, newest.key).catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
    if (held && Date.parse(held.expiresAt) > Date.now()) {
      throw new StepClaimedError(`${task.stage} round ${task.round}`, held.expiresAt);
    }
    generation = Number(newest.key.slice(prefix.length)) + 1;
  }
  const key = keys.claim(task.runId, task.stage, task.round, generation);
  if (!(await ctx.store.putIfAbsent(key, body(Date.now())))) {
    throw new StepClaimedError(`${task.stage} round ${task.round}`, new Date(Date.now() + CLAIM_TTL_MS).toISOString());
  }
  const renewal = setInterval(() => {
    ctx.store.put(key, body(Date.now())).catch(() => {}); // a missed renewal is made good by the next one
  }, CLAIM_RENEW_MS);
  renewal.unref?.();
  return {
    release: async () => {
      clearInterval(renewal);
      await ctx.store.delete(key).catch(() => {});
    },
    stop: () => clearInterval(renewal),
  };
}
