import { OptionsError } from '../../errors.ts';

/**
 * `--views`: the two feature views of co-training, by column name. As a flag, the two views separated by `;`,
 * each a comma-separated list of names or inclusive ranges `first:last` in column order
 * (`--views "alcohol:magnesium;phenols:proline"`); in pseudolabel.json also two arrays of such items.
 */
export type ViewsOption = string | readonly [readonly string[], readonly string[]];

/** The resolved views: column indices, and how report.json names them. */
export interface CoTrainingViews {
  readonly columns: [number[], number[]];
  readonly names: [string[], string[]];
  /** True when --views was not given: the first half of the columns and the rest. */
  readonly byDefault: boolean;
}

function viewItems(views: ViewsOption): [string[], string[]] {
  if (typeof views !== 'string') return [[...views[0]], [...views[1]]];
  const parts = views.split(';');
  if (parts.length !== 2) {
    throw new OptionsError(
      `--views needs two views separated by ";" (each a list of column names or first:last ranges), got "${views}"`,
    );
  }
  return [parts[0], parts[1]].map((part) =>
    part
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  ) as [string[], string[]];
}

function columnsOf(items: readonly string[], featureNames: readonly string[], view: string): number[] {
  const index = new Map(featureNames.map((name, j) => [name, j]));
  const find = (name: string) => {
    const j = index.get(name.trim());
    if (j === undefined) {
      throw new OptionsError(
        `--views: view ${view} names column "${name.trim()}", which is not a feature column (features: ${featureNames.slice(0, 8).join(', ')}${featureNames.length > 8 ? ', ...' : ''})`,
      );
    }
    return j;
  };
  const columns: number[] = [];
  for (const item of items) {
    const range = index.has(item) ? undefined : item.split(':');
    if (range === undefined || range.length !== 2) {
      columns.push(find(item));
      continue;
    }
    const [first, last] = range.map(find);
    if (last < first) throw new OptionsError(`--views: range "${item}" of view ${view} runs backwards`);
    for (let j = first; j <= last; j++) columns.push(j);
  }
  if (columns.length === 0) throw new OptionsError(`--views: view ${view} has no columns`);
  if (new Set(columns).size !== columns.length) throw new OptionsError(`--views: view ${view} repeats a column`);
  return columns;
}

/** Resolves --views against the feature columns; unset, the two halves (CoTraining's default). */
export function resolveViews(views: ViewsOption | undefined, featureNames: readonly string[]): CoTrainingViews {
  const d = featureNames.length;
  if (d < 2) {
    throw new OptionsError(
      `method co-training splits the feature columns into two views and needs at least 2, got ${d}: choose another --method`,
    );
  }
  let columns: [number[], number[]];
  if (views === undefined) {
    const half = Math.floor(d / 2);
    columns = [Array.from({ length: half }, (_, j) => j), Array.from({ length: d - half }, (_, j) => half + j)];
  } else {
    const [a, b] = viewItems(views);
    columns = [columnsOf(a, featureNames, 'A'), columnsOf(b, featureNames, 'B')];
  }
  return {
    columns,
    names: [columns[0].map((j) => featureNames[j]), columns[1].map((j) => featureNames[j])],
    byDefault: views === undefined,
  };
}
