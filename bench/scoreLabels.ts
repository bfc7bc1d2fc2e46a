/** Accuracy of labels.csv on the rows that were not given, against the truth (unreached rows count as wrong). */
export function scoreLabels(text: string, truth: Int32Array): { accuracy: number; scored: number; unreached: number } {
  let correct = 0;
  let scored = 0;
  let unreached = 0;
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const [id, label, , source] = line.split(',');
    if (source === 'given') continue;
    scored++;
    if (source === 'none') unreached++;
    if (label !== '' && Number(label) === truth[Number(id.slice(1))]) correct++;
  }
  return { accuracy: scored > 0 ? correct / scored : Number.NaN, scored, unreached };
}
