import { Logger } from '@aws-lambda-powertools/logger';
import {
  type ServerlessClients,
  type ServerlessSettings,
  serverlessClients,
  serverlessContext,
  serverlessSettings,
} from '../../lib/adapters/serverlessContext.ts';
import type { StageContext, StageLog } from '../../lib/pipeline/stageContext.ts';

/** What every handler shares, built once per Lambda container (module level). */
export interface HandlerRuntime {
  /** The handler's service name (its logs and metrics). */
  readonly service?: string;
  readonly settings: ServerlessSettings;
  readonly clients: ServerlessClients;
  readonly logger: Logger;
  readonly ctx: StageContext;
}

export function stageLog(logger: Logger): StageLog {
  return {
    info: (message, fields) => logger.info(message, { ...fields }),
    warn: (message, fields) => logger.warn(message, { ...fields }),
  };
}

/** Structured JSON logs (Powertools) carrying runId, stage, round and shard as fields. */
export function handlerRuntime(serviceName: string, env: NodeJS.ProcessEnv = process.env): HandlerRuntime {
  const logger = new Logger({ serviceName });
  const settings = serverlessSettings(env);
  const clients = serverlessClients();
  return {
    service: serviceName,
    settings,
    clients,
    logger,
    ctx: serverlessContext(settings, clients, stageLog(logger)),
  };
}
