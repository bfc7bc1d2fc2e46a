import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { SCALES } from '../data/featureScaling.ts';
import { KERNELS, METHODS } from '../pipeline/runOptions.ts';
import { runCommand } from './runCommand.ts';

/** Parses a numeric flag, failing with the flag's name instead of passing NaN on. */
function number(flag: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed)) throw new InvalidArgumentError(`${flag} needs a number`);
    return parsed;
  };
}

function buildProgram(): Command {
  const program = new Command('pseudolabel')
    .description('Label large unlabelled corpora from a few labelled examples (semi-supervised learning).')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');

  program
    .command('run')
    .description('label every row of the input and write labels, report and rejected rows to --out')
    .requiredOption('--input <path>', 'input file, directory or s3://bucket/prefix (CSV, JSONL, Parquet)')
    .requiredOption('--out <dir>', 'output directory or s3://bucket/prefix')
    .addOption(new Option('--method <method>', 'algorithm').choices(METHODS))
    .addOption(
      new Option('--kernel <kernel>', 'graph kernel: knn, dense rbf (small n), rbf weights on knn edges').choices(
        KERNELS,
      ),
    )
    .addOption(
      new Option(
        '--scale <scale>',
        'feature scaling: none, standard (z-scores), robust (median/IQR) (default none)',
      ).choices(SCALES),
    )
    .option('--neighbors <k>', 'neighbors per point in the knn graph (default 10)', number('--neighbors'))
    .option(
      '--gamma <gamma>',
      'rbf kernel width, or auto: 1 / median squared k-th neighbour distance (default 20)',
      (value: string) => (value.trim() === 'auto' ? 'auto' : number('--gamma')(value)),
    )
    .option('--alpha <alpha>', 'label spreading clamping factor in (0,1) (default 0.2)', number('--alpha'))
    .option(
      '--max-iter <n>',
      'iterations, or rounds of self-/co-training (default: 30 spreading, 1000 propagation, 10 self-training, 30 co-training)',
      number('--max-iter'),
    )
    .option('--tol <tol>', 'convergence tolerance (default 1e-3)', number('--tol'))
    .option(
      '--threshold <p>',
      'confidence a pseudo label needs (default 0.95 self-training, 0.75 co-training)',
      number('--threshold'),
    )
    .option('--rounds <n>', 'alias of --max-iter for self-training and co-training', number('--rounds'))
    .addOption(
      new Option('--criterion <rule>', 'self-training selection: above threshold, k best, or k best per class').choices(
        ['threshold', 'k_best', 'k_best_per_class'],
      ),
    )
    .option(
      '--views <views>',
      'co-training views: two lists of column names or first:last ranges, separated by ";" (default: the two halves)',
    )
    .option(
      '--per-class <n>',
      "co-training proposals per class per view and round (Blum & Mitchell's p/n) (default 10)",
      number('--per-class'),
    )
    .option('--k-best <k>', 'pseudo labels per round (per class for k_best_per_class) (default 10)', number('--k-best'))
    .option(
      '--holdout <fraction>',
      'fraction of given labels kept aside for evaluation (default 0)',
      number('--holdout'),
    )
    .option('--shards <n>', 'number of shards', number('--shards'))
    .option('--workers <n>', 'worker threads (default: one per core)', number('--workers'))
    .option(
      '--task-memory <MB>',
      'run every task in a child process of its own and fail a task whose peak RSS exceeds MB (a Lambda of that size)',
      number('--task-memory'),
    )
    .option('--seed <n>', 'random seed (default 0)', number('--seed'))
    .option(
      '--carry-forward',
      "with --dataset: the latest version's confident labels enter the run as given labels (source carried)",
    )
    .option(
      '--carry-threshold <p>',
      'confidence a carried label needs in the latest version (default 0.99)',
      number('--carry-threshold'),
    )
    .addOption(
      new Option('--neighbors-mode <mode>', 'kNN search (default: exact below 50,000 rows, approx IVF above)').choices([
        'exact',
        'approx',
      ]),
    )
    .addOption(new Option('--format <format>', 'labels output format').choices(['csv', 'parquet']))
    .option('--label-column <name>', 'label column name (default label)')
    .option('--id-column <name>', 'id column name (default id)')
    .option('--config <file>', 'JSON file with run options (flags override it)')
    .option(
      '--dataset <name>',
      'also publish the labels as the next version of this dataset (datasets/<name>/ in the state directory)',
    )
    .action(async (flags) => {
      process.exitCode = await runCommand(flags);
    });

  program
    .command('status')
    .description('show where a run stands: stage, round, shards done/total, elapsed time, errors')
    .argument(
      '[run]',
      'run id, output folder (run --out), or s3://bucket/runs/<runId>/ (default: the latest run in --store)',
    )
    .option('--latest', 'the most recent run (the default when no run id is given)')
    .option('--json', 'print JSON')
    .option('--store <location>', 'where runs/ lives: a directory or s3://bucket (default ./.pseudolabel)')
    .option('--watch', 'show progress bars until the run succeeds (exit 0), fails (exit 2) or is cancelled (exit 3)')
    .option('--interval <ms>', 'milliseconds between polls with --watch (default 1000)', number('--interval'))
    .option('--dataset <name>', 'the latest run of this dataset (its folder under incoming/)')
    .option(
      '--timeout <seconds>',
      '--watch: seconds to wait for a run that does not exist yet, e.g. just dropped (default 60)',
      number('--timeout'),
    )
    .action(async (runId: string | undefined, flags) => {
      const { statusCommand } = await import('./statusCommand.ts');
      process.exitCode = await statusCommand(runId, flags);
    });

  program
    .command('cancel')
    .description('cancel a run: its tasks stop at their next step and nothing more is sent')
    .argument('<runId>', 'the run to cancel')
    .option('--store <location>', 'where runs/ lives: a directory or s3://bucket (default ./.pseudolabel)')
    .action(async (runId: string, flags) => {
      const { cancelCommand } = await import('./cancelCommand.ts');
      process.exitCode = await cancelCommand(runId, flags);
    });

  program
    .command('retrain')
    .description(
      'retrain a dataset, unless nothing changed since its latest version: a run over incoming/<dataset>/ on the ' +
        'deployed pipeline (--store s3://bucket), or here over the --input of its latest run (a state directory)',
    )
    .argument('<dataset>', 'the dataset (its folder under incoming/, or its --dataset name)')
    .option(
      '--store <location>',
      's3://bucket the pipeline runs on, or a state directory (default PSEUDOLABEL_STORE, else ./.pseudolabel)',
    )
    .option('--out <dir>', "with a state directory: where the new version's output files go")
    .action(async (dataset: string, flags) => {
      const { retrainCommand } = await import('./retrainCommand.ts');
      process.exitCode = await retrainCommand(dataset, flags);
    });

  program
    .command('predict')
    .description("label new rows with a dataset version's model (scikit-learn's LabelSpreading.predict), no run")
    .requiredOption(
      '--model <location>',
      'a version directory (datasets/<dataset>/versions/<n>), a dataset directory (its latest version), or s3://...',
    )
    .requiredOption('--input <file>', "the new rows: CSV, JSONL or Parquet with the model's feature columns")
    .requiredOption('--out <dir>', 'output directory or s3://bucket/prefix')
    .action(async (flags) => {
      const { predictCommand } = await import('./predictCommand.ts');
      process.exitCode = await predictCommand(flags);
    });

  program
    .command('localstack')
    .description('start, stop or inspect LocalStack and provision the bucket, queues and notification')
    .argument('<action>', 'up, down or status')
    .option('--endpoint <url>', 'LocalStack endpoint (default http://127.0.0.1:4566)')
    .addOption(
      new Option(
        '--provision <how>',
        'up: create the resources with SDK calls (direct) or deploy the CDK app with cdklocal (cdk)',
      )
        .choices(['direct', 'cdk'])
        .default('direct'),
    )
    .option('--stack-name <name>', 'up --provision cdk: CloudFormation stack name (default Pseudolabel)')
    .action(async (action: string, flags) => {
      const { localstackCommand } = await import('./serviceCommands.ts');
      process.exitCode = await localstackCommand(action, flags);
    });

  program
    .command('worker')
    .description('run the Lambda handlers locally against the SQS queues (Ctrl-C finishes the tasks in hand)')
    .option('--endpoint <url>', 'LocalStack / SQS endpoint (default http://127.0.0.1:4566)')
    .action(async (flags) => {
      const { workerCommand } = await import('./serviceCommands.ts');
      process.exitCode = await workerCommand(flags);
    });

  return program;
}

/** Entry point of the `pseudolabel` command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`pseudolabel: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
