import { UNLABELLED } from '../../data/dataset.ts';
import { seededUniform } from '../../linalg/seededRandom.ts';

/**
 * Stratified folds over the given labels: each class's rows, shuffled with the seed, dealt round-robin into
 * the folds. A class with fewer labels than folds stays out of every validation fold (always trained on).
 */
export function stratifiedFolds(y: Int32Array, folds: number, seed: number): Int32Array {
  const fold = new Int32Array(y.length).fill(-1);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) if (y[i] !== UNLABELLED) byClass.set(y[i], [...(byClass.get(y[i]) ?? []), i]);
  const random = seededUniform(seed);
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = byClass.get(c)!;
    if (rows.length < folds) continue;
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    rows.forEach((row, r) => {
      fold[row] = r % folds;
    });
  }
  return fold;
}
