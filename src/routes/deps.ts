import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from '../config.js'
import type { HistoryStore } from '../history/store.js'
import type { Lifecycle } from '../http/lifecycle.js'
import type { Metrics } from '../metrics.js'
import type { Recommender } from '../model/recommender.js'
import type { ApiSchemas } from '../schemas/index.js'
import { errors } from '../errors.js'

export interface Deps { config: Config, recommender: Recommender, store: HistoryStore, metrics: Metrics, lifecycle?: Lifecycle }

/** What route modules get: the app's dependencies and its named schemas. */
export interface RouteDeps extends Deps { lifecycle: Lifecycle, schemas: ApiSchemas }

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

/**
 * Runs a history-store operation; a store failure becomes 503 history_store_unavailable (never a hang or
 * a drop), carrying `details` (for a write: the eventIds to retry with).
 */
export async function useStore<T> (deps: Deps, log: FastifyBaseLogger, operation: (store: HistoryStore) => Promise<T>,
  details: Record<string, unknown> = {}): Promise<T> {
  try {
    return await operation(deps.store)
  } catch (error) {
    deps.metrics.historyStoreErrors.inc()
    log.warn({ err: { message: (error as Error).message } }, 'history store operation failed')
    throw errors.historyStoreUnavailable({ cause: (error as Error).message, ...details })
  }
}

/** An AbortSignal that fires when the client disconnects before its response is sent. */
export function clientGone (raw: RawReplyDefaultExpression): AbortSignal {
  const controller = new AbortController()
  raw.once('close', () => { if (!raw.writableFinished) controller.abort() })
  return controller.signal
}
