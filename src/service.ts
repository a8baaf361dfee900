// The service's parts assembled from the configuration, in one place for the server, the tests and the
// scripts: the models (with the shared catalogue state applied), the store (Redis when configured, else in
// memory), the metrics and the catalogue sync.
import type { FastifyBaseLogger } from 'fastify'
import { CatalogueSync } from './catalogue/sync.js'
import type { Config } from './config.js'
import { MemoryHistoryStore } from './history/memory.js'
import { RedisHistoryStore } from './history/redis.js'
import { createRedisClient, describeTarget } from './history/redis-client.js'
import { Metrics } from './metrics.js'
import { Recommender, poolOptions } from './model/recommender.js'
import { ModelRegistry } from './model/registry.js'

export type Store = MemoryHistoryStore | RedisHistoryStore

export interface Service { registry: ModelRegistry, store: Store, metrics: Metrics, sync: CatalogueSync, close: () => Promise<void> }

/** A/B arms with different catalogues: users' histories are partly unknown to one arm. Worth a warning. */
function warnAboutSplit (registry: ModelRegistry, config: Config, log?: FastifyBaseLogger): void {
  const arms = config.modelSplit.filter(s => s.weight > 0).map(s => registry.get(s.name).recommender.exported)
  for (const other of arms.slice(1)) {
    const shared = other.items.filter(i => arms[0].indexOf(i.itemId) !== undefined).length / Math.max(1, other.size)
    if (shared < 0.5) log?.warn({ shared }, 'MODEL_SPLIT: the models of the split share few items; a user\'s history is mostly unknown to one of them')
  }
}

/** The store the configuration asks for; Redis is connected in the background (commands fail fast until it is up). */
export async function openStore (config: Config, log?: FastifyBaseLogger): Promise<Store> {
  const limits = { maxEvents: config.historyMaxEvents, ttlSeconds: config.historyTtlSeconds }
  if (config.redis === null) {
    log?.info('history store: in-memory (neither REDIS_URL nor REDIS_CLUSTER_NODES is set; histories are lost on restart and not shared between instances)')
    return new MemoryHistoryStore(limits, config.memoryStoreMaxUsers)
  }
  const client = createRedisClient(config.redis)
  client.on('error', (error: Error) => log?.warn({ err: { message: error.message } }, 'redis error')) // surfaces as failed commands (503), never a crash
  const store = new RedisHistoryStore(client, limits, 'gflowgr:', { waitReplicas: config.redisWaitReplicas, waitTimeoutMs: config.redisWaitTimeoutMs })
  await store.connect().catch((error: Error) => log?.warn({ err: { message: error.message } }, 'redis not reachable at start-up; will keep retrying'))
  log?.info({ redis: describeTarget(config.redis), waitReplicas: config.redisWaitReplicas }, 'history store: redis')
  if (config.redisWaitReplicas > 0) {
    const replicas = await store.fewestReplicas().catch(() => null)
    if (replicas !== null && replicas < config.redisWaitReplicas) {
      log?.warn({ replicas, waitReplicas: config.redisWaitReplicas }, 'REDIS_WAIT_REPLICAS asks for more replicas than a master has: event writes will be stored but answered 503')
    }
  }
  return store
}

/**
 * Loads the models and connects the store. `store` replaces the configured one (tests). The catalogue state
 * is read before the models serve when the store answers; otherwise the sync catches up once it does.
 */
export async function openService (config: Config, options: { log?: FastifyBaseLogger, store?: Store } = {}): Promise<Service> {
  const metrics = new Metrics()
  const store = options.store ?? await openStore(config, options.log)
  const sync = new CatalogueSync(store, metrics, options.log)
  const registry = await ModelRegistry.open(config.models, config.modelSplit, async (dir, name) => {
    const recommender = await Recommender.load(dir, poolOptions(config, metrics, options.log, name))
    sync.applyTo(recommender) // a reloaded model hides what the others hide before it serves
    return recommender
  })
  sync.registry = registry
  warnAboutSplit(registry, config, options.log)
  await sync.refresh().catch((error: Error) => options.log?.warn({ err: { message: error.message } }, 'catalogue state not readable at start-up; will keep polling'))
  sync.start(config.cataloguePollMs)
  return {
    registry, store, metrics, sync,
    close: async () => { sync.stop(); await registry.close(); await store.close() }
  }
}
