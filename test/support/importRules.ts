/**
 * The import rules of docs/ARCHITECTURE.md ("Folders and import directions"), checked over the sources by
 * test/unit/importRules.test.ts: which area may import which, no cycle between areas, the AWS SDK only in
 * lib/adapters, and no development-only package at run time. Imports are found by a regular expression over
 * the import statements (static, `export ... from`, `import()`, `vi.mock()`) with comments and strings blanked
 * first; the TypeScript 7 compiler has no JavaScript API to ask instead.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** A source file: its path from the repository root (posix separators) and its text. */
export interface SourceFile {
  readonly path: string;
  readonly text: string;
}

/** One import of a file: the specifier as written, and whether it is erased at build (`import type`). */
export interface ImportRef {
  readonly specifier: string;
  readonly typeOnly: boolean;
  readonly line: number;
}

export interface ImportRules {
  /** Per area, the other areas its files may import (an area may always import itself). */
  readonly allowed: Readonly<Record<string, readonly string[]>>;
  /** Per package (a name, or a scope ending in '/'), the only areas that may import it; others may not. */
  readonly packageAreas: Readonly<Record<string, readonly string[]>>;
  /** Packages that are not runtime dependencies (devDependencies): never imported at run time by these areas. */
  readonly devPackages: readonly string[];
  readonly runtimeAreas: readonly string[];
}

export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** Below lib/, an area is a folder (lib/pipeline, with all its subfolders); lib's own files form `lib/*.ts`. */
export function areaOf(file: string): string {
  const parts = file.split('/');
  if (parts.length === 1) return '.';
  if (parts[0] !== 'lib') return parts[0];
  if (parts.length === 2) return file === 'lib/index.ts' ? 'lib/index.ts' : 'lib/*.ts';
  return `lib/${parts[1]}`;
}

/**
 * The rules of the repository. Read upwards: an area imports only areas below it, so no two areas import each
 * other. `lib/*.ts` are leaves (errors, package layout, resource names); lib/index.ts is the library's entry.
 */
const LIB_BASE = ['lib/*.ts'];
const LIB_CORE = [...LIB_BASE, 'lib/linalg', 'lib/data', 'lib/graph', 'lib/algorithms', 'lib/adapters', 'lib/report'];
const LIB_ALL = [...LIB_CORE, 'lib/pipeline', 'lib/hosts', 'lib/localstack', 'lib/api', 'lib/cli', 'lib/index.ts'];

export const REPOSITORY_RULES: ImportRules = {
  allowed: {
    'lib/*.ts': [],
    'lib/linalg': LIB_BASE,
    'lib/data': [...LIB_BASE, 'lib/linalg'],
    'lib/graph': [...LIB_BASE, 'lib/linalg', 'lib/data'],
    'lib/algorithms': [...LIB_BASE, 'lib/linalg', 'lib/data', 'lib/graph'],
    'lib/adapters': LIB_BASE,
    'lib/report': [...LIB_BASE, 'lib/data'],
    'lib/pipeline': LIB_CORE,
    'lib/hosts': [...LIB_CORE, 'lib/pipeline'],
    'lib/localstack': [...LIB_BASE, 'lib/adapters'],
    'lib/api': [...LIB_CORE, 'lib/pipeline', 'lib/hosts'],
    'lib/cli': [...LIB_CORE, 'lib/pipeline', 'lib/hosts', 'lib/localstack', 'lib/api'],
    'lib/index.ts': [...LIB_CORE, 'lib/pipeline', 'lib/hosts', 'lib/api'],
    // The Lambda entry points: the serverless host's handlers.
    functions: [...LIB_CORE, 'lib/pipeline', 'lib/hosts'],
    // The CDK app names the functions by their entry files (strings), and imports only shared constants.
    infra: [...LIB_BASE, 'lib/hosts'],
    bench: [...LIB_ALL, 'dist'],
    bin: [],
    scripts: [],
    test: [...LIB_ALL, 'functions', 'infra'],
    examples: [],
    '.': [],
  },
  packageAreas: {
    '@aws-sdk/': ['lib/adapters', 'test'],
    'sqs-consumer': ['lib/adapters'],
    // Lambda's event types and Powertools: the serverless host (its handlers) and the SQS event source adapter.
    'aws-lambda': ['lib/adapters', 'lib/hosts', 'functions', 'test'],
    '@aws-lambda-powertools/': ['lib/hosts', 'functions', 'test'],
    'aws-cdk-lib': ['infra', 'test'],
    constructs: ['infra', 'test'],
    'cdk-nag': ['infra', 'test'],
  },
  devPackages: [],
  runtimeAreas: LIB_ALL.concat('functions'),
};

/** Development dependencies that scripts/build.mjs copies into the bundles (its INLINED_PACKAGES): shipped. */
const INLINED_PACKAGES = ['vega', 'vega-lite'];

/** The repository's rules with package.json's devDependencies as the packages lib/ and functions/ may not load. */
export function repositoryRules(root: string): ImportRules {
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>;
  };
  const inlined = new Set(INLINED_PACKAGES);
  return {
    ...REPOSITORY_RULES,
    devPackages: Object.keys(manifest.devDependencies ?? {}).filter((p) => !inlined.has(p)),
  };
}

const SOURCE = /\.(ts|mts|cts|mjs|cjs|js)$/;
/** Folders that hold no sources of ours, when the tree is walked without git. */
const NOT_SOURCES = new Set(['node_modules', 'dist', '.git', '.state', 'cdk.out', 'out']);

/** Every file under `dir` (repository-relative), skipping NOT_SOURCES. */
function walk(root: string, dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const file = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) return NOT_SOURCES.has(entry.name) ? [] : walk(root, file);
    return entry.isFile() ? [file] : [];
  });
}

/**
 * The TypeScript and JavaScript sources of the repository: git's tracked and new unignored files, or, in a
 * tree without git, every file outside NOT_SOURCES.
 */
export function repositorySources(root: string): SourceFile[] {
  let listed: string[];
  try {
    listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).split('\n');
  } catch {
    listed = walk(root, '');
  }
  return [...new Set(listed)]
    .filter((file) => SOURCE.test(file) && !file.startsWith('test/fixtures/'))
    .flatMap((file) => {
      try {
        return [{ path: file, text: readFileSync(path.join(root, file), 'utf8') }];
      } catch {
        return []; // listed by the index but deleted in the working tree
      }
    });
}

/**
 * The text with comments blanked and the contents of string literals other than quoted ones kept, so that a
 * regular expression sees only code: `// from './x.ts'` in a comment is no import. Line breaks stay in place.
 */
function codeOnly(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c && !(c !== '`' && text[j] === '\n')) j += text[j] === '\\' ? 2 : 1;
      // Quoted strings stay (they hold the specifiers); template literals are blanked (no specifier is one).
      out += c === '`' ? `\`${text.slice(i + 1, j).replace(/[^\n]/g, ' ')}\`` : text.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const STATEMENT = /(?:^|[;}\n])\s*(import|export)(\s+type)?\b([^;'"]*?\bfrom\s*|\s*)(['"])([^'"\n]+)\4/g;
const CALL = /(?:\bimport|\bvi\.(?:mock|doMock|importActual))\s*\(\s*(['"])([^'"\n]+)\1/g;

/** The imports of a file's text, in order: static and re-exports, dynamic `import()`, and vitest module mocks. */
export function importsOf(text: string): ImportRef[] {
  const code = codeOnly(text);
  const lineAt = (index: number) => code.slice(0, index).split('\n').length;
  const found: { index: number; ref: ImportRef }[] = [];
  for (const match of code.matchAll(STATEMENT)) {
    const index = match.index + match[0].indexOf(match[1]);
    // `export const x = 'y'` has no `from`; only `export ... from '...'` names a module.
    if (match[1] === 'export' && !/\bfrom\s*$/.test(match[3])) continue;
    found.push({ index, ref: { specifier: match[5], typeOnly: match[2] !== undefined, line: lineAt(index) } });
  }
  for (const match of code.matchAll(CALL)) {
    found.push({ index: match.index, ref: { specifier: match[2], typeOnly: false, line: lineAt(match.index) } });
  }
  return found.sort((a, b) => a.index - b.index).map((entry) => entry.ref);
}

/** The package a bare specifier names (`@scope/name`, or `name`), or undefined for a path or a builtin. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Areas that import each other, directly or through others: each strongly connected set of two or more. */
export function areaCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (area: string) => {
    index.set(area, index.size);
    low.set(area, index.get(area)!);
    stack.push(area);
    onStack.add(area);
    for (const next of edges.get(area) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(area, Math.min(low.get(area)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(area, Math.min(low.get(area)!, index.get(next)!));
      }
    }
    if (low.get(area) === index.get(area)) {
      const members: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        members.push(member);
      } while (member !== area);
      if (members.length > 1) cycles.push(members.sort());
    }
  };
  for (const area of [...edges.keys()].sort()) if (!index.has(area)) visit(area);
  return cycles;
}

/** Every import of the files that breaks a rule, and every cycle between areas, with the file and line. */
export function checkImports(files: readonly SourceFile[], rules: ImportRules): Violation[] {
  const violations: Violation[] = [];
  const edges = new Map<string, Set<string>>();
  const firstEdge = new Map<string, Violation>();
  for (const file of files) {
    const from = areaOf(file.path);
    const allowed = rules.allowed[from];
    if (allowed === undefined) {
      violations.push({ file: file.path, line: 1, message: `area ${from} has no import rule (add it to the rules)` });
      continue;
    }
    for (const ref of importsOf(file.text)) {
      const where = { file: file.path, line: ref.line };
      const name = packageOf(ref.specifier);
      if (name !== undefined) {
        const owners = Object.entries(rules.packageAreas).find(([key]) =>
          key.endsWith('/') ? name.startsWith(key) : name === key,
        );
        if (owners && !owners[1].includes(from)) {
          violations.push({ ...where, message: `${from} imports ${name}, which only ${owners[1].join(', ')} may` });
        }
        if (!ref.typeOnly && rules.runtimeAreas.includes(from) && rules.devPackages.includes(name)) {
          violations.push({ ...where, message: `${from} loads ${name} at run time, a development dependency` });
        }
        continue;
      }
      if (!ref.specifier.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file.path), ref.specifier));
      const to = areaOf(target);
      if (to === from) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
      const edgeKey = `${from} -> ${to}`;
      if (!firstEdge.has(edgeKey)) firstEdge.set(edgeKey, { ...where, message: `${edgeKey} (${target})` });
      if (!allowed.includes(to)) {
        violations.push({ ...where, message: `${from} may not import ${to} (${target})` });
      }
    }
  }
  for (const cycle of areaCycles(edges)) {
    const members = new Set(cycle);
    const through = [...firstEdge.entries()]
      .filter(([key]) => key.split(' -> ').every((area) => members.has(area)))
      .map(([, edge]) => edge);
    violations.push({
      file: through[0].file,
      line: through[0].line,
      message: `areas import each other: ${cycle.join(', ')}; ${through.map((e) => `${e.message} at ${e.file}:${e.line}`).join('; ')}`,
    });
  }
  return violations;
}

/**
 * Imports from one lib/pipeline subfolder into another that close a cycle between them, each kept for the reason
 * given; pipelineFolderCycles fails on any other cycle, and on an entry no file needs any more (then remove it).
 * Setting these four aside leaves the folders in one order: shards, neighbors, incremental, outputs, propagation,
 * training, modelSelection, run, datasets, stages (each imports only folders before it).
 */
export const PIPELINE_FOLDER_CYCLES: Readonly<Record<string, string>> = {
  'incremental -> run':
    "run.json's record (run/runRecord.ts) holds an incremental run's plan and startRun orders the inputs by the base " +
    "version's index, while the incremental steps read and update run.json: breaking it means splitting the record " +
    'type from its reading and writing (imported by some 60 files).',
  'incremental -> datasets':
    'a published version keeps its version index (datasetVersions calls keepVersionIndex) and the index is found ' +
    "through the dataset's latest version (datasetKeys, readLatest): the dataset key layout would need a folder below both.",
  'outputs -> datasets':
    "report.json's type (outputs/runReport.ts) names the changes section datasets/versionChanges.ts computes, while " +
    'publishing a version reads the output parts and per-shard results: the row outcome and report types would have ' +
    'to leave outputs/ (used by some 30 files).',
  'outputs -> modelSelection':
    "report.json's type names the auto search and holdout sections, while modelSelection builds on training's " +
    'methods, which write the row outcome of outputs/rowOutcome.ts: the same move as above would break it.',
};

/** The subfolder of lib/pipeline a file is in (`run`, `shards`, ...); undefined for its root files and all others. */
export function pipelineFolderOf(file: string): string | undefined {
  const parts = file.split('/');
  return parts.length > 3 && parts[0] === 'lib' && parts[1] === 'pipeline' ? parts[2] : undefined;
}

/** One import from a lib/pipeline subfolder into another: where it is written and what it names. */
interface FolderImport {
  readonly file: string;
  readonly line: number;
  readonly target: string;
}

/**
 * Cycles between lib/pipeline's subfolders (a folder importing, directly or through others, one that imports
 * it), once the `allowed` folder imports (`'from -> to'`) are set aside: one violation per set of folders in a
 * cycle, naming one path around it with the file and line of each step. An allowed import that no file makes
 * any more is reported too, so the exceptions only shrink.
 */
export function pipelineFolderCycles(files: readonly SourceFile[], allowed: readonly string[]): Violation[] {
  const imports = new Map<string, FolderImport>();
  for (const file of files) {
    const from = pipelineFolderOf(file.path);
    if (from === undefined) continue;
    for (const ref of importsOf(file.text)) {
      if (!ref.specifier.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file.path), ref.specifier));
      const to = pipelineFolderOf(target);
      const key = `${from} -> ${to}`;
      if (to === undefined || to === from || imports.has(key)) continue;
      imports.set(key, { file: file.path, line: ref.line, target });
    }
  }
  const violations: Violation[] = allowed
    .filter((key) => !imports.has(key))
    .map((key) => ({
      file: 'lib/pipeline',
      line: 1,
      message: `allowed folder import ${key} is made by no file: remove it`,
    }));
  const edges = new Map<string, Set<string>>();
  for (const key of imports.keys()) {
    if (allowed.includes(key)) continue;
    const [from, to] = key.split(' -> ');
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from)!.add(to);
  }
  for (const members of areaCycles(edges)) {
    const steps = shortestCycle(members[0], edges, new Set(members)).map((to, i, way) => {
      const from = i === 0 ? members[0] : way[i - 1];
      return { to, ...imports.get(`${from} -> ${to}`)! };
    });
    violations.push({
      file: steps[0].file,
      line: steps[0].line,
      message: `lib/pipeline folders import in a cycle: ${[members[0], ...steps.map((step) => step.to)].join(' -> ')} (${steps
        .map((step) => `${step.file}:${step.line} imports ${step.target}`)
        .join('; ')})`,
    });
  }
  return violations;
}

/** The folders after `start` on a shortest way from it back to itself within `members` (breadth first). */
function shortestCycle(start: string, edges: ReadonlyMap<string, ReadonlySet<string>>, members: Set<string>): string[] {
  const cameFrom = new Map<string, string>();
  let frontier = [start];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const folder of frontier) {
      for (const to of [...(edges.get(folder) ?? [])].sort()) {
        if (!members.has(to) || cameFrom.has(to)) continue;
        cameFrom.set(to, folder);
        if (to === start) {
          const way = [start];
          for (let at = folder; at !== start; at = cameFrom.get(at)!) way.unshift(at);
          return way;
        }
        next.push(to);
      }
    }
    frontier = next;
  }
  return [];
}
