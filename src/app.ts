// Builds the Fastify app from its dependencies; server.ts listens, tests use app.inject().
import Fastify, { LogController, type FastifyServerOptions } from 'fastify'
import cors from '@fastify/cors'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { authPlugin } from './http/auth.js'
import secureJson from 'secure-json-parse'
import { AppError, errors } from './errors.js'
import { clientErrorHandler, errorPlugin, expectationFailed, frameworkErrors, SampledLog } from './http/errors.js'
import { Lifecycle, lifecyclePlugin } from './http/lifecycle.js'
import { finishDocument } from './http/openapi.js'
import { requestId, securityPlugin } from './http/security.js'
import { validatorCompiler } from './http/validation.js'
import { apiSchemas } from './schemas/index.js'
import type { App, Deps } from './routes/deps.js'
import healthRoutes from './routes/health.js'
import itemRoutes from './routes/items.js'
import adminRoutes from './routes/admin.js'
import catalogueRoutes, { addedItemRoutes } from './routes/catalogue.js'
import modelRoutes from './routes/model.js'
import recommendationRoutes from './routes/recommendations.js'
import userRoutes from './routes/users.js'

const NO_QUERY = Type.Object({}, { additionalProperties: false })
/** OpenAPI security requirement: an x-api-key header or a bearer token. */
const KEYED: Array<Record<string, string[]>> = [{ apiKey: [] }, { bearer: [] }]
// A path parameter may be percent-encoded: up to 12 characters per code point (%F0%9F%98%80).
const ENCODED_CHARS_PER_CHAR = 12

export async function buildApp (deps: Deps, options: FastifyServerOptions = {}): Promise<App> {
  const { config, metrics } = deps
  const lifecycle = deps.lifecycle ?? new Lifecycle()
  const app = Fastify({
    bodyLimit: config.bodyLimitBytes,
    genReqId: requestId,
    logController: new LogController({ disableRequestLogging: true }), // one access-log line per request, from http/errors.ts
    return503OnClosing: false, // http/lifecycle.ts answers in the common shape
    trustProxy: config.trustProxy as boolean | string[], // a hop count works too (Fastify's proxy-addr)
    // slow clients: the whole request (headers and body) within REQUEST_TIMEOUT_MS, checked every 250-1000 ms
    requestTimeout: config.requestTimeoutMs,
    http: { headersTimeout: config.requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, Math.max(250, config.requestTimeoutMs / 4)) },
    routerOptions: { maxParamLength: config.maxIdLength * ENCODED_CHARS_PER_CHAR },
    frameworkErrors: frameworkErrors(metrics, config.corsOrigins),
    clientErrorHandler: clientErrorHandler(metrics),
    ...options
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.server.on('checkExpectation', expectationFailed(metrics))
  // bodies are JSON only (anything else is 415) and uncompressed; routes without a body accept an empty one
  // whatever its content type (clients that always send content-type: application/json)
  app.removeContentTypeParser(['text/plain', 'application/json'])
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(request.routeOptions.schema?.body === undefined ? null : errors.badRequest('the body is empty; send a JSON object'), undefined)
      return
    }
    try {
      done(null, secureJson.parse(body as string, { protoAction: 'error', constructorAction: 'error' }))
    } catch (error) {
      const poisoned = /forbidden prototype property/.test((error as Error).message)
      done(errors.badRequest(poisoned ? 'the body has a __proto__ or constructor.prototype key' : `the body is not valid JSON: ${(error as Error).message}`), undefined)
    }
  })
  app.addHook('preParsing', async (request) => {
    const encoding = request.headers['content-encoding']
    const body = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0
    if (body && encoding !== undefined && encoding !== 'identity') throw new AppError('unsupported_media_type', 'send the body uncompressed (no Content-Encoding)')
  })
  const { recommender } = deps.registry.get() // the default model gives the documented examples
  const catalogue = recommender.catalogue
  const schemas = apiSchemas(config, recommender.manifest, deps.registry.names, {
    history: catalogue.items.slice(0, 3).map(i => i.itemId),
    items: catalogue.items.slice(3, 5)
  })
  for (const schema of schemas.named) app.addSchema(schema)
  app.setValidatorCompiler(validatorCompiler(schemas.named))
  await app.register(lifecyclePlugin, { lifecycle })
  await app.register(securityPlugin)
  await app.register(errorPlugin, { metrics, bodyLimit: config.bodyLimitBytes, sampled: new SampledLog() })
  await app.register(cors, {
    origin: config.corsOrigins.length > 0 ? config.corsOrigins : false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['content-type', 'x-api-key', 'authorization', 'x-request-id'],
    exposedHeaders: ['x-request-id', 'retry-after'],
    maxAge: 600,
    strictPreflight: false // an OPTIONS without Origin is not a preflight: answered 204 without CORS headers, not a text/plain 400
  })
  await app.register(authPlugin, { config })

  const keys = config.apiKeys.length > 0
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'GFlowGR recommender',
        version: '1.0.0',
        description: `Generative recommendations from GFlowGR policies (models ${deps.registry.names.join(', ')}; default ${recommender.manifest.name} ${recommender.manifest.version} at start-up). ` +
          'Every response with status >= 400 has the body { code, message, requestId, details? } (schema Error).'
      },
      // relative to where the document is served (/docs/json, /openapi.json): "Try it out" then works behind a path prefix
      servers: [{ url: '..', description: 'This service' }],
      tags: [
        { name: 'recommendations', description: 'Top-k items from the policy' },
        { name: 'users', description: 'Stored interaction histories' },
        { name: 'items', description: 'The catalogue' },
        { name: 'model', description: 'The served models' },
        { name: 'admin', description: 'Operations: model reloads and event export (ADMIN_API_KEYS)' },
        { name: 'health', description: 'Probes and metrics' }
      ],
      // admin routes always need a key (ADMIN_API_KEYS), so the schemes are always there
      components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' }, bearer: { type: 'http', scheme: 'bearer' } } },
      security: keys ? KEYED : []
    },
    stripBasePath: false, // the server URL is relative; the routes' paths are complete
    // component schemas are named by their $id (Error, Recommendation, ...), not def-0, def-1
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
    transformObject: (document) => 'openapiObject' in document ? finishDocument(document.openapiObject) : document.swaggerObject
  })
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => { route.config = { auth: 'docs', ...route.config } })
    await docs.register(swaggerUi, {
      routePrefix: '/docs',
      // /docs serves links relative to /docs/: redirect there relatively, so it also works behind a path prefix
      uiHooks: {
        onRequest: async (request, reply) => {
          const [path, query] = request.url.split('?')
          if (path === '/docs') return await reply.redirect(`docs/${query === undefined ? '' : `?${query}`}`)
          if (path === '/docs/static/index.html') return await reply.redirect('../')
        }
      }
    })
    docs.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  })

  await app.register(async (v1) => {
    v1.addHook('onRoute', (route) => {
      route.config = { auth: 'api', ...route.config }
      if (route.config.auth === 'admin' && route.schema !== undefined) route.schema.security = KEYED
      // a parameter a route does not take is refused, not ignored: GET /v1/model?model=x must not answer about another model
      if (route.schema?.querystring === undefined) route.schema = { ...route.schema, querystring: NO_QUERY }
    })
    const scoped = v1 as unknown as App
    const routeDeps = { ...deps, lifecycle, schemas }
    await recommendationRoutes(scoped, routeDeps)
    await userRoutes(scoped, routeDeps)
    await itemRoutes(scoped, routeDeps)
    await catalogueRoutes(scoped, routeDeps)
    await addedItemRoutes(scoped, routeDeps)
    await modelRoutes(scoped, routeDeps)
    await adminRoutes(scoped, routeDeps)
  }, { prefix: '/v1' })
  await healthRoutes(app as unknown as App, { ...deps, lifecycle, schemas })
  return app as unknown as App
}
