import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** What the suites share in measuring and recording: rounding, the commit and machine, tables, the truth. */

const ROOT = resolve(import.meta.dirname, '..');

export const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The commit measured (`<short hash>`, `+dirty` when the working tree has changes), or null outside git. */
export function gitDescription(): string | null {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit}+dirty` : commit;
  } catch {
    return null;
  }
}

/** The machine a result was measured on. */
export function machineDescription() {
  return {
    cpus: cpus().length,
    availableParallelism: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? null,
    totalMemoryMb: Math.round(totalmem() / 2 ** 20),
    node: process.version,
  };
}

/**
 * Writes a result as JSON, formatted as the repository's formatter wants, so that it can be committed as it is
 * (lint checks bench/).
 */
export async function writeMeasured(path: string, results: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
  try {
    execFileSync(join(ROOT, 'node_modules/.bin/biome'), ['format', '--write', path], { stdio: 'ignore' });
  } catch {}
}

/** Prints rows as a table: the first column left-aligned, the others right-aligned; null and undefined as `-`. */
export function printTable(rows: (string | number | null | undefined)[][]): void {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell))));
  const widths = cells[0].map((_, j) => Math.max(...cells.map((row) => row[j].length)));
  for (const row of cells) {
    process.stdout.write(
      `${row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ')}\n`,
    );
  }
}

/** The true classes of n rows from a truth CSV written by writeBlobs (`id,label` with ids `r<row>`). */
export async function readTruth(truthPath: string, n: number): Promise<Int32Array> {
  const truth = new Int32Array(n);
  const lines = (await readFile(truthPath, 'utf8')).split('\n');
  for (let i = 1; i < lines.length; i++) {
    const [id, label] = lines[i].split(',');
    if (id) truth[Number(id.slice(1))] = Number(label);
  }
  return truth;
}
