import { deadlineWatchHandler } from '../lib/hosts/serverless/handlers.ts';

/** Every 15 minutes: counts the runs past their deadline (RunsPastDeadline metric and alarm) and logs each. */
export const handler = deadlineWatchHandler();
