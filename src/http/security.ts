// Response headers every client gets, and the request id.
// - X-Content-Type-Options: nosniff everywhere; Cache-Control: no-store on user data (routes with
//   config.userData) and on every error, so that shared caches never keep a user's history or
//   recommendations.
// - x-request-id: a client's own id is kept only if it is a short token of safe characters (it ends up
//   in logs and headers); otherwise the request gets a fresh UUID. It is echoed on every response.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The response carries a user's data: never cached. */
    userData?: boolean
  }
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

/** Fastify's genReqId: the client's x-request-id when it is safe, else a fresh UUID. */
export function requestId (request: IncomingMessage): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID()
}

export const securityPlugin = fp(async function securityPlugin (app: FastifyInstance) {
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id)
    void reply.header('x-content-type-options', 'nosniff')
    if (reply.statusCode >= 400 || request.routeOptions.config?.userData === true) void reply.header('cache-control', 'no-store')
  })
}, { name: 'security' })
