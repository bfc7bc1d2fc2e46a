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
