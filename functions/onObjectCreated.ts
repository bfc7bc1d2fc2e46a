import { objectCreatedHandler } from '../lib/hosts/serverless/handlers.ts';

/** Consumes the events queue (S3 ObjectCreated under incoming/): one run per dataset of a burst of uploads. */
export const handler = objectCreatedHandler();
