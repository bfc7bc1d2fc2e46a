import { availableParallelism } from 'node:os';
import type { BlobsOptions, ClassShape } from './gaussianBlobs.ts';

/** A positive number option (`--name`), or the fallback when it is absent. */
export function positive(name: string, text: string | undefined, fallback: number, integer = true): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    throw new RangeError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${text}`);
  }
  return value;
}

/** The options of the synthetic data and of its run, shared by the suites (`parseArgs` options). */
export const DATA_OPTIONS = {
  d: { type: 'string' },
  classes: { type: 'string' },
  labels: { type: 'string' },
  spread: { type: 'string' },
  shape: { type: 'string' },
  seed: { type: 'string' },
  neighbors: { type: 'string' },
  workers: { type: 'string' },
  'keep-data': { type: 'boolean', default: false },
} as const;

type DataValues = { [K in keyof typeof DATA_OPTIONS]?: K extends 'keep-data' ? boolean : string };

export interface DataSettings {
  readonly d: number;
  readonly classes: number;
  /** Fraction of the rows that keep their label. */
  readonly labels: number;
  readonly shape: ClassShape;
  readonly spread: number;
  readonly seed: number;
  readonly neighbors: number;
  readonly workers: number;
  readonly keepData: boolean;
}

/** DATA_OPTIONS' values checked, with the defaults: 64 features, 10 classes, 0.1% labels, k = 10. */
export function dataSettings(values: DataValues, defaultShape: ClassShape): DataSettings {
  const shapeText = values.shape ?? defaultShape;
  if (shapeText !== 'blobs' && shapeText !== 'mixture') throw new RangeError('--shape must be blobs or mixture');
  const shape: ClassShape = shapeText;
  const labels = positive('labels', values.labels, 0.001, false);
  if (labels >= 1) throw new RangeError(`--labels is a fraction of the rows, below 1; got ${labels}`);
  return {
    d: positive('d', values.d, 64),
    classes: positive('classes', values.classes, 10),
    labels,
    shape,
    spread: positive('spread', values.spread, shape === 'blobs' ? 0.7 : 2, false),
    seed: values.seed === undefined ? 0 : positive('seed', values.seed, 0),
    neighbors: positive('neighbors', values.neighbors, 10),
    workers: positive('workers', values.workers, availableParallelism()),
    keepData: values['keep-data'] ?? false,
  };
}

/** The data settings as writeBlobs' options for n rows. */
export function blobsOptions(settings: DataSettings, n: number): BlobsOptions {
  const { d, classes, labels, spread, shape, seed } = settings;
  return { n, d, classes, labelFraction: labels, spread, shape, seed };
}
