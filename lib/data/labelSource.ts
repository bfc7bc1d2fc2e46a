/**
 * Where a row's label came from (labels.csv `source`), in the order of a row outcome's source codes
 * (lib/pipeline/outputs/rowOutcome.ts SOURCE) and of report.html's legends. labels.csv of `pseudolabel
 * predict` says `predicted` (lib/data/labelsWriter.ts).
 */
export const SOURCES = ['given', 'propagated', 'pseudo', 'none', 'carried', 'confirmed'] as const;
export type Source = (typeof SOURCES)[number];
