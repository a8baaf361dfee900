// Entry point: read the configuration, load the model, connect the history store, listen, shut down cleanly.
import { pino } from 'pino'
import { buildApp } from './app.js'
import { loadConfig, ConfigError } from './config.js'
import { ModelLoadError } from './errors.js'
import { MemoryHistoryStore } from './history/memory.js'
import { RedisHistoryStore } from './history/redis.js'
import type { HistoryStore } from './history/store.js'
import { Metrics } from './metrics.js'
import { Recommender } from './model/recommender.js'

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
    recommender = await Recommender.load(config.modelDir, {
      size: config.workers,
      maxBatchSize: config.maxBatchSize,
      maxQueue: config.maxQueue,
      timeoutMs: config.inferenceTimeoutMs,
      threads: config.threadsPerWorker,
      onBatch: (size, ms) => { metrics.batchSize.observe(size); metrics.inferenceDuration.observe(ms / 1000) },
      onError: (error) => { metrics.inferenceErrors.inc(); logger.error({ err: error }, 'inference error') }
    })
  } catch (error) {
    if (error instanceof ModelLoadError) { logger.fatal(`cannot load the model: ${error.message}`); process.exit(3) }
    throw error
  }
  const limits = { maxEvents: config.historyMaxEvents, ttlSeconds: config.historyTtlSeconds }
  let store: HistoryStore
  if (config.redisUrl !== null) {
    const redis = new RedisHistoryStore(config.redisUrl, limits, 'gflowgr:', (error) => logger.warn({ err: error }, 'redis error'))
    await redis.connect().catch((error: Error) => logger.warn({ err: error }, 'redis not reachable at start-up; will keep retrying'))
    store = redis
    logger.info({ redis: config.redisUrl.replace(/\/\/[^@]*@/, '//***@') }, 'history store: redis')
  } else {
    store = new MemoryHistoryStore(limits, config.memoryStoreMaxUsers)
    logger.info('history store: in-memory (REDIS_URL is not set; histories are lost on restart and not shared between instances)')
  }
  const app = await buildApp({ config, recommender, store, metrics }, { loggerInstance: logger })
  await app.listen({ host: config.host, port: config.port })
  logger.info({ model: recommender.manifest.name, version: recommender.manifest.version, items: recommender.catalogue.size, workers: config.workers }, 'ready')

  let stopping = false
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: draining in-flight requests')
    const force = setTimeout(() => { logger.error('shutdown timed out'); process.exit(1) }, config.shutdownTimeoutMs)
    force.unref()
    await app.close() // stops accepting, waits for in-flight requests
    await recommender.close()
    await store.close()
    logger.info('stopped')
    process.exit(0)
  }
  process.once('SIGTERM', () => { void shutdown('SIGTERM') })
  process.once('SIGINT', () => { void shutdown('SIGINT') })
}

await main()
