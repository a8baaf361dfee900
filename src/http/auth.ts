// Authentication and rate limiting, decided on the *matched route*, never on the raw URL: the router
// decodes %76 to v, so a prefix test on request.url can be bypassed. Each route says what it needs in
// its config (`auth`): routes under /v1 default to 'api'; health probes are 'public'; the docs and
// /metrics are 'docs' and 'metrics' (public unless PROTECT_DOCS / PROTECT_METRICS). A request that
// matches no route needs a key too (fail closed).
//
// Routes that change what everybody gets or read everybody's data (/v1/admin, catalogue writes) need
// 'admin': a key of ADMIN_API_KEYS (never one of API_KEYS). Without ADMIN_API_KEYS they are off (403), even
// when no API keys are set: a service listening on 0.0.0.0 must not give its event log to anyone.
//
// The rate limit (@fastify/rate-limit) keys on the authenticated identity: the key (by its hash), or the
// client IP when API keys are off. Failed authentications are limited per client IP, so keys cannot be
// guessed at speed. A 429 says in Retry-After how many seconds remain in the window. Counters live in
// each instance's memory: limits are per replica.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { Config } from '../config.js'
import { AppError, errors } from '../errors.js'

export type AuthRequirement = 'api' | 'admin' | 'public' | 'docs' | 'metrics'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a request to this route must present; see src/http/auth.ts. */
    auth?: AuthRequirement
  }
  interface FastifyRequest {
    /** Who is calling: "key:<hash prefix>" with API keys, else "ip:<address>". */
    identity: string
  }
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest()

/** The key a request presents: x-api-key, else Authorization: Bearer. */
export function presentedKey (request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key']
  if (typeof header === 'string') return header
  const authorization = request.headers.authorization
  const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null
  return match?.[1]
}

export const authPlugin = fp(async function authPlugin (app: FastifyInstance, { config }: { config: Config }) {
  const toKeys = (list: string[]) => list.map(key => ({ digest: digest(key), identity: `key:${digest(key).toString('hex').slice(0, 12)}` }))
  const apiKeys = toKeys(config.apiKeys)
  const adminKeys = toKeys(config.adminApiKeys)
  const protect = { api: true, admin: true, public: false, docs: config.protectDocs, metrics: config.protectMetrics }

  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) => errors.rateLimited(context.ttl / 1000)
  })
  const limitRequests = config.rateLimitMax > 0
    ? app.rateLimit({ max: config.rateLimitMax, timeWindow: config.rateLimitWindowMs, keyGenerator: (request) => request.identity })
    : null
  const limitFailures = app.rateLimit({
    max: config.authFailuresMax,
    timeWindow: config.rateLimitWindowMs,
    keyGenerator: (request) => `auth-failure:${request.ip}`,
    errorResponseBuilder: (_request, context) => errors.rateLimited(context.ttl / 1000, 'too many failed authentications')
  })

  app.decorateRequest('identity', '')
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const needs: AuthRequirement = request.method === 'OPTIONS' ? 'public' : request.routeOptions.config?.auth ?? 'api'
    request.identity = `ip:${request.ip}`
    if (!protect[needs]) return
    if (needs === 'admin' && adminKeys.length === 0) throw new AppError('forbidden', 'admin routes are off: set ADMIN_API_KEYS to use them')
    const keys = needs === 'admin' ? adminKeys : apiKeys
    if (keys.length > 0) {
      const given = presentedKey(request)
      const match = given === undefined ? undefined : keys.find(k => timingSafeEqual(k.digest, digest(given)))
      if (match === undefined) {
        await limitFailures.call(app, request, reply)
        throw errors.unauthorized()
      }
      request.identity = match.identity
    }
    if (needs === 'api' && limitRequests !== null) await limitRequests.call(app, request, reply)
  })
}, { name: 'auth' })
