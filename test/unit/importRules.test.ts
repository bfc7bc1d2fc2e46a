import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  areaCycles,
  checkImports,
  type ImportRules,
  importsOf,
  PIPELINE_FOLDER_CYCLES,
  pipelineFolderCycles,
  REPOSITORY_RULES,
  repositoryRules,
  repositorySources,
} from '../support/importRules.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the repository', () => {
  it('keeps the import rules of docs/ARCHITECTURE.md', () => {
    // Prepare
    const files = repositorySources(ROOT);

    // Act
    const violations = checkImports(files, repositoryRules(ROOT));

    // Assess: every file was read, and none breaks a rule
    expect(files.some((file) => file.path === 'lib/pipeline/executeTask.ts')).toBe(true);
    expect(violations).toEqual([]);
  });

  it('has no import cycle between lib/pipeline subfolders but the listed ones', () => {
    // Prepare
    const files = repositorySources(ROOT);

    // Act
    const violations = pipelineFolderCycles(files, Object.keys(PIPELINE_FOLDER_CYCLES));

    // Assess
    expect(violations).toEqual([]);
  });

  it('allows import directions that go one way only', () => {
    // Prepare
    const edges = new Map(Object.entries(REPOSITORY_RULES.allowed).map(([area, to]) => [area, new Set(to)]));

    // Act
    const cycles = areaCycles(edges);

    // Assess
    expect(cycles).toEqual([]);
  });
});

/** Rules of a tiny tree: lib/pipeline over lib/adapters, lib/cli over both; the SDK only in lib/adapters. */
const RULES: ImportRules = {
  allowed: {
    'lib/adapters': [],
    'lib/pipeline': ['lib/adapters'],
    'lib/cli': ['lib/adapters', 'lib/pipeline'],
    functions: ['lib/pipeline'],
  },
  packageAreas: { '@aws-sdk/': ['lib/adapters'] },
  devPackages: ['esbuild'],
  runtimeAreas: ['lib/adapters', 'lib/pipeline', 'lib/cli', 'functions'],
};

describe('checkImports on a fake tree', () => {
  it('accepts imports that follow the rules', () => {
    // Prepare
    const files = [
      { path: 'lib/adapters/store.ts', text: "import { S3Client } from '@aws-sdk/client-s3';\n" },
      { path: 'lib/pipeline/stages/plan.ts', text: "import { store } from '../../adapters/store.ts';\n" },
      {
        path: 'lib/cli/main.ts',
        text: "import type { Plugin } from 'esbuild';\nimport '../pipeline/stages/plan.ts';\n",
      },
    ];

    // Act
    const violations = checkImports(files, RULES);

    // Assess: a type-only import of a development package is erased, so allowed
    expect(violations).toEqual([]);
  });

  it('names the file and line of an import against the direction', () => {
    // Prepare
    const files = [
      { path: 'lib/adapters/store.ts', text: "// store\n\nimport { plan } from '../pipeline/stages/plan.ts';\n" },
      { path: 'lib/pipeline/stages/plan.ts', text: 'export const plan = 1;\n' },
    ];

    // Act
    const violations = checkImports(files, RULES);

    // Assess
    expect(violations).toEqual([
      {
        file: 'lib/adapters/store.ts',
        line: 3,
        message: 'lib/adapters may not import lib/pipeline (lib/pipeline/stages/plan.ts)',
      },
    ]);
  });

  it('finds a cycle between areas even where the rules would allow each import', () => {
    // Prepare: rules that wrongly allow both directions
    const loose: ImportRules = { ...RULES, allowed: { ...RULES.allowed, 'lib/adapters': ['lib/pipeline'] } };
    const files = [
      { path: 'lib/adapters/context.ts', text: "import type { Stage } from '../pipeline/stage.ts';\n" },
      { path: 'lib/pipeline/stage.ts', text: "export { store } from '../adapters/context.ts';\n" },
    ];

    // Act
    const violations = checkImports(files, loose);

    // Assess
    expect(violations).toHaveLength(1);
    expect(violations[0].message).toMatch(/^areas import each other: lib\/adapters, lib\/pipeline;/);
    expect(violations[0].message).toContain('lib/adapters -> lib/pipeline (lib/pipeline/stage.ts)');
    expect(violations[0].message).toContain('lib/pipeline -> lib/adapters (lib/adapters/context.ts)');
  });

  it('refuses the AWS SDK outside its area, lib importing functions, and a development package at run time', () => {
    // Prepare
    const files = [
      {
        path: 'lib/pipeline/run.ts',
        text: "import {\n  SQSClient,\n} from '@aws-sdk/client-sqs';\nconst { handler } = await import('../../functions/worker.ts');\n",
      },
      { path: 'functions/worker.ts', text: "import { build } from 'esbuild';\nexport const handler = build;\n" },
    ];

    // Act
    const messages = checkImports(files, RULES).map((v) => `${v.file}:${v.line} ${v.message}`);

    // Assess
    expect(messages).toEqual([
      'lib/pipeline/run.ts:1 lib/pipeline imports @aws-sdk/client-sqs, which only lib/adapters may',
      'lib/pipeline/run.ts:4 lib/pipeline may not import functions (functions/worker.ts)',
      'functions/worker.ts:1 functions loads esbuild at run time, a development dependency',
    ]);
  });

  it('asks for a rule for a folder it does not know', () => {
    // Prepare
    const files = [{ path: 'tools/gen.ts', text: "import '../lib/adapters/store.ts';\n" }];

    // Act
    const violations = checkImports(files, RULES);

    // Assess
    expect(violations.map((v) => v.message)).toEqual(['area tools has no import rule (add it to the rules)']);
  });
});

describe('pipelineFolderCycles on a fake tree', () => {
  const files = [
    { path: 'lib/pipeline/run/runRecord.ts', text: "import type { Plan } from '../shards/shardPlan.ts';\n" },
    { path: 'lib/pipeline/shards/shardPlan.ts', text: "import { keys } from '../keys.ts';\n" },
    {
      path: 'lib/pipeline/shards/inputReader.ts',
      text: "import { keys } from '../keys.ts';\n\nimport type { RunRecord } from '../run/runRecord.ts';\n",
    },
    { path: 'lib/pipeline/stages/plan.ts', text: "import '../run/runRecord.ts';\nimport '../shards/shardPlan.ts';\n" },
    { path: 'lib/pipeline/keys.ts', text: "import '../adapters/store.ts';\n" },
  ];

  it('names the path of a cycle between subfolders with the file and line of each step', () => {
    // Prepare: files above

    // Act
    const violations = pipelineFolderCycles(files, []);

    // Assess: the root files (keys.ts) and stages/, outside the cycle, are not in it
    expect(violations).toEqual([
      {
        file: 'lib/pipeline/run/runRecord.ts',
        line: 1,
        message:
          'lib/pipeline folders import in a cycle: run -> shards -> run (lib/pipeline/run/runRecord.ts:1 imports ' +
          'lib/pipeline/shards/shardPlan.ts; lib/pipeline/shards/inputReader.ts:3 imports lib/pipeline/run/runRecord.ts)',
      },
    ]);
  });

  it('sets an allowed folder import aside, and reports one that no file makes', () => {
    // Prepare: files above

    // Act
    const allowed = pipelineFolderCycles(files, ['shards -> run']);
    const stale = pipelineFolderCycles(files, ['shards -> run', 'stages -> neighbors']);

    // Assess
    expect(allowed).toEqual([]);
    expect(stale.map((v) => v.message)).toEqual([
      'allowed folder import stages -> neighbors is made by no file: remove it',
    ]);
  });
});

describe('importsOf', () => {
  it('reads static, re-exported, dynamic and mocked imports, and nothing in comments or strings', () => {
    // Prepare
    const text = [
      "import type { A } from './a.ts';",
      'import {',
      '  b,',
      "} from './b.ts';",
      "export { c } from './c.ts';",
      "export const d = 'from ./d.ts';",
      "// import { e } from './e.ts';",
      "/* export * from './f.ts'; */",
      "const g = await import('./g.ts');",
      "vi.mock('./h.ts', () => ({}));",
      "const text = `import { i } from './i.ts'`;",
      "import './j.ts';",
    ].join('\n');

    // Act
    const imports = importsOf(text);

    // Assess
    expect(imports).toEqual([
      { specifier: './a.ts', typeOnly: true, line: 1 },
      { specifier: './b.ts', typeOnly: false, line: 2 },
      { specifier: './c.ts', typeOnly: false, line: 5 },
      { specifier: './g.ts', typeOnly: false, line: 9 },
      { specifier: './h.ts', typeOnly: false, line: 10 },
      { specifier: './j.ts', typeOnly: false, line: 12 },
    ]);
  });
});
