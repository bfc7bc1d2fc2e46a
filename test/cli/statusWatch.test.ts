import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import type { ObjectStore } from '../../lib/adapters/objectStore.ts';
import { watchRun } from '../../lib/cli/statusWatch.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import { removeTempDirs, repoPath, spawnCli, tempDir } from './cliHarness.ts';
import { killLiveClis, LiveCli } from './statusProcess.ts';
import { RunDriver } from './statusRunDriver.ts';

/**
 * `pseudolabel status --watch` follows a run to its end: runs the test moves forward in a store step by step,
 * and a real embedded `pseudolabel run` in a child process. Also `status` of an output folder.
 */

afterEach(killLiveClis);
afterAll(removeTempDirs);

/** Whether `expected` occurs in `lines` in this order (other lines may come between: polls see any step). */
function inOrder(lines: readonly string[], expected: readonly string[]): boolean {
  let next = 0;
  for (const line of lines) if (line === expected[next]) next++;
  return next === expected.length;
}

async function drivenRun(shards: number): Promise<{ dir: string; state: string; run: RunDriver }> {
  const dir = await tempDir();
  const state = join(dir, 'state');
  return { dir, state, run: new RunDriver(new FilesystemObjectStore(state), 'blobs-run-1', shards) };
}

describe('pseudolabel status --watch on a run moved forward step by step (no terminal)', () => {
  it('prints a line per change until the run succeeds, then the status, and exits 0', async () => {
    // Prepare
    const { dir, state, run } = await drivenRun(3);
    await run.stage('ingest');
    await run.markers('ingest', 0, 0, 1);

    // Act
    const watch = new LiveCli(['status', run.runId, '--store', state, '--watch', '--interval', '50'], dir);
    await watch.waitForLine('running: ingest 1/3 shards');
    await run.markers('ingest', 0, 1, 3);
    await watch.waitForLine('ingest 3/3 done');
    await run.stage('neighbors');
    await watch.waitForLine('running: neighbors 0/3 shards');
    await run.markers('neighbors', 0, 0, 3);
    await run.stage('propagate');
    await watch.waitForLine('running: propagate');
    await run.succeed(40, 3);
    const code = await watch.exited;

    // Assess
    expect(code).toBe(0);
    const lines = watch.stderrLines.map((line) => line.replace(/, [\d.]+ s$/, ''));
    expect(
      inOrder(lines, [
        'pseudolabel: watching blobs-run-1',
        'pseudolabel: running: ingest 1/3 shards',
        'pseudolabel: ingest 3/3 done',
        'pseudolabel: running: ingest 3/3 shards',
        'pseudolabel: running: neighbors 0/3 shards',
        'pseudolabel: neighbors 3/3 done',
        'pseudolabel: running: propagate',
        'pseudolabel: succeeded: finalize 3/3 shards',
      ]),
    ).toBe(true);
    expect(lines.at(-1)).toBe('pseudolabel: succeeded: finalize 3/3 shards');
    expect(new Set(lines).size).toBe(lines.length); // a line only when something changed
    expect(watch.stdout).toContain('status   succeeded\n');
    expect(watch.stdout).toContain('result   label-spreading labelled 37 of 40 rows (2 given, 0 rejected)\n');
    expect(watch.stdout).toContain(`output   ${join(state, 'runs/blobs-run-1/output/')}\n`);
  });

  it('exits 2 with the error line when the run fails', async () => {
    // Prepare
    const { dir, state, run } = await drivenRun(2);
    await run.stage('score', 2);

    // Act
    const watch = new LiveCli(['status', '--store', state, '--watch', '--interval', '50'], dir);
    await watch.waitForLine('running: score round 2 0/2 shards');
    await run.fail('no labels left to learn from');
    const code = await watch.exited;

    // Assess
    expect(code).toBe(2);
    expect(watch.stderrLines.at(-1)).toBe('pseudolabel: run blobs-run-1 failed: no labels left to learn from');
    expect(watch.stdout).toContain('status   failed\n');
    expect(watch.stdout).toContain('error    no labels left to learn from\n');
  });

  it('exits 1 when no run appears within --timeout', async () => {
    // Prepare
    const dir = await tempDir();

    // Act
    const result = await spawnCli(
      ['status', 'nope', '--store', join(dir, 'state'), '--watch', '--timeout', '1', '--interval', '100'],
      dir,
    );

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines).toEqual([
      `pseudolabel: waiting up to 1 s for run nope in ${join(dir, 'state')}`,
      `pseudolabel: no run nope in ${join(dir, 'state')} within 1 s`,
    ]);
  });

  it('waits for a run that does not exist yet (files just dropped), then follows it to its end', async () => {
    // Prepare
    const { dir, state, run } = await drivenRun(1);
    const watch = new LiveCli(['status', '--store', state, '--watch', '--interval', '50'], dir);
    await watch.waitForLine(`waiting up to 60 s for a run in ${state}`); // it polled an empty store, goes on

    // Act
    await run.stage('ingest');
    await watch.waitForLine('running: ingest 0/1 shards');
    await run.succeed(40, 3);
    const code = await watch.exited;

    // Assess
    expect(code).toBe(0);
    expect(watch.stdout).toContain('status   succeeded\n');
  });

  it('--dataset follows the latest run of that dataset, not a newer run of another', async () => {
    // Prepare
    const { dir, state, run } = await drivenRun(1);
    await run.fail('an older run of blobs');
    const other = new RunDriver(new FilesystemObjectStore(state), 'other-run', 1, 'other');
    await other.stage('ingest');

    // Act
    const result = await spawnCli(['status', '--store', state, '--dataset', 'blobs', '--json'], dir);

    // Assess
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ runId: 'blobs-run-1', dataset: 'blobs', status: 'failed' });
  });

  it('refuses an --interval that is not a positive number', async () => {
    // Act
    const result = await spawnCli(['status', '--watch', '--interval', '0'], await tempDir());

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--interval needs a positive number of milliseconds');
  });
});

/**
 * A terminal stand-in: cli-progress draws to it as to a TTY (on its own redraw timer); everything written is kept,
 * and `drawn(pattern)` resolves when what was written matches.
 */
class TerminalCapture extends Writable {
  readonly isTTY = true;
  readonly columns = 100;
  text = '';
  private readonly waiters: { pattern: RegExp; done: () => void }[] = [];

  drawn(pattern: RegExp): Promise<void> {
    if (pattern.test(this.text)) return Promise.resolve();
    return new Promise((done) => this.waiters.push({ pattern, done }));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    for (const waiter of this.waiters.filter((w) => w.pattern.test(this.text))) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.done();
    }
    done();
  }
}

/**
 * A store whose reads of one run's run.json (one per poll of watchRun) are counted, so a test waits for the
 * watcher's polls instead of sleeping. polls(n) resolves once n more polls have started: the poll before the
 * last has then ended, drawn what it saw.
 */
class PolledStore {
  readonly store: ObjectStore;
  private reads = 0;
  private readonly waiters: { at: number; done: () => void }[] = [];

  constructor(inner: ObjectStore, runId: string) {
    const runJson = keys.run(runId);
    this.store = new Proxy(inner, {
      get: (target, property) => {
        const value = Reflect.get(target, property, target);
        if (property !== 'get' || typeof value !== 'function')
          return typeof value === 'function' ? value.bind(target) : value;
        return (key: string, ...rest: unknown[]) => {
          if (key === runJson) this.counted();
          return value.call(target, key, ...rest);
        };
      },
    });
  }

  polls(n: number): Promise<void> {
    return new Promise((done) => this.waiters.push({ at: this.reads + n, done }));
  }

  private counted(): void {
    this.reads++;
    for (const waiter of this.waiters.filter((w) => w.at <= this.reads)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.done();
    }
  }
}

/** A pipe stand-in (not a terminal): the watcher writes a line per change to it. */
class LineCapture extends Writable {
  readonly isTTY = false;
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('watchRun on a pipe', () => {
  it('prints nothing on polls that see no change', async () => {
    // Prepare
    const { state, run } = await drivenRun(2);
    await run.stage('propagate');
    const polled = new PolledStore(new FilesystemObjectStore(state), run.runId);
    const pipe = new LineCapture();

    // Act: five polls of an unchanged run, then its end
    const watching = watchRun(polled.store, run.runId, {
      intervalMs: 5,
      stream: pipe as unknown as NodeJS.WriteStream,
    });
    await polled.polls(5);
    const afterPolls = pipe.text;
    await run.succeed(40, 2);
    const view = await watching;

    // Assess
    expect(view?.status).toBe('succeeded');
    expect(
      afterPolls
        .split('\n')
        .filter(Boolean)
        .map((line) => line.replace(/, [\d.]+ s$/, '')),
    ).toEqual(['pseudolabel: watching blobs-run-1', 'pseudolabel: running: propagate']);
  });
});

describe('watchRun on a terminal', () => {
  it('draws a bar per shard stage, shown complete once the run succeeded even when its markers are gone', async () => {
    // Prepare
    const { state, run } = await drivenRun(3);
    await run.stage('ingest');
    await run.markers('ingest', 0, 0, 3);
    const terminal = new TerminalCapture();

    // Act: each change is drawn before the next
    const watching = watchRun(new FilesystemObjectStore(state), run.runId, {
      intervalMs: 20,
      stream: terminal as unknown as NodeJS.WriteStream,
    });
    await terminal.drawn(/ ingest +\[█{40}\] 3\/3/);
    await run.stage('neighbors');
    await run.markers('neighbors', 0, 0, 1);
    await terminal.drawn(/ neighbors +\[█+░+\] 1\/3/);
    await rm(join(state, 'runs', run.runId, 'markers'), { recursive: true }); // as an embedded run does
    await run.succeed(40, 0);
    const view = await watching;

    // Assess
    expect(view?.status).toBe('succeeded');
    // cli-progress redraws only the lines that changed: look for each bar's last drawing.
    const text = terminal.text;
    expect(text.slice(text.lastIndexOf('succeeded: finalize'))).toMatch(/^succeeded: finalize 3\/3 shards, [\d.]+ s/);
    expect(text).toMatch(/ ingest +\[█{40}\] 3\/3/);
    expect(text.lastIndexOf('neighbors    [')).toBeGreaterThan(text.lastIndexOf(' 1/3'));
    expect(text.slice(text.lastIndexOf('neighbors    ['))).toMatch(/^neighbors +\[█{40}\] 3\/3/);
    expect(terminal.text).toMatch(/ neighbors +\[█+░+\] 1\/3/);
  });
});

describe('pseudolabel status on a real embedded run', () => {
  it('--watch follows `pseudolabel run` in another process to its end; then the output folder shows the run', async () => {
    // Prepare
    const dir = await tempDir();
    const runProcess = new LiveCli(['run', '--input', repoPath('examples/digits.csv'), '--out', 'out'], dir);
    const deadline = Date.now() + 30_000;
    let started = false;
    while (!started && Date.now() < deadline) {
      started = (await new FilesystemObjectStore(join(dir, '.pseudolabel')).list('runs/')).length > 0;
      await sleep(20);
    }

    // Act
    const watch = await spawnCli(['status', '--watch', '--interval', '100'], dir);
    const runCode = await runProcess.exited;
    const folder = await spawnCli(['status', 'out'], dir);
    await cp(join(dir, 'out'), join(dir, 'elsewhere', 'out'), { recursive: true });
    const alone = await spawnCli(['status', 'out', '--json'], join(dir, 'elsewhere'));

    // Assess
    expect(runCode).toBe(0);
    expect(watch.code).toBe(0);
    expect(watch.stderrLines[0]).toMatch(/^pseudolabel: watching .*digits\.csv-/);
    expect(watch.stderrLines.at(-1)).toMatch(/^pseudolabel: succeeded: finalize (\d+)\/\1 shards, [\d.]+ s$/);
    expect(watch.stdout).toContain('result   label-spreading labelled 1792 of 1797 rows (50 given, 0 rejected)\n');
    expect(folder.code).toBe(0);
    expect(folder.stdout).toContain('status   succeeded\n');
    expect(folder.stdout).toMatch(/\nelapsed {2}[\d.]+ s\n/);
    expect(folder.stdout).toContain(`output   ${join(dir, 'out')}\n`);
    expect(alone.code).toBe(0);
    expect(JSON.parse(alone.stdout)).toMatchObject({
      status: 'succeeded',
      output: join(dir, 'elsewhere', 'out'),
      result: { method: 'label-spreading', rows: 1797, given: 50, labelled: 1792, rejected: 0 },
    });
  });
});
