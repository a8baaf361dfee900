import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from '../config.js'
import type { CatalogueSync } from '../catalogue/sync.js'
import type { Store } from '../service.js'
import type { Lifecycle } from '../http/lifecycle.js'
import type { Metrics } from '../metrics.js'
import type { ModelRegistry } from '../model/registry.js'
import type { ApiSchemas } from '../schemas/index.js'
import { errors } from '../errors.js'

export interface Deps { config: Config, registry: ModelRegistry, store: Store, metrics: Metrics, sync: CatalogueSync, lifecycle?: Lifecycle }

/** What route modules get: the app's dependencies and its named schemas. */
export interface RouteDeps extends Deps { lifecycle: Lifecycle, schemas: ApiSchemas }

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

/** The store refused the command before sending it (Redis unreachable): nothing was written. */
const NOT_SENT = /Stream isn't writeable|enableOfflineQueue/

/**
 * Runs a history-store operation; a store failure becomes 503 history_store_unavailable (never a hang or
 * a drop). For a write, `eventIds` go into the details with the outcome: "not_written" when the command
 * never left, "unknown" when it may have been applied (a timeout): either way, retry with these eventIds.
 * Redis' own error message is logged, never sent.
 */
export async function useStore<T> (deps: Deps, log: FastifyBaseLogger, operation: (store: Store) => Promise<T>,
  write?: { eventIds: string[] }): Promise<T> {
  try {
    return await operation(deps.store)
  } catch (error) {
    deps.metrics.historyStoreErrors.inc()
    const message = (error as Error).message
    log.warn({ err: { message } }, 'history store operation failed')
    throw errors.historyStoreUnavailable(write === undefined ? {} : { eventIds: write.eventIds, outcome: NOT_SENT.test(message) ? 'not_written' : 'unknown' })
  }
}

/** An AbortSignal that fires when the client disconnects before its response is sent. */
export function clientGone (raw: RawReplyDefaultExpression): AbortSignal {
  const controller = new AbortController()
  raw.once('close', () => { if (!raw.writableFinished) controller.abort() })
  return controller.signal
}
