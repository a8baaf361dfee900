// Builds the Fastify app from its dependencies; server.ts listens, tests use app.inject().
import { randomUUID, timingSafeEqual } from 'node:crypto'
import Fastify, { type FastifyError, type FastifyServerOptions } from 'fastify'
import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { AppError, errors } from './errors.js'
import { ErrorResponse, type ErrorBody } from './schemas/common.js'
import type { App, Deps } from './routes/deps.js'
import healthRoutes from './routes/health.js'
import itemRoutes from './routes/items.js'
import modelRoutes from './routes/model.js'
import recommendationRoutes from './routes/recommendations.js'
import userRoutes from './routes/users.js'

/** The one place where failures become HTTP responses. */
export function toHttpError (error: FastifyError | AppError | Error): AppError {
  if (error instanceof AppError) return error
  const e = error as FastifyError
  if (e.validation !== undefined) {
    const first = e.validation[0]
    const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty
    const where = `${e.validationContext ?? 'body'}${first?.instancePath?.replaceAll('/', '.') ?? ''}${missing !== undefined ? `.${missing}` : ''}`
    return errors.validation(where, `${where} ${first?.message ?? 'is invalid'}`)
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AppError(413, 'payload_too_large', 'the request body is too large')
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AppError(415, 'unsupported_media_type', 'send application/json')
  if (e.statusCode === 429) return new AppError(429, 'rate_limited', 'too many requests; slow down', undefined, { 'retry-after': '1' })
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) return new AppError(e.statusCode, 'bad_request', e.message)
  return new AppError(500, 'internal_error', 'internal error')
}

function keyMatches (given: string, keys: Buffer[]): boolean {
  const g = Buffer.from(given)
  return keys.some(k => k.length === g.length && timingSafeEqual(k, g))
}

export async function buildApp (deps: Deps, options: FastifyServerOptions = {}): Promise<App> {
  const { config, metrics } = deps
  const app = Fastify({
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    ...options
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.addSchema(ErrorResponse)
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const http = toHttpError(error)
    if (http.statusCode >= 500) request.log.error({ err: error }, 'request failed')
    const body: ErrorBody = { code: http.code, message: http.message, requestId: String(request.id), ...(http.details !== undefined && { details: http.details }) }
    void reply.code(http.statusCode).headers(http.headers ?? {}).send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ code: 'route_not_found', message: `no route ${request.method} ${request.url.split('?')[0]}`, requestId: String(request.id) })
  })
  app.addHook('onSend', async (request, reply) => { void reply.header('x-request-id', request.id) })
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }, reply.elapsedTime / 1000)
  })

  await app.register(cors, { origin: config.corsOrigins.length > 0 ? config.corsOrigins : false, exposedHeaders: ['x-request-id', 'retry-after'] })
  if (config.rateLimitMax > 0) {
    await app.register(rateLimit, {
      max: config.rateLimitMax,
      timeWindow: config.rateLimitWindowMs,
      keyGenerator: (request) => String(request.headers['x-api-key'] ?? request.ip),
      allowList: (request) => !request.url.startsWith('/v1/')
    })
  }
  if (config.apiKeys.length > 0) {
    const keys = config.apiKeys.map(k => Buffer.from(k))
    app.addHook('onRequest', async (request) => {
      if (!request.url.startsWith('/v1/')) return
      const header = request.headers['x-api-key'] ?? request.headers.authorization?.replace(/^Bearer\s+/i, '')
      if (typeof header !== 'string' || !keyMatches(header, keys)) throw errors.unauthorized()
    })
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'GFlowGR recommender',
        version: '1.0.0',
        description: `Generative recommendations from a GFlowGR policy (model ${deps.recommender.manifest.name} ${deps.recommender.manifest.version}). ` +
          'Every failure returns { code, message, requestId, details }.'
      },
      tags: [
        { name: 'recommendations', description: 'Top-k items from the policy' },
        { name: 'users', description: 'Stored interaction histories' },
        { name: 'items', description: 'The catalogue' },
        { name: 'model', description: 'The served model' },
        { name: 'health', description: 'Probes and metrics' }
      ],
      components: config.apiKeys.length > 0 ? { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } } } : {},
      security: config.apiKeys.length > 0 ? [{ apiKey: [] }] : []
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  await app.register(async (scoped) => {
    const a = scoped as unknown as App
    await recommendationRoutes(a, deps)
    await userRoutes(a, deps)
    await itemRoutes(a, deps)
    await modelRoutes(a, deps)
    await healthRoutes(a, deps)
  })
  return app as unknown as App
}
