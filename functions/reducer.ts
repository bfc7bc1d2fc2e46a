import { reduceStepHandler } from '../lib/hosts/serverless/handlers.ts';

/**
 * Consumes the reduce queue: plan, collect, calibrate, propagate, graph, converge, reduce and finalize steps; each
 * enqueues what follows.
 */
export const handler = reduceStepHandler();
