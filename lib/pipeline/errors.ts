import { InputError } from '../errors.ts';

/** The input holds no usable labels for the chosen method: the run cannot start. */
export class UnusableLabelsError extends InputError {
  constructor(
    readonly source: string,
    reason: string,
  ) {
    super(`${source}: ${reason}`);
    this.name = 'UnusableLabelsError';
  }
}

/** A message names a run that does not exist: it can never succeed. */
export class UnknownRunError extends Error {
  constructor(readonly runId: string) {
    super(`unknown run ${runId}: runs/${runId}/run.json does not exist`);
    this.name = 'UnknownRunError';
  }
}

/**
 * Another delivery of the same reduce step holds its claim and is computing it: this delivery does nothing now
 * and is retried later (by then the step is done, or the claim expired because its holder died).
 */
export class StepClaimedError extends Error {
  constructor(
    readonly step: string,
    readonly expiresAt: string,
  ) {
    super(`reduce step ${step} is being computed by another delivery (its claim expires at ${expiresAt})`);
    this.name = 'StepClaimedError';
  }
}
