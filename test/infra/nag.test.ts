import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, Stack, Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { addPseudolabel } from '../../infra/pseudolabelApp.ts';
import { newApp } from './helpers.ts';

interface Violation {
  ruleName: string;
  violatingConstructs: { constructPath: string }[];
}

interface Report {
  pluginReports: { pluginName: string; violations: Violation[] }[];
}

/** Synthesizes the app (cdk-nag runs as a validation plugin during synth) and returns the validation report. */
function synthWithReport(app: App): { error?: Error; report: Report } {
  let error: Error | undefined;
  try {
    app.synth();
  } catch (e) {
    error = e as Error;
  }
  const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as Report;
  return { error, report };
}

/** `rule @ path` for every violation, so a failure names what to fix. */
function findings(report: Report): string[] {
  return report.pluginReports.flatMap((p) =>
    p.violations.flatMap((v) =>
      v.violatingConstructs.map((c) => `${p.pluginName}: ${v.ruleName} @ ${c.constructPath}`),
    ),
  );
}

/** Every acknowledgment recorded in the construct tree: rule id -> reasons. */
function acknowledgments(app: App): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const construct of app.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [qualifiedId, reason] of Object.entries(entry.data as Record<string, string>)) {
        // aws-cdk-lib records ids without a plugin namespace as `Annotation::<id>`; cdk-nag strips it again.
        const id = qualifiedId.replace(/^annotation::/i, '');
        result.set(id, [...(result.get(id) ?? []), reason]);
      }
    }
  }
  return result;
}

describe('cdk-nag AwsSolutions', () => {
  it('reports a violation for a non-compliant resource (the check itself works)', () => {
    // Prepare
    const app = newApp();
    const stack = new Stack(app, 'Control');
    new Queue(stack, 'PlainQueue', { enforceSSL: false });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act
    const { error, report } = synthWithReport(app);

    // Assess
    expect(error?.message).toMatch(/AwsSolutions-SQS4/);
    expect(findings(report)).toEqual(
      expect.arrayContaining([
        'AwsSolutions: AwsSolutions-SQS3 @ Control/PlainQueue/Resource',
        'AwsSolutions: AwsSolutions-SQS4 @ Control/PlainQueue/Resource',
      ]),
    );
  });

  it.each([
    ['AWS', {}],
    ['LocalStack', { localstack: 'true' }],
  ])('finds nothing unacknowledged in the %s deployment', (_mode, context) => {
    // Prepare: bundling is covered by stack.test.ts; skipping it here keeps the synth fast.
    const app = newApp({ ...context, datasets: 'alpha', 'aws:cdk:bundling-stacks': [] });
    addPseudolabel(app);

    // Act
    const { error, report } = synthWithReport(app);

    // Assess
    expect(findings(report)).toEqual([]);
    expect(error).toBeUndefined();
  });

  it('acknowledges only the expected rules, each with a reason', () => {
    // Prepare
    const app = newApp({ 'aws:cdk:bundling-stacks': [] });
    addPseudolabel(app);

    // Act
    const acks = acknowledgments(app);

    // Assess
    const ids = [...acks.keys()].map((id) => id.replace(/<DataBucket[A-Z0-9]+\.Arn>/, '<DataBucket.Arn>')).sort();
    expect(ids).toEqual([
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-IAM5[Resource::<DataBucket.Arn>/datasets/*]',
      'AwsSolutions-IAM5[Resource::<DataBucket.Arn>/incoming/*]',
      'AwsSolutions-IAM5[Resource::<DataBucket.Arn>/runs/*/run.json]',
      'AwsSolutions-IAM5[Resource::<DataBucket.Arn>/runs/*]',
      'AwsSolutions-L1',
      'AwsSolutions-S1',
    ]);
    // four pipeline functions, the dead-letter consumer, the deadline watch and CDK's notification handler
    expect(acks.get('AwsSolutions-L1')).toHaveLength(7);
    for (const [id, reasons] of acks) {
      for (const reason of reasons) expect(reason.length, id).toBeGreaterThan(40);
    }
  });
});
