/**
 * An input file that cannot be read at all: missing, a directory, binary, no header, no feature columns,
 * or columns that disagree with the other input files. Fatal for the run (a bad row is not: see RejectedRow).
 */
export class InputFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot read input file ${file}: ${reason}`, options);
    this.name = 'InputFileError';
  }
}

/** Bytes that are not a shard of this format (wrong magic, unknown version, truncated or inconsistent). */
export class ShardFormatError extends Error {
  constructor(readonly reason: string) {
    super(`invalid shard: ${reason}`);
    this.name = 'ShardFormatError';
  }
}
