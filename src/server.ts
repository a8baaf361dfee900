// Entry point: read the configuration, load the model, connect the history store, listen, shut down cleanly.
import { pino } from 'pino'
import { buildApp } from './app.js'
import { loadConfig, ConfigError } from './config.js'
import { ModelLoadError } from './errors.js'
import { MemoryHistoryStore } from './history/memory.js'
import { RedisHistoryStore } from './history/redis.js'
import { createRedisClient, describeTarget } from './history/redis-client.js'
import type { HistoryStore } from './history/store.js'
import { Lifecycle } from './http/lifecycle.js'
import { Metrics } from './metrics.js'
import { Recommender, poolOptions } from './model/recommender.js'

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
  let recommender: Recommender
  try {
    recommender = await Recommender.load(config.modelDir, poolOptions(config, metrics, logger))
  } catch (error) {
    if (error instanceof ModelLoadError) { logger.fatal(`cannot load the model: ${error.message}`); process.exit(3) }
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
  const app = await buildApp({ config, recommender, store, metrics, lifecycle }, { loggerInstance: logger })
  await app.listen({ host: config.host, port: config.port, backlog: 4096 }) // a burst of connections must not overflow the accept queue (the kernel caps it at somaxconn)
  logger.info({ model: recommender.manifest.name, version: recommender.manifest.version, items: recommender.catalogue.size, workers: config.workers }, 'ready')

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
    await recommender.close()
    await store.close()
    logger.info({ drained }, 'stopped')
    process.exit(0)
  }
  // every signal is handled (a second SIGTERM during the drain must not kill the process)
  process.on('SIGTERM', () => { void shutdown('SIGTERM') })
  process.on('SIGINT', () => { void shutdown('SIGINT') })
}

await main()
