import { fileURLToPath } from 'node:url';
import { labelSpreading, run } from 'pseudolabel';

// Estimators on arrays, as scikit-learn's: -1 marks an unlabelled row.
const X = [
  [1.0, 1.1],
  [1.2, 0.9],
  [0.9, 1.0],
  [5.0, 5.2],
  [5.1, 4.9],
  [4.8, 5.0],
];
const y = [0, -1, -1, 1, -1, -1];
const model = labelSpreading({ kernel: 'knn', nNeighbors: 2 }).fit(X, y);
console.log('transduction', model.transduction.join(' '));
const near = [
  [1.1, 1.0],
  [4.9, 5.1],
];
console.log('predict', model.predict(near).join(' '));

// The pipeline on a file, as `pseudolabel run` runs it: writes out/ and resolves with report.json.
const input = fileURLToPath(new URL('./digits.csv', import.meta.url));
const report = await run({ input, out: 'out/', method: 'label-spreading', neighbors: 10 });
console.log(`${report.method} labelled ${report.n} rows of ${report.classes.length} classes`);
