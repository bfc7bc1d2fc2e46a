import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalstackInstallError, LocalstackStartError, PythonNotFoundError } from './errors.ts';
import { LOCALSTACK_IMAGE, LOCALSTACK_VERSION, type LocalstackConfig } from './localstackConfig.ts';

/** Exact versions of LocalStack's Python dependencies that are known to start (see the file's header). */
export const CONSTRAINTS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'constraints.txt');
/** Name of the container `up` creates when it runs LocalStack under Docker. */
export const CONTAINER_NAME = 'pseudolabel-localstack';

/** What the pid file records about a LocalStack this project started. */
export type StartedLocalstack =
  | { readonly mode: 'host'; readonly pid: number; readonly endpoint: string; readonly startedAt: string }
  | { readonly mode: 'docker'; readonly container: string; readonly endpoint: string; readonly startedAt: string };

/** Where LocalStack keeps its venv, pid file, logs and filesystem root (under `config.stateDir`, venv aside). */
export function localstackPaths(config: LocalstackConfig) {
  const venv = config.venvDir;
  return {
    venv,
    venvPython: path.join(venv, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python'),
    venvMarker: path.join(venv, '.pseudolabel-localstack'),
    pidFile: path.join(config.stateDir, 'localstack.pid'),
    logs: path.join(config.stateDir, 'logs'),
    log: path.join(config.stateDir, 'logs', 'localstack.log'),
    installLog: path.join(config.stateDir, 'logs', 'install.log'),
    filesystemRoot: path.join(config.stateDir, 'filesystem'),
  };
}

/** Answer of GET /_localstack/health. */
export interface LocalstackHealth {
  readonly version?: string;
  readonly services?: Record<string, string>;
}

/** The health document, or undefined when nothing (healthy) answers at the endpoint. */
export async function fetchHealth(endpoint: string, timeoutMs = 2000): Promise<LocalstackHealth | undefined> {
  try {
    const response = await fetch(`${endpoint}/_localstack/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    return (await response.json()) as LocalstackHealth;
  } catch {
    return undefined;
  }
}

/**
 * A Python 3.13 interpreter: PSEUDOLABEL_PYTHON, else `python3.13` on PATH, else pyenv's
 * `$PYENV_ROOT/versions/3.13.x/bin/python3.13` (newest first), else `python3` if it is 3.13.
 */
export function findPython(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PSEUDOLABEL_PYTHON) {
    if (pythonVersion(env.PSEUDOLABEL_PYTHON) === '3.13') return env.PSEUDOLABEL_PYTHON;
    throw new PythonNotFoundError([`PSEUDOLABEL_PYTHON=${env.PSEUDOLABEL_PYTHON} (not a working Python 3.13)`]);
  }
  const pyenvRoot = env.PYENV_ROOT ?? path.join(homedir(), '.pyenv');
  const pyenvVersions = path.join(pyenvRoot, 'versions');
  const fromPyenv = existsSync(pyenvVersions)
    ? readdirSync(pyenvVersions)
        .filter((name) => /^3\.13(\.\d+)?$/.test(name))
        .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }))
        .map((name) => path.join(pyenvVersions, name, 'bin', 'python3.13'))
    : [];
  const candidates = ['python3.13', ...fromPyenv, 'python3'];
  for (const candidate of candidates) {
    if (pythonVersion(candidate) === '3.13') return candidate;
  }
  throw new PythonNotFoundError(candidates);
}

function pythonVersion(executable: string): string | undefined {
  const result = spawnSync(executable, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * The venv's Python, after making sure it has `localstack-core[runtime]==4.14.0` with the pinned constraints:
 * creates `<stateDir>/venv` on first use and reinstalls when the constraints file changes (a marker file in
 * the venv records the version and the constraints' hash). Output goes to `<stateDir>/logs/install.log`.
 */
export async function ensureVenv(config: LocalstackConfig, log: (line: string) => void = () => {}): Promise<string> {
  const paths = localstackPaths(config);
  const wanted = `${LOCALSTACK_VERSION}\n${createHash('sha256').update(readFileSync(CONSTRAINTS_FILE)).digest('hex')}\n`;
  if (existsSync(paths.venvPython) && (await readFile(paths.venvMarker, 'utf8').catch(() => '')) === wanted) {
    return paths.venvPython;
  }
  await mkdir(paths.logs, { recursive: true });
  await writeFile(paths.installLog, '');
  if (!existsSync(paths.venvPython)) {
    const python = findPython();
    log(`creating ${paths.venv} with ${python}`);
    await runLogged(python, ['-m', 'venv', paths.venv], paths.installLog, 'python -m venv');
  }
  log(`installing localstack-core[runtime]==${LOCALSTACK_VERSION} into ${paths.venv} (first time: about a minute)`);
  await runLogged(
    paths.venvPython,
    [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--constraint',
      CONSTRAINTS_FILE,
      `localstack-core[runtime]==${LOCALSTACK_VERSION}`,
    ],
    paths.installLog,
    'pip install localstack-core',
  );
  await writeFile(paths.venvMarker, wanted);
  return paths.venvPython;
}

async function runLogged(command: string, args: string[], logFile: string, step: string): Promise<void> {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', resolve);
    });
    if (code !== 0) throw new LocalstackInstallError(`${step} (exit ${code})`, tail(logFile, 30));
  } finally {
    closeSync(fd);
  }
}

/** True when `docker info` succeeds, i.e. a Docker engine answers. */
export function dockerAvailable(): boolean {
  const result = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 15_000 });
  return result.status === 0;
}

/** Environment for LocalStack on the host: offline, loopback only, state inside the project (DESIGN section 7). */
export function hostEnvironment(config: LocalstackConfig, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const paths = localstackPaths(config);
  const listen = listenAddress(config.endpoint);
  return {
    ...base,
    OVERRIDE_IN_DOCKER: '0',
    GATEWAY_LISTEN: listen,
    LOCALSTACK_HOST: listen,
    SQS_ENDPOINT_STRATEGY: 'path',
    DNS_ADDRESS: '0',
    DISABLE_EVENTS: '1',
    SKIP_SSL_CERT_DOWNLOAD: '1',
    API_ENDPOINT: 'http://127.0.0.1:9',
    FILESYSTEM_ROOT: paths.filesystemRoot,
    PYTHONUNBUFFERED: '1',
  };
}

/** `host:port` of the endpoint, `localhost` written as 127.0.0.1 (LocalStack binds exactly that address). */
export function listenAddress(endpoint: string): string {
  const url = new URL(endpoint);
  const host = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname;
  return `${host}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

export interface StartOptions {
  /** 'auto' (default): Docker when `docker info` works, else the host venv. Env PSEUDOLABEL_LOCALSTACK_MODE. */
  readonly mode?: 'auto' | 'host' | 'docker';
  /** How long to wait for /_localstack/health. Default 180 s. */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

/**
 * Starts LocalStack detached (it outlives this process), records it in the pid file and waits until
 * /_localstack/health answers. Throws LocalstackStartError with the log's tail if it exits or times out.
 */
export async function startLocalstack(
  config: LocalstackConfig,
  options: StartOptions = {},
): Promise<StartedLocalstack> {
  const log = options.log ?? (() => {});
  const timeoutMs = options.timeoutMs ?? 180_000;
  const paths = localstackPaths(config);
  const requested = options.mode ?? process.env.PSEUDOLABEL_LOCALSTACK_MODE ?? 'auto';
  if (requested !== 'auto' && requested !== 'host' && requested !== 'docker') {
    throw new RangeError(`LocalStack mode must be auto, host or docker: ${requested}`);
  }
  const mode = requested === 'auto' ? (dockerAvailable() ? 'docker' : 'host') : requested;
  await mkdir(paths.logs, { recursive: true });

  if (mode === 'docker') {
    const listen = listenAddress(config.endpoint);
    const port = listen.slice(listen.lastIndexOf(':') + 1);
    log(`starting ${LOCALSTACK_IMAGE} as container ${CONTAINER_NAME}`);
    const args = ['run', '-d', '--name', CONTAINER_NAME, '-p', `${listen}:4566`];
    for (const [key, value] of Object.entries({
      SQS_ENDPOINT_STRATEGY: 'path',
      LOCALSTACK_HOST: `127.0.0.1:${port}`,
      DISABLE_EVENTS: '1',
    })) {
      args.push('-e', `${key}=${value}`);
    }
    const run = spawnSync('docker', [...args, LOCALSTACK_IMAGE], { encoding: 'utf8', timeout: 600_000 });
    if (run.status !== 0) {
      throw new LocalstackStartError(`docker run exited ${run.status}`, 'docker run', `${run.stdout}${run.stderr}`);
    }
    const started: StartedLocalstack = {
      mode: 'docker',
      container: CONTAINER_NAME,
      endpoint: config.endpoint,
      startedAt: new Date().toISOString(),
    };
    await writeFile(paths.pidFile, `${JSON.stringify(started)}\n`);
    await waitHealthy(config.endpoint, timeoutMs, () => dockerLogs(), 'docker logs');
    return started;
  }

  const python = await ensureVenv(config, log);
  await mkdir(paths.filesystemRoot, { recursive: true });
  // LocalStack does not exit when its port is taken (it logs CannotListenError and says Ready): check first.
  const listen = listenAddress(config.endpoint);
  if (!(await portFree(listen))) {
    throw new LocalstackStartError(
      `${listen} is in use by something that does not answer /_localstack/health`,
      paths.log,
      '',
    );
  }
  log(`starting LocalStack ${LOCALSTACK_VERSION} on the host at ${config.endpoint} (log: ${paths.log})`);
  const fd = openSync(paths.log, 'w');
  let child: ChildProcess;
  try {
    child = spawn(python, ['-m', 'localstack.runtime.main'], {
      cwd: config.stateDir,
      env: hostEnvironment(config),
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  let exit: string | undefined;
  child.on('exit', (code, signal) => {
    exit = `it exited with ${signal ?? `code ${code}`}`;
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  child.unref();
  const started: StartedLocalstack = {
    mode: 'host',
    pid: child.pid!,
    endpoint: config.endpoint,
    startedAt: new Date().toISOString(),
  };
  await writeFile(paths.pidFile, `${JSON.stringify(started)}\n`);
  try {
    await waitHealthy(
      config.endpoint,
      timeoutMs,
      () => tail(paths.log, 40),
      paths.log,
      () => exit,
    );
  } catch (error) {
    await stopLocalstack(config);
    throw error;
  }
  return started;
}

async function waitHealthy(
  endpoint: string,
  timeoutMs: number,
  logTail: () => string,
  logName: string,
  exited: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await fetchHealth(endpoint)) !== undefined) return;
    const gone = exited();
    if (gone !== undefined) throw new LocalstackStartError(gone, logName, logTail());
    const recent = logTail();
    if (recent.includes('CannotListenError')) throw new LocalstackStartError('it could not listen', logName, recent);
    if (Date.now() > deadline) {
      throw new LocalstackStartError(
        `no answer from ${endpoint}/_localstack/health after ${timeoutMs} ms`,
        logName,
        logTail(),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** True when nothing listens on `host:port` (we can bind it ourselves). */
function portFree(listen: string): Promise<boolean> {
  const colon = listen.lastIndexOf(':');
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(Number(listen.slice(colon + 1)), listen.slice(0, colon), () => server.close(() => resolve(true)));
  });
}

/** The pid file's record, or undefined when this project has not started a LocalStack (or it is gone). */
export async function readStarted(config: LocalstackConfig): Promise<StartedLocalstack | undefined> {
  try {
    return JSON.parse(await readFile(localstackPaths(config).pidFile, 'utf8')) as StartedLocalstack;
  } catch {
    return undefined;
  }
}

/** True if the recorded LocalStack is still running (for host mode: the pid is a LocalStack runtime). */
export function isRunning(started: StartedLocalstack): boolean {
  if (started.mode === 'docker') {
    const inspect = spawnSync('docker', ['inspect', '-f', '{{.State.Running}}', started.container], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    return inspect.status === 0 && inspect.stdout.trim() === 'true';
  }
  return isLocalstackPid(started.pid);
}

function isLocalstackPid(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // Guard against a recycled pid: the command line must be LocalStack's runtime.
  let commandLine = '';
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    commandLine = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).stdout ?? '';
  }
  return commandLine.includes('localstack.runtime.main');
}

/**
 * Stops the LocalStack recorded in the pid file (and nothing else): SIGTERM to its process group, SIGKILL after
 * 30 s; or `docker rm -f` of the container it created. Returns what it did, or undefined if nothing was recorded.
 */
export async function stopLocalstack(config: LocalstackConfig): Promise<StartedLocalstack | undefined> {
  const started = await readStarted(config);
  if (started === undefined) return undefined;
  if (started.mode === 'docker') {
    spawnSync('docker', ['rm', '-f', started.container], { stdio: 'ignore', timeout: 60_000 });
  } else if (isLocalstackPid(started.pid)) {
    signalGroup(started.pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (isAlive(started.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    if (isAlive(started.pid)) signalGroup(started.pid, 'SIGKILL');
  }
  await rm(localstackPaths(config).pidFile, { force: true });
  return started;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal); // started detached: it leads its own process group
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function dockerLogs(): string {
  const result = spawnSync('docker', ['logs', '--tail', '40', CONTAINER_NAME], { encoding: 'utf8', timeout: 15_000 });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`;
}

/** The last `lines` lines of a file ('' if unreadable). */
export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
