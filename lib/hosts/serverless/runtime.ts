import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { StageContext, StageLog } from '../../pipeline/stageContext.ts';
import { emitRunEnded, serviceMetrics } from './metrics.ts';
import {
  type ServerlessClients,
  type ServerlessSettings,
  serverlessClients,
  serverlessContext,
  serverlessSettings,
} from './serverlessContext.ts';

/** What every handler shares, built once per Lambda container (module level). */
export interface HandlerRuntime {
  /** The handler's service name (its logs and metrics). */
  readonly service?: string;
  readonly settings: ServerlessSettings;
  readonly clients: ServerlessClients;
  readonly logger: Logger;
  /** Powertools Metrics of the service (metrics.ts); published after each invocation (withMetrics). */
  readonly metrics?: Metrics;
  readonly ctx: StageContext;
}

export function stageLog(logger: Logger): StageLog {
  return {
    info: (message, fields) => logger.info(message, { ...fields }),
    warn: (message, fields) => logger.warn(message, { ...fields }),
  };
}

/**
 * Structured JSON logs (Powertools) carrying runId, stage, round and shard as fields; Powertools Metrics in the
 * `pseudolabel` namespace; a stage context that reports each run reaching its terminal status (RunsEnded).
 */
export function handlerRuntime(
  serviceName: string,
  env: NodeJS.ProcessEnv = process.env,
): HandlerRuntime & { readonly metrics: Metrics } {
  const logger = new Logger({ serviceName });
  const settings = serverlessSettings(env);
  const clients = serverlessClients();
  return {
    service: serviceName,
    settings,
    clients,
    logger,
    metrics: serviceMetrics(serviceName),
    ctx: { ...serverlessContext(settings, clients, stageLog(logger)), runEnded: emitRunEnded },
  };
}
