import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SoftmaxRegression } from '../lib/algorithms/softmaxRegression.ts';
import { UNLABELLED } from '../lib/data/dataset.ts';
import { type FeatureMatrix, selectRows } from '../lib/data/featureMatrix.ts';
import { FeatureStatistics, scaleInPlace } from '../lib/data/featureScaling.ts';
import {
  AUTO_MARGIN,
  type AutoSearch,
  type AutoSetting,
  autoGrid,
  labelsFromProbabilities,
  predictorsFor,
  searchGrid,
} from '../lib/pipeline/modelSelection/autoSearch.ts';
import { checkHoldoutSize, repeatedHoldout } from '../lib/pipeline/modelSelection/holdout.ts';
import { parseRunOptions } from '../lib/pipeline/runOptions.ts';

/**
 * `npm run bench -- --suite quality [--draws 5]`: label quality on scikit-learn's bundled real data sets (iris, wine,
 * breast_cancer, digits) x 3 label fractions (5 per class, 5%, 20%) x draws. bench/quality_sklearn.py draws the
 * labels and fits the scikit-learn baselines; here, in this process, every setting of `--method auto`'s grid runs
 * on all rows with all the given labels (accuracy on the unlabelled rows), auto searches the grid as the collect
 * step does (the data sets are under its 4,000-row sample, so on all rows) and takes its pick, and the holdout
 * (--holdout 0.2) of three settings (HOLDOUT_JUDGED) gives its verdict, compared with the truth: the same setting
 * against softmax regression on the features scaled as it scales them, on every unlabelled row.
 * Prints the table and writes bench/results/quality.json. A benchmark, not a test: minutes of CPU.
 */

const ROOT = resolve(import.meta.dirname, '..');

interface SklearnDraw {
  fraction: string;
  draw: number;
  y: number[];
  sklearn: Record<string, number>;
}
interface SklearnDataset {
  name: string;
  X: number[][];
  y_true: number[];
  draws: SklearnDraw[];
}

interface DrawResult {
  dataset: string;
  fraction: string;
  draw: number;
  given: number;
  /** Accuracy on the unlabelled rows of every grid setting, in autoGrid order. */
  settings: number[];
  /** auto's pick; topScore: the accuracy of the best-Brier-score candidate (the ranking without the fallback). */
  auto: { setting: string; accuracy: number; bestCandidate: number; topScore: number; untied?: number };
  supervisedStandard: number;
  sklearn: Record<string, number>;
  /** The holdout of the default run, of label spreading standardised and of auto's pick (HOLDOUT_JUDGED). */
  holdouts: HoldoutResult[];
  /** auto's cross-validated candidates (accuracy, spread, Brier, paired Brier difference from the fallback), best first. */
  candidates?: {
    setting: string;
    score: number;
    spread: number;
    brier: number;
    versusFallback?: { difference: number; standardError: number };
    versusBest?: { difference: number; standardError: number };
    agreement?: number;
  }[];
}

interface HoldoutResult {
  setting: string;
  verdict: string;
  /** The method minus softmax regression on every unlabelled row, each trained on all the given labels. */
  truth: number;
  estimate?: number;
  low?: number;
  high?: number;
}

/** Whose holdout the benchmark judges, in DrawResult.holdouts order: these two settings, then auto's pick. */
const HOLDOUT_JUDGED = ['the default run (spreading, unscaled)', 'label spreading, standardised', "auto's pick"];
const HOLDOUT_SETTINGS = ['label-spreading k=10 alpha=0.2 scale=none', 'label-spreading k=10 alpha=0.2 scale=standard'];

/** The choice rule before ties at the top were broken by agreement: the best Brier score unless the fallback. */
function untiedChoice(search: AutoSearch): AutoSetting {
  const best = search.candidates[0];
  const fallback = search.candidates.find((c) => c.method === 'self-training' && c.scale === 'standard');
  if (fallback === undefined || best.versusFallback === undefined) return best;
  const { difference, standardError } = best.versusFallback;
  return difference > 0 && difference > AUTO_MARGIN * standardError ? best : fallback;
}

function settingName(s: AutoSetting): string {
  const k = s.neighbors === undefined ? '' : ` k=${s.neighbors}`;
  const alpha = s.alpha === undefined ? '' : ` alpha=${s.alpha}`;
  return `${s.method}${k}${alpha} scale=${s.scale}`;
}

function findPython(): string {
  const candidates = [process.env.PSEUDOLABEL_BENCH_PYTHON, join(ROOT, '.venv/bin/python'), '/work/venv-sk/bin/python'];
  for (const python of candidates.filter((p): p is string => p !== undefined)) {
    try {
      execFileSync(python, ['-c', 'import sklearn'], { stdio: 'ignore' });
      return python;
    } catch {}
  }
  throw new Error('the quality benchmark needs a Python with scikit-learn: set PSEUDOLABEL_BENCH_PYTHON');
}

function accuracyOnUnlabelled(predicted: Int32Array, y: Int32Array, truth: Int32Array): number {
  let right = 0;
  let count = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== UNLABELLED) continue;
    count++;
    if (predicted[i] === truth[i]) right++;
  }
  return right / count;
}

function rowsWhere(y: Int32Array, labelled: boolean): Int32Array {
  const rows: number[] = [];
  for (let i = 0; i < y.length; i++) if ((y[i] !== UNLABELLED) === labelled) rows.push(i);
  return Int32Array.from(rows);
}

async function evaluateDraw(
  dataset: SklearnDataset,
  X: FeatureMatrix,
  truth: Int32Array,
  k: number,
  draw: SklearnDraw,
): Promise<DrawResult> {
  const y = Int32Array.from(draw.y);
  const options = parseRunOptions({ method: 'auto', seed: draw.draw });
  const statistics = new FeatureStatistics(X.d, 'standard');
  statistics.add({ data: X.data, n: X.n });
  const standard = await statistics.finish(async () => {});
  const grid = autoGrid(false);
  const predictors = predictorsFor(grid, X, k, standard, options, undefined).map(
    (predict) => (trainingY: Int32Array) => labelsFromProbabilities(predict(trainingY), k),
  );
  const settings = predictors.map((predict) => accuracyOnUnlabelled(predict(y), y, truth));

  const search = searchGrid(X, y, k, standard, options);
  const chosen = search?.chosen ?? {
    method: 'label-spreading',
    scale: standard.spreadRatio > 10 ? 'standard' : 'none',
    neighbors: 10,
    alpha: 0.2,
  };
  const index = grid.findIndex((s) => settingName(s) === settingName(chosen as AutoSetting));

  // The supervised baseline and the holdout, on standardised features.
  const Z = { data: Float64Array.from(X.data), n: X.n, d: X.d };
  scaleInPlace(Z.data, Z.d, standard);
  const given = rowsWhere(y, true);
  const supervised = new SoftmaxRegression({ onWarning: () => {} })
    .fit(
      selectRows(Z, given),
      Int32Array.from(given, (i) => y[i]),
    )
    .predict(Z);
  const supervisedStandard = accuracyOnUnlabelled(supervised, y, truth);
  const supervisedUnscaled = accuracyOnUnlabelled(
    new SoftmaxRegression({ onWarning: () => {} })
      .fit(
        selectRows(X, given),
        Int32Array.from(given, (i) => y[i]),
      )
      .predict(X),
    y,
    truth,
  );
  // --holdout 0.2 as a run judges itself: the run's setting against softmax regression on the features scaled as the
  // run scales them; the truth is the same comparison on every unlabelled row, each trained on all given labels.
  const holdoutOf = (judged: number): HoldoutResult => {
    const scaled = grid[judged].scale === 'standard';
    const truthDifference = settings[judged] - (scaled ? supervisedStandard : supervisedUnscaled);
    try {
      checkHoldoutSize(y, 0.2, options.seed);
      const result = repeatedHoldout(scaled ? Z : X, y, 0.2, options.seed, predictors[judged], () => {});
      return {
        setting: settingName(grid[judged]),
        verdict: result.verdict,
        truth: truthDifference,
        estimate: result.difference.estimate,
        low: result.difference.low,
        high: result.difference.high,
      };
    } catch {
      return { setting: settingName(grid[judged]), verdict: 'refused', truth: truthDifference };
    }
  };
  const holdouts = [...HOLDOUT_SETTINGS.map((name) => grid.findIndex((s) => settingName(s) === name)), index].map(
    holdoutOf,
  );
  return {
    dataset: dataset.name,
    fraction: draw.fraction,
    draw: draw.draw,
    given: given.length,
    settings,
    auto: {
      setting: settingName(chosen as AutoSetting),
      accuracy: settings[index],
      bestCandidate: Math.max(...settings),
      topScore: search
        ? settings[grid.findIndex((s) => settingName(s) === settingName(search.candidates[0]))]
        : settings[index],
      // The rule before ties were broken by agreement (2ecc4af): the best Brier score against the fallback.
      ...(search
        ? { untied: settings[grid.findIndex((s) => settingName(s) === settingName(untiedChoice(search)))] }
        : {}),
    },
    supervisedStandard,
    sklearn: draw.sklearn,
    holdouts,
    ...(search
      ? {
          candidates: search.candidates.map((c) => ({
            setting: settingName(c),
            score: c.score,
            spread: c.spread,
            brier: c.brier,
            ...(c.versusFallback ? { versusFallback: c.versusFallback } : {}),
            ...(c.versusBest ? { versusBest: c.versusBest } : {}),
            agreement: c.agreement,
          })),
        }
      : {}),
  };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function table(results: DrawResult[]): string {
  const grid = autoGrid(false);
  const settingMeans = grid.map((_, s) => mean(results.map((r) => r.settings[s])));
  const bestFixed = settingMeans.indexOf(Math.max(...settingMeans));
  const named = (method: string, scale: string, k?: number, alpha?: number) =>
    grid.findIndex((s) => s.method === method && s.scale === scale && s.neighbors === k && s.alpha === alpha);
  const rows: [string, number][] = [
    [
      'label spreading (knn, k=10), unscaled (the default run)',
      settingMeans[named('label-spreading', 'none', 10, 0.2)],
    ],
    ['label spreading (knn, k=10), --scale standard', settingMeans[named('label-spreading', 'standard', 10, 0.2)]],
    ['label propagation (knn, k=10), unscaled', settingMeans[named('label-propagation', 'none', 10)]],
    ['label propagation (knn, k=10), --scale standard', settingMeans[named('label-propagation', 'standard', 10)]],
    ['self-training, unscaled', settingMeans[named('self-training', 'none')]],
    ['self-training, --scale standard', settingMeans[named('self-training', 'standard')]],
    [`best single fixed setting (${settingName(grid[bestFixed])})`, settingMeans[bestFixed]],
    ['`--method auto`', mean(results.map((r) => r.auto.accuracy))],
    ['auto by best Brier score alone (no fallback)', mean(results.map((r) => r.auto.topScore))],
    ...(results.every((r) => r.auto.untied !== undefined || !r.candidates)
      ? [
          [
            'auto without the agreement tie-break (best Brier score or the fallback, 2ecc4af)',
            mean(results.map((r) => r.auto.untied ?? r.auto.accuracy)),
          ] as [string, number],
        ]
      : []),
    ['best candidate of the grid per draw (oracle)', mean(results.map((r) => r.auto.bestCandidate))],
    [
      'softmax regression on the given labels alone, standardised (ours)',
      mean(results.map((r) => r.supervisedStandard)),
    ],
    [
      'scikit-learn LogisticRegression on the given labels alone, standardised',
      mean(results.map((r) => r.sklearn.lr_standard)),
    ],
    ['scikit-learn LogisticRegression on the given labels alone, unscaled', mean(results.map((r) => r.sklearn.lr))],
    ['scikit-learn LabelSpreading(knn, 10), standardised', mean(results.map((r) => r.sklearn.ls_knn_standard))],
    [
      'best scikit-learn semi-supervised setting per draw (oracle)',
      mean(results.map((r) => r.sklearn.best_sklearn_ss)),
    ],
  ];
  const gap = mean(results.map((r) => r.auto.bestCandidate - r.auto.accuracy));
  const lines = [
    `| ${results.length} draws (${[...new Set(results.map((r) => r.dataset))].join(', ')} x 3 fractions) | mean accuracy on unlabelled rows |`,
    '|---|---|',
    ...rows.map(([name, value]) => `| ${name} | ${pct(value)} |`),
    '',
    `auto: ${pct(mean(results.map((r) => r.auto.accuracy)))} against the best single fixed setting's ${pct(settingMeans[bestFixed])}; ` +
      `${(100 * gap).toFixed(2)} points below the best candidate per draw on average (worst ${(100 * Math.max(...results.map((r) => r.auto.bestCandidate - r.auto.accuracy))).toFixed(1)}; ` +
      `by data set ${[...new Set(results.map((r) => r.dataset))]
        .map((name) => {
          const group = results.filter((r) => r.dataset === name);
          return `${name} ${(100 * mean(group.map((r) => r.auto.bestCandidate - r.auto.accuracy))).toFixed(2)}`;
        })
        .join(
          ', ',
        )}); it takes the per-draw best in ${results.filter((r) => r.auto.accuracy >= r.auto.bestCandidate).length} of ${results.length}.`,
    '',
    holdoutTable(results),
  ];
  return lines.join('\n');
}

/** How often the holdout commits (helped / did not help) and, when it does, agrees with the sign of the truth. */
function holdoutTable(results: DrawResult[]): string {
  const lines = [
    '| --holdout 0.2 (10 splits) of | labels | draws | refused | cannot tell | committed | agrees with the truth |',
    '|---|---|---|---|---|---|---|',
  ];
  const count = (all: HoldoutResult[], label: string) => {
    const committed = all.filter((h) => h.verdict === 'helped' || h.verdict === 'did not help');
    const agrees = committed.filter((h) => (h.verdict === 'helped' ? h.truth > 0 : h.truth < 0)).length;
    const share = committed.length > 0 ? ` (${pct(agrees / committed.length)})` : '';
    lines.push(
      `| ${label} | ${all.length} | ${all.filter((h) => h.verdict === 'refused').length} | ` +
        `${all.filter((h) => h.verdict === 'cannot tell').length} | ${committed.length} | ${agrees}${share} |`,
    );
  };
  const fractions = [...new Set(results.map((r) => r.fraction))];
  HOLDOUT_JUDGED.forEach((name, j) => {
    for (const fraction of fractions) {
      count(
        results.filter((r) => r.fraction === fraction).map((r) => r.holdouts[j]),
        `${name} | ${fraction}`,
      );
    }
  });
  count(
    results.flatMap((r) => r.holdouts),
    'all three | all',
  );
  return lines.join('\n');
}

function perFraction(results: DrawResult[]): string {
  const lines = [
    "| data set | labels | default run | auto | best candidate | supervised (std.) | the default run's holdout |",
    '|---|---|---|---|---|---|---|',
  ];
  const grid = autoGrid(false);
  const base = grid.findIndex(
    (s) => s.method === 'label-spreading' && s.scale === 'none' && s.neighbors === 10 && s.alpha === 0.2,
  );
  for (const dataset of [...new Set(results.map((r) => r.dataset))]) {
    for (const fraction of [...new Set(results.map((r) => r.fraction))]) {
      const group = results.filter((r) => r.dataset === dataset && r.fraction === fraction);
      const verdicts = group.map((r) =>
        r.holdouts[0].verdict.replace('did not help', 'worse').replace('cannot tell', '?'),
      );
      lines.push(
        `| ${dataset} | ${fraction} (${Math.round(mean(group.map((r) => r.given)))}) | ${pct(mean(group.map((r) => r.settings[base])))} | ` +
          `${pct(mean(group.map((r) => r.auto.accuracy)))} | ${pct(mean(group.map((r) => r.auto.bestCandidate)))} | ` +
          `${pct(mean(group.map((r) => r.supervisedStandard)))} | ${verdicts.join(', ')} |`,
      );
    }
  }
  return lines.join('\n');
}

export async function qualityBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      suite: { type: 'string' },
      draws: { type: 'string', default: '5' },
      data: { type: 'string' },
      /** Fewer draws per fraction for some data sets, e.g. `digits:1` (digits' cross-validated self-training is slow). */
      cap: { type: 'string' },
      /** Tuning draws: label draws (and CV seeds) from this number on, disjoint from the benchmark's 0 to 4. */
      'first-draw': { type: 'string', default: '0' },
      datasets: { type: 'string', default: 'iris,wine,breast_cancer,digits' },
      /** Only these label fractions (as quality_sklearn.py names them, e.g. `0.2,5 per class`); default all. */
      fractions: { type: 'string' },
      /** Where the per-draw json goes (default bench/results/quality.json). */
      results: { type: 'string' },
      /** Only print the tables of per-draw json files written before (comma-separated; runs split up, merged). */
      from: { type: 'string' },
    },
    allowPositionals: true,
  });
  const draws = Number(values.draws);
  if (values.from !== undefined) {
    const results: DrawResult[] = [];
    for (const file of values.from.split(',')) {
      results.push(...(JSON.parse(await readFile(file, 'utf8')) as { results: DrawResult[] }).results);
    }
    process.stdout.write(`${table(results)}\n\n${perFraction(results)}\n`);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'pseudolabel-quality-'));
  try {
    let path = values.data;
    if (path === undefined) {
      path = join(dir, 'quality.json');
      process.stderr.write('scikit-learn: drawing labels and fitting the baselines (bench/quality_sklearn.py)\n');
      execFileSync(
        findPython(),
        [
          join(ROOT, 'bench/quality_sklearn.py'),
          '--out',
          path,
          '--draws',
          String(draws),
          '--first-draw',
          String(values['first-draw']),
          '--datasets',
          String(values.datasets),
        ],
        {
          stdio: ['ignore', 'inherit', 'inherit'],
          env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
        },
      );
    }
    const wanted = new Set(String(values.datasets).split(','));
    const datasets = (JSON.parse(await readFile(path, 'utf8')) as { datasets: SklearnDataset[] }).datasets.filter((d) =>
      wanted.has(d.name),
    );
    const caps = new Map(
      (values.cap ?? '')
        .split(',')
        .filter((item) => item.includes(':'))
        .map((item) => [item.split(':')[0], Number(item.split(':')[1])] as const),
    );
    const results: DrawResult[] = [];
    const first = Number(values['first-draw']);
    const RESULTS = resolve(
      values.results ?? join(ROOT, `bench/results/quality${first > 0 ? `-draws${first}` : ''}.json`),
    );
    await mkdir(dirname(RESULTS), { recursive: true });
    // Written after every draw: a long run stopped part way keeps what it measured.
    const save = () =>
      writeFile(RESULTS, `${JSON.stringify({ settings: autoGrid(false).map(settingName), results }, null, 1)}\n`);
    for (const dataset of datasets) {
      const n = dataset.X.length;
      const d = dataset.X[0].length;
      const X = { data: Float64Array.from(dataset.X.flat()), n, d };
      const truth = Int32Array.from(dataset.y_true);
      const k = new Set(dataset.y_true).size;
      const fractions = values.fractions?.split(',');
      const chosen = dataset.draws.filter(
        (d) =>
          d.draw >= first &&
          d.draw - first < (caps.get(dataset.name) ?? draws) &&
          (!fractions || fractions.includes(d.fraction)),
      );
      for (const draw of chosen) {
        const started = performance.now();
        results.push(await evaluateDraw(dataset, X, truth, k, draw));
        const last = results[results.length - 1];
        await save();
        process.stderr.write(
          `${dataset.name} ${draw.fraction} #${draw.draw}: auto ${last.auto.setting} ${pct(last.auto.accuracy)} ` +
            `(best ${pct(last.auto.bestCandidate)}), holdouts ${last.holdouts.map((h) => h.verdict).join(' / ')}, ${Math.round(performance.now() - started)} ms\n`,
        );
      }
    }
    const text = `${table(results)}\n\n${perFraction(results)}\n`;
    process.stdout.write(`\n${text}`);
    process.stderr.write(`wrote ${RESULTS}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
