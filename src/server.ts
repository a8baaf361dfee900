// Entry point: read the configuration, load the model, connect the history store, listen, shut down cleanly.
import { pino } from 'pino'
import { buildApp } from './app.js'
import { loadConfig, ConfigError } from './config.js'
import { AppError, ModelLoadError } from './errors.js'
import { Lifecycle } from './http/lifecycle.js'
import { openService, type Service } from './service.js'

async function main (): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) { console.error(`configuration error: ${error.message}`); process.exit(2) }
    throw error
  }
  const logger = pino({ level: config.logLevel })
  let service: Service
  try {
    service = await openService(config, { log: logger })
  } catch (error) {
    if (error instanceof ModelLoadError) { logger.fatal(`cannot load the model: ${error.message}`); process.exit(3) }
    if (error instanceof AppError) { logger.fatal(`configuration error: ${error.message}`); process.exit(2) }
    throw error
  }
  const { registry, store, metrics } = service
  const lifecycle = new Lifecycle()
  const app = await buildApp({ config, registry, store, metrics, lifecycle, sync: service.sync }, { loggerInstance: logger })
  await app.listen({ host: config.host, port: config.port, backlog: 4096 }) // a burst of connections must not overflow the accept queue (the kernel caps it at somaxconn)
  logger.info({ models: registry.all.map(e => `${e.name}@${e.recommender.manifest.version} (${e.recommender.catalogue.size} items)`), workers: config.workers }, 'ready')

  // SIGHUP: reload every model from its directory (new files in place), each checked before it replaces the old
  // one. Signals during a reload are folded into one more reload after it; none while draining.
  let reloading: Promise<void> | null = null
  let again = false
  const reloadAll = async (): Promise<void> => {
    for (const name of registry.names) {
      try {
        const { entry, previous } = await registry.reload(name)
        metrics.modelReloads.inc({ model: name, outcome: 'swapped' })
        logger.info({ model: name, from: previous.recommender.manifest.version, to: entry.recommender.manifest.version }, 'model reloaded')
      } catch (error) {
        metrics.modelReloads.inc({ model: name, outcome: 'refused' })
        logger.error({ model: name, err: { message: (error as Error).message, details: (error as AppError).details } }, 'model reload refused; the old model keeps serving')
      }
    }
  }
  process.on('SIGHUP', () => {
    if (lifecycle.draining) return
    if (reloading !== null) { again = true; return }
    reloading = (async () => {
      do { again = false; await reloadAll() } while (again && !lifecycle.draining)
      reloading = null
    })()
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
    await service.close()
    logger.info({ drained }, 'stopped')
    process.exit(0)
  }
  // every signal is handled (a second SIGTERM during the drain must not kill the process)
  process.on('SIGTERM', () => { void shutdown('SIGTERM') })
  process.on('SIGINT', () => { void shutdown('SIGINT') })
}

await main()
