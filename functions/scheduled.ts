import { scheduledHandler } from '../lib/hosts/serverless/handlers.ts';

/** The retraining schedule: retrains each dataset whose pseudolabel.json asks for it, when something changed. */
export const handler = scheduledHandler();
