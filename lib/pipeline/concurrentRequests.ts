/**
 * Store requests a task keeps in flight at once when it reads or writes many small objects (a neighbors task
 * reads its range's cells object of every shard, a gather task one partial list of every range): S3 answers each
 * GET in tens of milliseconds, so one at a time would make a task of thousands of objects wait minutes; 16 stays
 * well under S3's per-prefix rates.
 */
export const REQUESTS_AT_ONCE = 16;

/** fn over every item, at most `limit` at a time; the results in item order. */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  fn: (item: T, index: number) => Promise<R>,
  limit = REQUESTS_AT_ONCE,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i], i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
