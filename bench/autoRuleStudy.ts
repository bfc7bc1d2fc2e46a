import { readFile, writeFile } from 'node:fs/promises';
import { UNLABELLED } from '../lib/data/dataset.ts';
import { FeatureStatistics } from '../lib/data/featureScaling.ts';
import { autoGrid, predictorsOver, repeatsFor, scaledGraphs } from '../lib/pipeline/modelSelection/autoSearch.ts';
import { stratifiedFolds } from '../lib/pipeline/modelSelection/stratifiedFolds.ts';
import { parseRunOptions } from '../lib/pipeline/runOptions.ts';

/**
 * A study of auto's choice rule (issue 18), not a benchmark: for each label draw of bench/quality_sklearn.py's output,
 * every setting of auto's grid gives its class probabilities (rows normalised, 6 decimals) on the unlabelled rows
 * when trained on all given labels (the truth side), on the held-out labels of each repeat of stratified 3-fold
 * cross-validation (the seeds searchGrid uses) and, optionally, of leave-one-out. bench/auto_rule_study.py then
 * scores choice rules (accuracy / Brier / log-loss, margins, repeats, ensembles) offline against the truth.
 *
 *   node bin/run-ts.mjs bench/autoRuleStudy.ts quality.json out.json iris,wine [repeats|0 = repeatsFor] [loo 0|1]
 */

interface Draw {
  fraction: string;
  draw: number;
  y: number[];
}
interface Dataset {
  name: string;
  X: number[][];
  y_true: number[];
  draws: Draw[];
}

const [file, out, names, repeatsArg = '0', looArg = '0'] = process.argv.slice(2);
const wanted = new Set(names.split(','));
const data = JSON.parse(await readFile(file, 'utf8')) as { datasets: Dataset[] };
const results: unknown[] = [];

/** Rows normalised to sum 1 (a row of zeros stays zero: unreached), rounded to 6 decimals. */
function rounded(p: Float64Array, k: number): number[] {
  const o = new Array<number>(p.length);
  for (let i = 0; i < p.length; i += k) {
    let total = 0;
    for (let c = 0; c < k; c++) total += p[i + c];
    for (let c = 0; c < k; c++) o[i + c] = total > 0 ? Math.round((p[i + c] / total) * 1e6) / 1e6 : 0;
  }
  return o;
}

function rowsOf(p: Float64Array, rows: number[], k: number): Float64Array {
  const o = new Float64Array(rows.length * k);
  rows.forEach((i, q) => {
    o.set(p.subarray(i * k, i * k + k), q * k);
  });
  return o;
}

for (const dataset of data.datasets.filter((d) => wanted.has(d.name))) {
  const n = dataset.X.length;
  const d = dataset.X[0].length;
  const X = { data: Float64Array.from(dataset.X.flat()), n, d };
  const k = new Set(dataset.y_true).size;
  const statistics = new FeatureStatistics(d, 'standard');
  statistics.add({ data: X.data, n });
  const standard = await statistics.finish(async () => {});
  const grid = autoGrid(false);
  // The graphs once per data set (predictorsFor would build them again for every draw).
  const byScale = scaledGraphs(X, standard);
  for (const draw of dataset.draws) {
    const started = performance.now();
    const y = Int32Array.from(draw.y);
    const options = parseRunOptions({ method: 'auto', seed: draw.draw });
    const predictors = predictorsOver(grid, byScale, k, options, undefined);
    const unlabelled: number[] = [];
    const given: number[] = [];
    for (let i = 0; i < n; i++) (y[i] === UNLABELLED ? unlabelled : given).push(i);
    const full = predictors.map((predict) => rounded(rowsOf(predict(y), unlabelled, k), k));
    const first = stratifiedFolds(y, 3, options.seed);
    const validated = given.filter((i) => first[i] >= 0);
    const cv: number[][][] = [];
    if (validated.length >= 6) {
      const repeats = Number(repeatsArg) > 0 ? Number(repeatsArg) : repeatsFor(validated.length);
      for (let r = 0; r < repeats; r++) {
        const fold = r === 0 ? first : stratifiedFolds(y, 3, options.seed + r);
        const held = grid.map(() => new Float64Array(validated.length * k));
        for (let f = 0; f < 3; f++) {
          const trainingY = Int32Array.from(y, (label, i) => (fold[i] === f ? UNLABELLED : label));
          predictors.forEach((predict, s) => {
            const p = predict(trainingY);
            validated.forEach((i, q) => {
              if (fold[i] === f) held[s].set(p.subarray(i * k, i * k + k), q * k);
            });
          });
        }
        cv.push(held.map((p) => rounded(p, k)));
      }
    }
    // Leave-one-out over the given labels of classes with at least 2.
    const looRows: number[] = [];
    const loo: number[][] = [];
    if (looArg === '1') {
      const counts = new Map<number, number>();
      for (const i of given) counts.set(y[i], (counts.get(y[i]) ?? 0) + 1);
      for (const i of given) if ((counts.get(y[i]) ?? 0) >= 2) looRows.push(i);
      const held = grid.map(() => new Float64Array(looRows.length * k));
      looRows.forEach((i, q) => {
        const trainingY = Int32Array.from(y);
        trainingY[i] = UNLABELLED;
        predictors.forEach((predict, s) => {
          held[s].set(predict(trainingY).subarray(i * k, i * k + k), q * k);
        });
      });
      loo.push(...held.map((p) => rounded(p, k)));
    }
    results.push({
      dataset: dataset.name,
      fraction: draw.fraction,
      draw: draw.draw,
      k,
      n,
      given: given.length,
      spreadRatio: standard.spreadRatio,
      yTrueUnl: unlabelled.map((i) => dataset.y_true[i]),
      full,
      validated,
      yValidated: validated.map((i) => y[i]),
      cv,
      looRows,
      yLoo: looRows.map((i) => y[i]),
      loo,
    });
    await writeFile(out, JSON.stringify({ settings: grid, results }));
    process.stderr.write(
      `${dataset.name} ${draw.fraction} #${draw.draw} ${Math.round(performance.now() - started)} ms\n`,
    );
  }
}
