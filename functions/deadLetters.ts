import { deadLetterHandler } from '../lib/hosts/serverless/handlers.ts';

/**
 * Consumes the tasks and reduce dead-letter queues: marks the run of each dead-lettered task failed with its
 * stage and reason, so a run whose worker died on every receive does not stay "running" for good.
 */
export const handler = deadLetterHandler();
