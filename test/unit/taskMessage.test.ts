import { describe, expect, it } from 'vitest';
import {
  InvalidMessageError,
  parseTaskMessage,
  SHARD_STAGES,
  STAGES,
  taskMessage,
} from '../../lib/pipeline/taskMessage.ts';

function reasonOf(body: unknown): string {
  try {
    parseTaskMessage(body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect((error as Error).message).toBe(`invalid task message: ${(error as InvalidMessageError).reason}`);
    expect((error as Error).name).toBe('InvalidMessageError');
    return (error as InvalidMessageError).reason;
  }
  throw new Error('expected parseTaskMessage to throw');
}

const valid = { v: 1, runId: 'ds-20250101T000000Z-abc123', stage: 'neighbors', round: 2, shard: 7 };

describe('parseTaskMessage', () => {
  it('accepts a valid message as a JSON string', () => {
    // Act
    const message = parseTaskMessage(JSON.stringify(valid));

    // Assess
    expect(message).toEqual(valid);
  });

  it('accepts an already parsed value', () => {
    // Act
    const message = parseTaskMessage({ ...valid, stage: 'finalize', round: 0, shard: 0 });

    // Assess
    expect(message).toEqual({ ...valid, stage: 'finalize', round: 0, shard: 0 });
  });

  it('accepts every stage', () => {
    // Act
    const parsed = STAGES.map((stage) => parseTaskMessage({ ...valid, stage }).stage);

    // Assess
    expect(parsed).toEqual([...STAGES]);
  });

  it('rejects a body that is not JSON, quoting its start', () => {
    // Act
    const reason = reasonOf('{not json');

    // Assess
    expect(reason).toBe('body is not JSON: {not json');
  });

  it('quotes at most 80 characters of a long non-JSON body', () => {
    // Act
    const reason = reasonOf(`x${'y'.repeat(200)}`);

    // Assess
    expect(reason).toBe(`body is not JSON: x${'y'.repeat(79)}`);
  });

  it('rejects extra keys (data never travels in messages)', () => {
    // Act
    const reason = reasonOf({ ...valid, rows: [1, 2, 3] });

    // Assess
    expect(reason).toMatch(/^body: .*rows/);
  });

  it.each([
    ['empty', ''],
    ['a slash', 'a/b'],
    ['a space', 'a b'],
    ['too long', 'r'.repeat(129)],
  ])('rejects a runId that is %s', (_, runId) => {
    // Act
    const reason = reasonOf({ ...valid, runId });

    // Assess
    expect(reason).toBe('runId: runId must be 1-128 characters of [A-Za-z0-9._-]');
  });

  it('accepts a runId of exactly 128 characters', () => {
    // Act
    const message = parseTaskMessage({ ...valid, runId: 'r'.repeat(128) });

    // Assess
    expect(message.runId).toHaveLength(128);
  });

  it('rejects a negative shard, naming the field', () => {
    // Act
    const reason = reasonOf({ ...valid, shard: -1 });

    // Assess
    expect(reason).toMatch(/^shard: /);
    expect(reason).toContain('0');
  });

  it.each([
    ['a fractional round', { ...valid, round: 1.5 }, /^round: /],
    ['an unknown stage', { ...valid, stage: 'shuffle' }, /^stage: /],
    ['another version', { ...valid, v: 2 }, /^v: /],
    ['a missing shard', { v: 1, runId: 'r', stage: 'plan', round: 0 }, /^shard: /],
    ['a shard given as a string', { ...valid, shard: '3' }, /^shard: /],
  ])('rejects %s, naming the field', (_, body, pattern) => {
    // Act
    const reason = reasonOf(body);

    // Assess
    expect(reason).toMatch(pattern);
  });

  it('reports every problem, joined by "; "', () => {
    // Act
    const reason = reasonOf({ ...valid, round: -1, shard: -2 });

    // Assess
    const parts = reason.split('; ');
    expect(parts).toHaveLength(2);
    expect(parts[0]).toMatch(/^round: /);
    expect(parts[1]).toMatch(/^shard: /);
  });

  it.each([
    ['null', null],
    ['an array', [1]],
    ['JSON null', 'null'],
    ['a number', 42],
  ])('rejects %s as the body', (_, body) => {
    // Act
    const reason = reasonOf(body);

    // Assess
    expect(reason).toMatch(/^body: /);
  });
});

describe('taskMessage', () => {
  it('builds a message that parses back to itself, round and shard defaulting to 0', () => {
    // Act
    const message = taskMessage('run-1', 'plan');

    // Assess
    expect(message).toEqual({ v: 1, runId: 'run-1', stage: 'plan', round: 0, shard: 0 });
    expect(parseTaskMessage(JSON.stringify(message))).toEqual(message);
  });
});

describe('SHARD_STAGES', () => {
  it('are ingest, sample, cells, probes, neighbors, gather, score, outcome, output, compare and the fanned-out propagation tasks', () => {
    // Assess
    expect([...SHARD_STAGES].sort()).toEqual([
      'cells',
      'compare',
      'degrees',
      'edges',
      'gather',
      'ingest',
      'iterate',
      'neighbors',
      'outcome',
      'output',
      'probes',
      'result',
      'route',
      'sample',
      'score',
    ]);
  });
});
