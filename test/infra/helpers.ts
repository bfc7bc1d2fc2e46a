/** Shared set-up for the infra tests: an App with cdk.json's context, synthesized into a temporary directory. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll } from 'vitest';
import { readConfig } from '../../infra/config.ts';
import { PseudolabelStack } from '../../infra/stacks/pseudolabelStack.ts';

/** The context in cdk.json (feature flags and pseudolabel defaults), as `cdk synth` would see it. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'));
  return cdkJson.context;
}

const outdirs: string[] = [];

// Registered in the suite of each test file that imports this module: the cloud assemblies go when it ends.
afterAll(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An App with cdk.json's context plus overrides (as `-c key=value` would give, strings included). */
export function newApp(context: Record<string, unknown> = {}): App {
  const outdir = mkdtempSync(join(tmpdir(), 'pseudolabel-cdk-'));
  outdirs.push(outdir);
  return new App({ outdir, context: { ...cdkJsonContext(), ...context } });
}

export interface Synthesized {
  readonly app: App;
  readonly stack: PseudolabelStack;
  readonly template: Template;
}

/** Builds the stack from context, as infra/bin/app.ts does, without the cdk-nag plugin (see nag.test.ts). */
export function synthStack(context: Record<string, unknown> = {}): Synthesized {
  const app = newApp(context);
  const config = readConfig(app.node);
  const stack = new PseudolabelStack(app, config.stackName, { config });
  return { app, stack, template: Template.fromStack(stack) };
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] }>;

export function resources(template: Template): Resources {
  return template.toJSON().Resources as Resources;
}

/** Logical ids of the resources of one type, in template order. */
export function logicalIdsOf(template: Template, type: string): string[] {
  return Object.entries(resources(template))
    .filter(([, r]) => r.Type === type)
    .map(([id]) => id);
}

/** The one logical id of a type whose id starts with a prefix (construct path without separators). */
export function logicalIdOf(template: Template, type: string, prefix: string): string {
  const ids = logicalIdsOf(template, type).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ')}`);
  return ids[0];
}

/** A CloudFormation value as a flat string: `{Fn::GetAtt:[X,Arn]}` -> `<X.Arn>`, `{Ref:X}` -> `<X>`, joins joined. */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('Fn::GetAtt' in v) {
      const [id, attr] = v['Fn::GetAtt'] as [string, string];
      return `<${id}.${attr}>`;
    }
    if ('Ref' in v) return `<${v.Ref}>`;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(sep);
    }
  }
  return JSON.stringify(value);
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Every Allow of a role's policies as `resource -> sorted actions` (resources flattened), for exact comparison.
 * Covers inline policies of the role and AWS::IAM::Policy resources attached to it.
 */
export function allowedActionsByResource(template: Template, roleLogicalId: string): Record<string, string[]> {
  const result: Record<string, Set<string>> = {};
  for (const r of Object.values(resources(template))) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const roles = asArray(r.Properties?.Roles as unknown[]).map(flatten);
    if (!roles.includes(`<${roleLogicalId}>`)) continue;
    const doc = r.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] };
    for (const statement of doc.Statement) {
      if (statement.Effect !== 'Allow') continue;
      for (const resource of asArray(statement.Resource).map(flatten)) {
        result[resource] ??= new Set();
        for (const action of asArray(statement.Action as string | string[])) result[resource].add(action);
      }
    }
  }
  return Object.fromEntries(Object.entries(result).map(([k, v]) => [k, [...v].sort()]));
}
