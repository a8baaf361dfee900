// Entry point: read the configuration, load the model, connect the history store, listen, shut down cleanly.
import { pino } from 'pino'
import { buildApp } from './app.js'
import { loadConfig, ConfigError } from './config.js'
import { AppError, ModelLoadError } from './errors.js'
import { MemoryHistoryStore } from './history/memory.js'
import { RedisHistoryStore } from './history/redis.js'
import { createRedisClient, describeTarget } from './history/redis-client.js'
import type { HistoryStore } from './history/store.js'
import { Lifecycle } from './http/lifecycle.js'
import { Metrics } from './metrics.js'
import { Recommender, poolOptions } from './model/recommender.js'
import { ModelRegistry } from './model/registry.js'

async function main (): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) { console.error(`configuration error: ${error.message}`); process.exit(2) }
    throw error
  }
  const logger = pino({ level: config.logLevel })
  const metrics = new Metrics()
  const loader = async (dir: string, name: string): Promise<Recommender> => await Recommender.load(dir, poolOptions(config, metrics, logger, name))
  let registry: ModelRegistry
  try {
    registry = await ModelRegistry.open(config.models, config.modelSplit, loader)
  } catch (error) {
    if (error instanceof ModelLoadError) { logger.fatal(`cannot load the model: ${error.message}`); process.exit(3) }
    if (error instanceof AppError) { logger.fatal(`configuration error: ${error.message}`); process.exit(2) }
    throw error
  }
  const limits = { maxEvents: config.historyMaxEvents, ttlSeconds: config.historyTtlSeconds }
  let store: HistoryStore
  if (config.redis !== null) {
    const client = createRedisClient(config.redis)
    client.on('error', (error: Error) => logger.warn({ err: { message: error.message } }, 'redis error')) // surfaces as failed commands (503), never a crash
    const redis = new RedisHistoryStore(client, limits, 'gflowgr:', { waitReplicas: config.redisWaitReplicas, waitTimeoutMs: config.redisWaitTimeoutMs })
    await redis.connect().catch((error: Error) => logger.warn({ err: { message: error.message } }, 'redis not reachable at start-up; will keep retrying'))
    store = redis
    logger.info({ redis: describeTarget(config.redis), waitReplicas: config.redisWaitReplicas }, 'history store: redis')
  } else {
    store = new MemoryHistoryStore(limits, config.memoryStoreMaxUsers)
    logger.info('history store: in-memory (neither REDIS_URL nor REDIS_CLUSTER_NODES is set; histories are lost on restart and not shared between instances)')
  }
  const lifecycle = new Lifecycle()
  const app = await buildApp({ config, registry, store, metrics, lifecycle }, { loggerInstance: logger })
  await app.listen({ host: config.host, port: config.port, backlog: 4096 }) // a burst of connections must not overflow the accept queue (the kernel caps it at somaxconn)
  logger.info({ models: registry.all.map(e => `${e.name}@${e.recommender.manifest.version} (${e.recommender.catalogue.size} items)`), workers: config.workers }, 'ready')

  // SIGHUP: reload every model from its directory (new files in place), each checked before it replaces the old one
  process.on('SIGHUP', () => {
    for (const name of registry.names) {
      registry.reload(name).then(
        ({ entry, previous }) => { metrics.modelReloads.inc({ model: name, outcome: 'swapped' }); logger.info({ model: name, from: previous.recommender.manifest.version, to: entry.recommender.manifest.version }, 'model reloaded') },
        (error: Error) => { metrics.modelReloads.inc({ model: name, outcome: 'refused' }); logger.error({ model: name, err: { message: error.message, details: (error as AppError).details } }, 'model reload refused; the old model keeps serving') }
      )
    }
  })

  // SIGTERM: stop accepting, answer what reached a handler, then close every connection (idle ones and
  // clients still sending a body) instead of waiting on them; exit 0. Exit 1 only if draining is stuck.
  const shutdown = async (signal: string): Promise<void> => {
    if (lifecycle.draining) { logger.info({ signal }, 'already draining'); return }
    lifecycle.draining = true
    logger.info({ signal, inFlight: lifecycle.inFlight }, 'shutting down: draining in-flight requests')
    const force = setTimeout(() => { logger.error('shutdown timed out'); process.exit(1) }, config.shutdownTimeoutMs + 1000)
    force.unref()
    const closed = app.close() // stops listening; closes idle keep-alive connections
    const drained = await lifecycle.drained(config.shutdownTimeoutMs)
    app.server.closeAllConnections()
    await closed
    await registry.close()
    await store.close()
    logger.info({ drained }, 'stopped')
    process.exit(0)
  }
  // every signal is handled (a second SIGTERM during the drain must not kill the process)
  process.on('SIGTERM', () => { void shutdown('SIGTERM') })
  process.on('SIGINT', () => { void shutdown('SIGINT') })
}

await main()
