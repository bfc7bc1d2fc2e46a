import { InputError } from '../errors.ts';

/**
 * An input file that cannot be read at all: missing, a directory, binary, no header, no feature columns,
 * or columns that disagree with the other input files. Fatal for the run (a bad row is not: see RejectedRow).
 */
export class InputFileError extends InputError {
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

/** A short reason for a file-system error, for InputFileError. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EISDIR') return 'is a directory, expected a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}
