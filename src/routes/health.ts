import { Type } from '@sinclair/typebox'
import { AppError } from '../errors.js'
import { errorResponses, ref } from '../schemas/common.js'
import type { App, Deps, RouteDeps } from './deps.js'

/**
 * Probes and metrics. Redis is a soft dependency: requests that carry their own history work without it,
 * so a Redis outage is reported in the readiness body but does not make the instance unready (an
 * orchestrator would otherwise take every replica out of service at once).
 */
const PING_BUDGET_MS = 250 // a probe must answer fast even when Redis is frozen

async function storeStatus (deps: Deps): Promise<string> {
  let timer: NodeJS.Timeout | undefined
  const slow = new Promise<string>(resolve => { timer = setTimeout(() => resolve(`no answer within ${PING_BUDGET_MS} ms`), PING_BUDGET_MS) })
  try {
    return await Promise.race([deps.store.ping().then(() => 'ok'), slow])
  } catch {
    return 'unavailable; requests with their own history still work'
  } finally {
    clearTimeout(timer)
  }
}

export default async function healthRoutes (app: App, deps: RouteDeps): Promise<void> {
  const health = (description: string) => ref(deps.schemas.health.Health, { description })

  app.get('/healthz', {
    config: { auth: 'public' },
    schema: { tags: ['health'], summary: 'Liveness: the process answers', security: [], response: { 200: health('Alive'), ...errorResponses() } }
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    config: { auth: 'public' },
    schema: {
      tags: ['health'],
      summary: 'Readiness: model loaded and a worker up, not draining. The history store is reported, but does not make the instance unready',
      security: [],
      response: { 200: health('Ready to serve'), ...errorResponses('readiness') }
    }
  }, async () => {
    const checks: Record<string, string> = {}
    for (const { name, recommender } of deps.registry.all) {
      checks[`model:${name}`] = `${recommender.manifest.version}, workers ${recommender.readyWorkers}/${deps.config.workers}`
    }
    checks.historyStore = `${deps.store.kind}: ${await storeStatus(deps)}`
    if (deps.lifecycle.draining) throw new AppError('not_ready', 'the instance is draining', { status: 'draining', checks })
    const down = deps.registry.all.filter(e => e.recommender.readyWorkers === 0).map(e => e.name)
    if (down.length > 0) throw new AppError('not_ready', `no inference worker is up for ${down.join(', ')}`, { status: 'not_ready', checks })
    return { status: 'ready', checks }
  })

  app.get('/metrics', {
    config: { auth: 'metrics' },
    schema: {
      tags: ['health'],
      summary: 'Prometheus metrics (needs an API key when PROTECT_METRICS is set)',
      ...(!deps.config.protectMetrics && { security: [] }),
      response: {
        200: { description: 'Prometheus text format', content: { 'text/plain': { schema: Type.String({ example: '# HELP inference_queue_depth Requests waiting for a worker\ninference_queue_depth 0\n' }) } } },
        ...errorResponses()
      }
    }
  }, async (_request, reply) => {
    for (const { name, recommender } of deps.registry.all) deps.metrics.queueDepth.set({ model: name }, recommender.queueDepth)
    return await reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics())
  })
}
