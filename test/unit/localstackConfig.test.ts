import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PythonNotFoundError } from '../../lib/localstack/errors.ts';
import { localstackConfig, PROJECT_ROOT } from '../../lib/localstack/localstackConfig.ts';
import { findPython, hostEnvironment, listenAddress } from '../../lib/localstack/localstackProcess.ts';

describe('localstackConfig', () => {
  it('defaults to the documented names, endpoint, region and project state dir', () => {
    // Act
    const config = localstackConfig({}, {});

    // Assess
    expect(config).toMatchObject({
      endpoint: 'http://127.0.0.1:4566',
      region: 'us-east-1',
      bucket: 'pseudolabel-data',
      incomingPrefix: 'incoming/',
      maxReceiveCount: 3,
      stateDir: path.join(PROJECT_ROOT, '.state', 'localstack'),
    });
    expect(Object.values(config.queues).map((q) => [q.name, q.deadLetterName, q.visibilityTimeout])).toEqual([
      ['pseudolabel-events', 'pseudolabel-events-dlq', 60],
      ['pseudolabel-tasks', 'pseudolabel-tasks-dlq', 120],
      ['pseudolabel-reduce', 'pseudolabel-reduce-dlq', 120],
    ]);
  });

  it('reads PSEUDOLABEL_ENDPOINT before AWS_ENDPOINT_URL, and the visibility timeout and state dir from env', () => {
    // Act
    const config = localstackConfig(
      {},
      {
        PSEUDOLABEL_ENDPOINT: 'http://localhost:4567/',
        AWS_ENDPOINT_URL: 'http://other:1',
        PSEUDOLABEL_VISIBILITY_TIMEOUT: '5',
        PSEUDOLABEL_STATE_DIR: '/tmp/pl-state',
      },
    );

    // Assess
    expect(config.endpoint).toBe('http://localhost:4567');
    expect(config.queues.tasks.visibilityTimeout).toBe(5);
    expect(config.stateDir).toBe('/tmp/pl-state/localstack');
  });

  it('takes overrides over the environment', () => {
    // Act
    const config = localstackConfig(
      { queuePrefix: 't1', bucket: 'b1', visibilityTimeout: 0, endpoint: 'http://127.0.0.1:5000' },
      { PSEUDOLABEL_VISIBILITY_TIMEOUT: '5', PSEUDOLABEL_ENDPOINT: 'http://x:1' },
    );

    // Assess
    expect(config.queues.reduce).toEqual({ name: 't1-reduce', deadLetterName: 't1-reduce-dlq', visibilityTimeout: 0 });
    expect(config.bucket).toBe('b1');
    expect(config.endpoint).toBe('http://127.0.0.1:5000');
  });

  it.each([-1, 1.5, 50_000, Number.NaN])('refuses a visibility timeout of %s', (visibilityTimeout) => {
    expect(() => localstackConfig({ visibilityTimeout }, {})).toThrow(RangeError);
  });
});

describe('LocalStack host process settings', () => {
  it('runs offline on loopback with its files in the state dir (DESIGN section 7)', () => {
    // Prepare
    const config = localstackConfig({ endpoint: 'http://localhost:4566', stateDir: '/s/localstack' }, {});

    // Act
    const env = hostEnvironment(config, {});

    // Assess
    expect(env).toMatchObject({
      OVERRIDE_IN_DOCKER: '0',
      GATEWAY_LISTEN: '127.0.0.1:4566',
      LOCALSTACK_HOST: '127.0.0.1:4566',
      SQS_ENDPOINT_STRATEGY: 'path',
      DNS_ADDRESS: '0',
      DISABLE_EVENTS: '1',
      SKIP_SSL_CERT_DOWNLOAD: '1',
      API_ENDPOINT: 'http://127.0.0.1:9',
      FILESYSTEM_ROOT: '/s/localstack/filesystem',
    });
  });

  it('derives the listen address from the endpoint', () => {
    expect(listenAddress('http://127.0.0.1:4599')).toBe('127.0.0.1:4599');
    expect(listenAddress('http://localhost')).toBe('127.0.0.1:80');
  });

  it('refuses a PSEUDOLABEL_PYTHON that is not Python 3.13', () => {
    // Act
    const find = () => findPython({ PSEUDOLABEL_PYTHON: '/nonexistent/python3.13' });

    // Assess
    expect(find).toThrow(PythonNotFoundError);
  });
});
