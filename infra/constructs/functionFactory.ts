import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, RecursiveLoop, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { FunctionSettings } from '../config.ts';

/** The repository root, so entries resolve the same whatever the working directory. */
const PROJECT_ROOT_URL = new URL('../../', import.meta.url);
const PROJECT_ROOT = fileURLToPath(PROJECT_ROOT_URL);

/**
 * esbuild emits ESM (index.mjs); CommonJS dependencies bundled into it call `require` for Node built-ins,
 * which ESM lacks, so the banner defines one.
 */
const REQUIRE_BANNER =
  "import { createRequire as pseudolabelCreateRequire } from 'node:module';" +
  'const require = pseudolabelCreateRequire(import.meta.url);';

export interface FunctionFactoryDefaults {
  /** Environment every function gets (bucket and queue URLs). */
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
}

export interface FunctionSpec {
  /** Handler file relative to the repository root, exporting `handler`, e.g. `functions/worker.ts`. */
  readonly entry: string;
  readonly description: string;
  readonly settings: FunctionSettings;
  /** Environment of this function only, added to the defaults' environment. */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Allow the function to take part in a Lambda -> SQS -> Lambda loop. Lambda stops such a chain after about
   * 16 hops by default; the pipeline's worker -> reduce -> reducer -> tasks -> worker chain is such a loop by
   * design (bounded by the number of stages and rounds), so its functions must allow it.
   */
  readonly allowRecursiveLoop?: boolean;
}

/**
 * The one place that holds the defaults of every pipeline Lambda function: Node.js 22 on arm64, ESM bundle built
 * by the local esbuild (AWS SDK bundled, pinned by package-lock, not the runtime's copy), source maps with
 * --enable-source-maps, a log group with retention, and an own role whose only built-in permission is writing
 * to that log group (no AWS managed policy). Callers add the data-plane grants.
 */
export class FunctionFactory {
  constructor(private readonly defaults: FunctionFactoryDefaults) {}

  create(scope: Construct, id: string, spec: FunctionSpec): NodejsFunction {
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: this.defaults.logRetention,
      removalPolicy: this.defaults.logRemovalPolicy,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the pseudolabel ${id} function`,
    });
    role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const fn = new NodejsFunction(scope, id, {
      entry: fileURLToPath(new URL(spec.entry, PROJECT_ROOT_URL)),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: fileURLToPath(new URL('package-lock.json', PROJECT_ROOT_URL)),
      description: spec.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: spec.settings.memoryMb,
      timeout: Duration.seconds(spec.settings.timeoutSeconds),
      role,
      logGroup,
      recursiveLoop: spec.allowRecursiveLoop ? RecursiveLoop.ALLOW : RecursiveLoop.TERMINATE,
      environment: {
        ...this.defaults.environment,
        ...spec.environment,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'pseudolabel',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        bundleAwsSDK: true,
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
      },
    });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the project runtime (package.json engines, tested with it); move to a newer runtime ' +
        'together with the tests, not silently.',
    });
    return fn;
  }
}
