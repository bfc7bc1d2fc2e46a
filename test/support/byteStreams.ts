/** Test helpers: text or bytes as a stream of chunks, and draining row streams. */

/** The UTF-8 bytes of `text` as a stream, cut at the given byte positions (any order, any value). */
export async function* chunksOf(data: string | Uint8Array, cuts: readonly number[] = []): AsyncGenerator<Uint8Array> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(bytes.length, c))))].sort((a, b) => a - b);
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) yield bytes.slice(start, point);
    start = point;
  }
}

/** Collects an async iterable into an array. */
export async function drain<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Rows as plain objects (features as number arrays) for deep equality. */
export function plain<T extends object>(rows: readonly T[]): unknown[] {
  return rows.map((row) => {
    const copy: Record<string, unknown> = { ...(row as Record<string, unknown>) };
    if ('features' in row) copy.features = Array.from(row.features as ArrayLike<number>);
    return copy;
  });
}
