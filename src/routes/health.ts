import { Type } from '@sinclair/typebox'
import type { App, Deps } from './deps.js'

export default async function healthRoutes (app: App, deps: Deps): Promise<void> {
  const Check = Type.Object({ status: Type.String(), checks: Type.Optional(Type.Record(Type.String(), Type.String())) })

  app.get('/healthz', { schema: { tags: ['health'], summary: 'Liveness', response: { 200: Check } } }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    schema: { tags: ['health'], summary: 'Readiness: model loaded, workers up, Redis reachable when configured', response: { 200: Check, 503: Check } }
  }, async (_request, reply) => {
    const checks: Record<string, string> = {
      model: `${deps.recommender.manifest.name}@${deps.recommender.manifest.version}`,
      workers: `${deps.recommender.readyWorkers}/${deps.config.workers}`
    }
    let ready = deps.recommender.readyWorkers > 0
    try {
      await deps.store.ping()
      checks.historyStore = `${deps.store.kind}: ok`
    } catch (error) {
      checks.historyStore = `${deps.store.kind}: ${(error as Error).message}`
      ready = false
    }
    return await reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks })
  })

  app.get('/metrics', { schema: { tags: ['health'], summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (_request, reply) => {
    deps.metrics.queueDepth.set(deps.recommender.queueDepth)
    return await reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics())
  })
}
