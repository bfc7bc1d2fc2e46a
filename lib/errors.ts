/**
 * The three errors that end a run for good: the user's input, the user's options, or what the host can hold is
 * at fault, so no retry can mend it. Each area's own errors extend one of them (InputFileError, UnusableLabelsError,
 * TooFewClassesError, DenseKernelTooLargeError, ...); `isRunFailure` (lib/pipeline/executeTask.ts) accepts these
 * and nothing else. Every other error, an engine RangeError such as "Maximum call stack size exceeded" included,
 * is a fault of the code or the host: the task is retried, then goes to the dead-letter queue.
 */

/** The input is at fault: a file that cannot be read, unusable labels, a value the run cannot use. */
export class InputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InputError';
  }
}

/** The options are at fault: a value outside its range, options that contradict each other or the input. */
export class OptionsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OptionsError';
  }
}

/** The run would not fit its host (memory, a configured maximum); the message names the option that makes it fit. */
export class CapacityError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CapacityError';
  }
}
