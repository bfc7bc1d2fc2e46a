import { LOCALSTACK_STACK_TAG } from '../resourceNames.ts';

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

/** A bucket setting in the deployed template that `localstack up --provision cdk` cannot turn into an S3 call. */
export class UnsupportedTemplateValueError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
  ) {
    super(
      `cannot apply the template's bucket setting at ${path}: expected ${expected} (a literal, or a Ref to a bucket)`,
    );
    this.name = 'UnsupportedTemplateValueError';
  }
}

/** The CDK toolchain (aws-cdk-local, aws-cdk, aws-cdk-lib: devDependencies) is not installed. */
export class CdkToolMissingError extends Error {
  constructor(readonly missing: string) {
    super(
      `--provision cdk needs ${missing}, a devDependency of pseudolabel: run \`npm ci\` (without --omit=dev) in the ` +
        'repository, or use --provision direct',
    );
    this.name = 'CdkToolMissingError';
  }
}

/** Same-named resources exist that the stack did not create: CloudFormation on LocalStack would fail or adopt them. */
export class ForeignResourcesError extends Error {
  constructor(
    readonly stackName: string,
    readonly resources: readonly string[],
  ) {
    super(
      `cannot deploy stack ${stackName}: ${resources.join(', ')} already exist without the tag ` +
        `${LOCALSTACK_STACK_TAG}=${stackName}, so they were provisioned directly (\`pseudolabel localstack up\` without ` +
        '--provision cdk) or by another stack. LocalStack keeps no state across restarts: `pseudolabel localstack ' +
        'down` (or restart it), then `pseudolabel localstack up --provision cdk`; or deploy under other names ' +
        '(--stack-name with PSEUDOLABEL_BUCKET and PSEUDOLABEL_QUEUE_PREFIX).',
    );
    this.name = 'ForeignResourcesError';
  }
}

/** `cdklocal deploy` (or destroy) failed or timed out; carries what CloudFormation reported and the end of the log. */
export class CdkDeployError extends Error {
  constructor(
    readonly stackName: string,
    readonly reason: string,
    readonly logFile: string,
    readonly details: string,
    readonly command: 'deploy' | 'destroy' = 'deploy',
  ) {
    super(`cdklocal ${command} of stack ${stackName} failed: ${reason}\n${details}\n(full output: ${logFile})`);
    this.name = 'CdkDeployError';
  }
}
