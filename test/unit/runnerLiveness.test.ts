import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { HEARTBEAT_STALE_MS, type RunnerInfo, runnerGoneReason } from '../../lib/pipeline/run/runnerLiveness.ts';

describe('runnerGoneReason', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const runner = (host: string, ageMs: number): RunnerInfo => ({
    pid: 4242,
    host,
    startedAt: '2026-01-01T11:00:00Z',
    heartbeatAt: new Date(now.getTime() - ageMs).toISOString(),
  });

  it('calls a runner on this host whose process is gone dead, however fresh its heartbeat', () => {
    // Act
    const reason = runnerGoneReason(runner(hostname(), 1_000), now, () => false);
    // Assess
    expect(reason).toBe(
      'the embedded runner (pid 4242) ended without finishing the run (killed, or the machine restarted)',
    );
  });

  it('calls a runner alive on this host with a fresh heartbeat alive', () => {
    expect(runnerGoneReason(runner(hostname(), 1_000), now, () => true)).toBeUndefined();
  });

  it('calls a runner on another host dead once its heartbeat is stale, not before', () => {
    // Act
    const fresh = runnerGoneReason(runner('elsewhere', HEARTBEAT_STALE_MS - 1), now, () => false);
    const stale = runnerGoneReason(runner('elsewhere', HEARTBEAT_STALE_MS + 1), now, () => true);
    // Assess
    expect(fresh).toBeUndefined();
    expect(stale).toMatch(/^the embedded runner \(pid 4242 on elsewhere\) has not been heard from since /);
  });
});
