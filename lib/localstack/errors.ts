/** No Python 3.13 interpreter was found to run LocalStack 4.14 on the host. */
export class PythonNotFoundError extends Error {
  constructor(readonly tried: readonly string[]) {
    super(
      `LocalStack 4.14 needs Python 3.13 and none was found (tried: ${tried.join(', ')}). ` +
        'Install one (e.g. `pyenv install 3.13`) or set PSEUDOLABEL_PYTHON to its path.',
    );
    this.name = 'PythonNotFoundError';
  }
}

/** Creating the LocalStack venv or installing localstack-core into it failed. */
export class LocalstackInstallError extends Error {
  constructor(
    readonly step: string,
    readonly logTail: string,
  ) {
    super(`installing LocalStack failed at: ${step}\n${logTail}`);
    this.name = 'LocalstackInstallError';
  }
}

/** LocalStack did not become healthy (exited, or timed out); carries the end of its log. */
export class LocalstackStartError extends Error {
  constructor(
    readonly reason: string,
    readonly logFile: string,
    readonly logTail: string,
  ) {
    super(`LocalStack did not start: ${reason}\n--- last lines of ${logFile} ---\n${logTail}`);
    this.name = 'LocalstackStartError';
  }
}
