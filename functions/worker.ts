import { shardTaskHandler } from '../lib/hosts/serverless/handlers.ts';

/** Consumes the tasks queue: one shard task (ingest, cells, neighbors, gather, edges, degrees, iterate, outcome, score) per message. */
export const handler = shardTaskHandler();
