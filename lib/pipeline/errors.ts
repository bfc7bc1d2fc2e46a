/** The input holds no usable labels for the chosen method: the run cannot start. */
export class UnusableLabelsError extends Error {
  constructor(
    readonly source: string,
    reason: string,
  ) {
    super(`${source}: ${reason}`);
    this.name = 'UnusableLabelsError';
  }
}
