import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from '../config.js'
import type { HistoryStore } from '../history/store.js'
import type { Metrics } from '../metrics.js'
import type { Recommender } from '../model/recommender.js'
import { errors } from '../errors.js'

export interface Deps { config: Config, recommender: Recommender, store: HistoryStore, metrics: Metrics }

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

/** Runs a history-store operation; a store failure becomes 503 history_store_unavailable, never a hang or a drop. */
export async function useStore<T> (deps: Deps, log: FastifyBaseLogger, operation: (store: HistoryStore) => Promise<T>): Promise<T> {
  try {
    return await operation(deps.store)
  } catch (error) {
    deps.metrics.historyStoreErrors.inc()
    log.warn({ err: error }, 'history store operation failed')
    throw errors.historyStoreUnavailable((error as Error).message)
  }
}
