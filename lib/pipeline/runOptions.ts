import { z } from 'zod';
import { OptionsError } from '../errors.ts';

/**
 * Options of one run: the CLI flags, `incoming/<dataset>/pseudolabel.json` and run.json all use these
 * camelCase names. Defaults follow scikit-learn's LabelSpreading / LabelPropagation / SelfTrainingClassifier,
 * except `neighbors` (10: the CLI's knn default) and `maxIter`, which, when unset, is the chosen method's
 * scikit-learn default (30 for label spreading, 1000 for label propagation, 10 rounds for self-training).
 */
export const METHODS = ['label-spreading', 'label-propagation', 'self-training', 'co-training', 'auto'] as const;
export const KERNELS = ['knn', 'rbf', 'knn-rbf'] as const;

export const runOptionsSchema = z
  .object({
    method: z.enum(METHODS).default('label-spreading'),
    kernel: z.enum(KERNELS).default('knn'),
    neighbors: z.number().int().min(1).default(10),
    gamma: z.number().positive().default(20),
    alpha: z.number().gt(0).lt(1).default(0.2),
    maxIter: z.number().int().min(1).optional(),
    tol: z.number().min(0).default(1e-3),
    threshold: z.number().min(0).lt(1).default(0.95),
    rounds: z.number().int().min(0).default(5),
    criterion: z.enum(['threshold', 'k_best', 'k_best_per_class']).default('threshold'),
    kBest: z.number().int().min(1).default(10),
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
    labelColumn: z.string().min(1).default('label'),
    idColumn: z.string().min(1).default('id'),
  })
  .strict();

export type RunOptions = z.infer<typeof runOptionsSchema>;
export type RunOptionsInput = z.input<typeof runOptionsSchema>;

/** The method's scikit-learn max_iter default when the user gave none. */
export function effectiveMaxIter(options: RunOptions): number {
  if (options.maxIter !== undefined) return options.maxIter;
  if (options.method === 'label-propagation') return 1000;
  if (options.method === 'label-spreading') return 30;
  return 10;
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
