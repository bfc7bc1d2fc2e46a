import { mapConcurrently } from '../concurrentRequests.ts';
import { readIvfModel, readRangeCells } from '../neighbors/ivfObjects.ts';
import { partProbes, probesInRange } from '../neighbors/queryProbes.ts';
import { writeRoutedQueries } from '../neighbors/routedQueries.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * probes (shard task, approximate neighbours, after calibrate has fixed nprobe): routes the shard's rows as
 * queries to the cell ranges they probe, as a sharded IVF index does (the query goes to the cells, not the cells
 * to the query). It reads the shard's cells objects (its rows by range, with their kept nearest cells), finds each
 * row's probe list (partProbes: exactly the lists of one in-process search) and writes, for every range t, the
 * rows of other ranges that probe a cell of t: global index, those cells, vector (ranges/<t>/<s>/queries.bin,
 * once per (shard, range) pair, empty when none). A row's own range needs nothing: that range's task holds the
 * row. Memory: the shard's rows and their copies to the few ranges they probe (2-4 on clustered data); input: the
 * shard's cells objects, whatever n.
 */
export async function probesStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const { runId, shard } = task;
  const run = await readRun(ctx.store, runId);
  const collected = await readCollected(ctx, runId);
  const { model, cellSizes, ranges } = await readIvfModel(ctx, runId);
  const k = run.options.neighbors;
  const { d } = model;
  const { rows } = collected.shards[shard];
  const targets = Array.from({ length: ranges.count }, (_, t) => t);
  if (rows > 0) {
    // Each range's rows of the shard with their probe lists, then each target's rows of the other ranges.
    const parts = await mapConcurrently(targets, async (r) => {
      const part = await readRangeCells(ctx, runId, r, shard);
      const { width, probes } = partProbes(model, cellSizes, k, part);
      return { members: part.members, vectors: part.vectors, width, probes };
    });
    const routedTo = targets.map(() => [] as { part: number; rows: number[] }[]);
    const seen = new Uint8Array(ranges.count);
    parts.forEach(({ members, width, probes }, r) => {
      const byTarget = new Map<number, number[]>();
      for (let i = 0; i < members.length; i++) {
        for (let p = i * width; p < (i + 1) * width; p++) {
          const t = probes[p] >= 0 ? ranges.rangeOf[probes[p]] : r;
          if (t === r || seen[t] === 1) continue;
          seen[t] = 1;
          const list = byTarget.get(t) ?? [];
          list.push(i);
          byTarget.set(t, list);
        }
        for (let p = i * width; p < (i + 1) * width; p++) if (probes[p] >= 0) seen[ranges.rangeOf[probes[p]]] = 0;
      }
      for (const [t, list] of byTarget) routedTo[t].push({ part: r, rows: list });
    });
    await mapConcurrently(targets, async (t) => {
      const pieces = routedTo[t].map(({ part, rows: list }) => ({
        part: parts[part],
        rows: list,
        ...probesInRange(parts[part].probes, parts[part].width, list, t, ranges),
      }));
      const n = pieces.reduce((total, piece) => total + piece.rows.length, 0);
      const width = Math.max(1, ...pieces.map((piece) => piece.width));
      const members = new Int32Array(n);
      const probes = new Int32Array(n * width).fill(-1);
      const vectors = new Float32Array(n * d);
      let at = 0;
      for (const piece of pieces) {
        piece.rows.forEach((row, i) => {
          members[at] = piece.part.members[row];
          for (let j = 0; j < piece.width; j++) probes[at * width + j] = piece.probes[i * piece.width + j];
          vectors.set(piece.part.vectors.subarray(row * d, (row + 1) * d), at * d);
          at++;
        });
      }
      await writeRoutedQueries(ctx, runId, t, shard, { members, width, probes, vectors }, d);
    });
  }
  await completeShardTask(ctx, task, collected.shards.length, 'probed', {
    ms: Math.round(performance.now() - started),
    rows,
  });
}
