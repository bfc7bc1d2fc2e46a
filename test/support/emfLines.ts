import { vi } from 'vitest';

/** An Embedded Metric Format line (CloudWatch reads metrics from such JSON log lines). */
export interface Emf {
  _aws: {
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
  };
  [key: string]: unknown;
}

/** Captures what is written to stdout while `act` runs, and returns its EMF lines (JSON objects with `_aws`). */
export async function emfLinesOf(act: () => Promise<unknown> | unknown): Promise<Emf[]> {
  const written: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    await act();
  } finally {
    vi.restoreAllMocks();
  }
  return written
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Emf)
    .filter((line) => line._aws !== undefined);
}
