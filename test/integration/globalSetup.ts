import type { TestProject } from 'vitest/node';
import { localstackDown, localstackUp } from '../../lib/localstack/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** LocalStack endpoint the integration tests talk to. */
    localstackEndpoint: string;
    localstackRegion: string;
  }
}

/**
 * Vitest globalSetup for the integration project: makes sure LocalStack answers (starting it on the host or in
 * Docker if it does not, creating the venv on first use) and the default resources exist; at the end stops
 * LocalStack only if this setup started it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => console.log(`[localstack] ${line}`);
  const up = await localstackUp({ log });
  project.provide('localstackEndpoint', up.config.endpoint);
  project.provide('localstackRegion', up.config.region);
  return async () => {
    if (!up.started) return;
    const { stopped } = await localstackDown();
    if (stopped !== undefined) log(`stopped LocalStack (${stopped.mode})`);
  };
}
