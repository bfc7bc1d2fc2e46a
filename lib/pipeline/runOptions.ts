import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { SCALES } from '../data/featureScaling.ts';
import { OptionsError } from '../errors.ts';
import { runLimits, WORKERS_PER_CORE } from './runLimits.ts';

/**
 * Options of one run: the CLI flags, `incoming/<dataset>/pseudolabel.json` and run.json all use these
 * camelCase names. Defaults follow scikit-learn's LabelSpreading / LabelPropagation / SelfTrainingClassifier,
 * except `neighbors` (10: the CLI's knn default). Unset, `maxIter` and `threshold` take the chosen method's
 * default (effectiveMaxIter, effectiveThreshold). `rounds` is the old name of `maxIter` for self-training and
 * co-training, kept as an alias.
 */
export const METHODS = ['label-spreading', 'label-propagation', 'self-training', 'co-training', 'auto'] as const;
export const KERNELS = ['knn', 'rbf', 'knn-rbf'] as const;

/** Whether a method propagates labels over a graph (spreading or propagation), giving label distributions. */
export function isGraphMethod(method: string): method is 'label-spreading' | 'label-propagation' {
  return method === 'label-spreading' || method === 'label-propagation';
}
export const RETRAIN_FREQUENCIES = ['never', 'daily', 'weekly'] as const;

/**
 * Upper bounds of single options, the same on every host (the host's own bounds, shards, workers, columns and
 * memory, are in runLimits.ts). Far above any useful value (scikit-learn's max_iter defaults are 30 and 1000;
 * self-training rounds stop when no row is added), they keep a careless or hostile value from running for days.
 */
export const MAX_NEIGHBORS = 1000;
export const MAX_ITER = 100_000;
/** Self-training and co-training rounds (maxIter, or its alias rounds, for these methods). */
export const MAX_ROUNDS = 1000;
export const MAX_K_BEST = 10_000_000;
/** Co-training proposals per class, view and round: the same bound as k_best (one round's pseudo labels). */
export const MAX_PER_CLASS = MAX_K_BEST;

export const runOptionsSchema = z
  .object({
    method: z.enum(METHODS).default('label-spreading'),
    kernel: z.enum(KERNELS).default('knn'),
    neighbors: z.number().int().min(1).max(MAX_NEIGHBORS, `at most ${MAX_NEIGHBORS}`).default(10),
    /** Feature scaling before the graph and the classifier (lib/data/featureScaling.ts); none is scikit-learn's. */
    scale: z.enum(SCALES).default('none'),
    /** rbf width; `auto`: the median heuristic (unreached.ts medianHeuristicGamma). */
    gamma: z.union([z.number().positive(), z.literal('auto')]).default(20),
    alpha: z.number().gt(0).lt(1).default(0.2),
    maxIter: z.number().int().min(1).max(MAX_ITER, `at most ${MAX_ITER}`).optional(),
    tol: z.number().min(0).default(1e-3),
    threshold: z.number().min(0).lt(1).optional(),
    /** Alias of maxIter for self-training and co-training (their rounds). */
    rounds: z.number().int().min(0).max(MAX_ROUNDS, `at most ${MAX_ROUNDS}`).optional(),
    criterion: z.enum(['threshold', 'k_best', 'k_best_per_class']).default('threshold'),
    kBest: z.number().int().min(1).max(MAX_K_BEST, `at most ${MAX_K_BEST}`).default(10),
    /** Co-training: proposals per class per view per round (Blum & Mitchell's p and n); unset, CoTraining's 10. */
    perClass: z.number().int().min(1).max(MAX_PER_CLASS, `at most ${MAX_PER_CLASS}`).optional(),
    /** Co-training views by column name (coTrainingViews.ts); unset, the two halves of the columns. */
    views: z.union([z.string().min(1), z.tuple([z.array(z.string()), z.array(z.string())])]).optional(),
    holdout: z.number().min(0).lt(1).default(0),
    shards: z.number().int().min(1).optional(),
    workers: z.number().int().min(1).optional(),
    /**
     * Embedded runs: every task in a child process of its own, failed when its peak RSS goes over this many MB
     * (a Lambda of that size). Node itself takes about 50 MB.
     */
    taskMemory: z.number().int().positive().optional(),
    seed: z.number().int().min(0).default(0),
    /** Unset: exact below APPROX_FROM_ROWS rows, approximate above (neighborsPlan.ts). */
    neighborsMode: z.enum(['exact', 'approx']).optional(),
    format: z.enum(['csv', 'parquet']).default('csv'),
    /**
     * pseudolabel.json: how often the stack's schedule retrains the dataset (functions/scheduled.ts), each time only
     * when its files or options changed since its latest version. Unset or `never`: only uploads start runs.
     */
    retrain: z.enum(RETRAIN_FREQUENCIES).optional(),
    /**
     * Rounds across runs (carriedLabels.ts): the confident labels of the dataset's latest version enter the run as
     * given labels with source `carried`. Off unless set; carryThreshold unset is 0.99.
     */
    carryForward: z.boolean().optional(),
    carryThreshold: z.number().min(0).max(1).optional(),
    labelColumn: z.string().min(1).default('label'),
    idColumn: z.string().min(1).default('id'),
  })
  .strict()
  .refine(
    (options) =>
      !(options.method === 'self-training' || options.method === 'co-training') || (options.maxIter ?? 0) <= MAX_ROUNDS,
    {
      message: `self-training and co-training run at most ${MAX_ROUNDS} rounds (--max-iter / --rounds)`,
      path: ['maxIter'],
    },
  )
  .refine(
    (options) => options.rounds === undefined || options.maxIter === undefined || options.rounds === options.maxIter,
    {
      message: '--rounds is an alias of --max-iter for self-training and co-training: give one of them',
    },
  )
  .superRefine((options, ctx) => {
    // The host's maxima (runLimits.ts), read where the options are parsed: the CLI's machine, or the Lambda that
    // reads an uploaded pseudolabel.json (its environment set by the stack). Plan checks shards against the rows.
    const limits = runLimits();
    if (options.shards !== undefined && options.shards > limits.maxShards) {
      ctx.addIssue({ code: 'custom', path: ['shards'], message: `at most ${limits.maxShards}, this host's maximum` });
    }
    const workers = WORKERS_PER_CORE * availableParallelism();
    if (options.workers !== undefined && options.workers > workers) {
      ctx.addIssue({
        code: 'custom',
        path: ['workers'],
        message: `at most ${workers}, ${WORKERS_PER_CORE} per core of this host`,
      });
    }
  });

export type RunOptions = z.infer<typeof runOptionsSchema>;
export type RunOptionsInput = z.input<typeof runOptionsSchema>;

/**
 * max_iter as the method runs it: the value given (`--max-iter`, or its alias `--rounds` for the methods that
 * work in rounds), else the method's default: scikit-learn's for label spreading (30), label propagation (1000)
 * and SelfTrainingClassifier (10), Blum & Mitchell's 30 rounds for co-training.
 */
export function effectiveMaxIter(options: Pick<RunOptions, 'maxIter' | 'method' | 'rounds'>): number {
  if (options.maxIter !== undefined) return options.maxIter;
  if (options.method === 'label-propagation') return 1000;
  if (options.method === 'label-spreading') return 30;
  if (options.rounds !== undefined) return options.rounds;
  return options.method === 'co-training' ? 30 : 10;
}

/** Self-training's confidence threshold (default 0.95, high: a wrong pseudo label is learnt from); co-training's 0.75. */
export function effectiveThreshold(options: RunOptions): number {
  return options.threshold ?? (options.method === 'co-training' ? 0.75 : 0.95);
}

/**
 * Parses options, turning zod's issues into one readable sentence naming the options at fault, as CLI flags
 * (`--max-iter`) or as the JSON keys of a pseudolabel.json (`maxIter`), with the value given.
 */
export function parseRunOptions(input: unknown, origin = 'options', naming: 'flags' | 'keys' = 'flags'): RunOptions {
  const result = runOptionsSchema.safeParse(input);
  if (result.success) return result.data;
  const given = (input ?? {}) as Record<string, unknown>;
  const problems = result.error.issues.map((issue) => {
    if (issue.path.length === 0) return issue.message;
    const name = String(issue.path[0]);
    const flag = naming === 'keys' ? name : `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    const value = name in given ? ` (got ${JSON.stringify(given[name])})` : '';
    return `${flag}: ${issue.message}${value}`;
  });
  throw new OptionsError(`invalid ${origin}: ${problems.join('; ')}`);
}
