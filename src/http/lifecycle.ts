// Graceful shutdown. On SIGTERM the instance stops accepting connections and turns /readyz to 503, new
// requests on open connections get 503 shutting_down (with Retry-After and Connection: close), and it
// waits until every request that reached its handler has been answered. Then it closes the remaining
// connections, idle ones and clients still slowly sending a body alike, so shutdown never waits on them.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from '../errors.js'

export class Lifecycle {
  draining = false
  inFlight = 0 // requests past body parsing and not yet answered
  private idle: (() => void) | null = null

  settle (): void {
    this.inFlight--
    if (this.inFlight === 0) this.idle?.()
  }

  /** Resolves when no request is in flight, or after timeoutMs; true when drained. */
  async drained (timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return true
    return await new Promise<boolean>(resolve => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      this.idle = () => { clearTimeout(timer); resolve(true) }
    })
  }
}

const counted = Symbol('counted')

export const lifecyclePlugin = fp(async function lifecyclePlugin (app: FastifyInstance, { lifecycle }: { lifecycle: Lifecycle }) {
  app.addHook('onRequest', async () => {
    if (lifecycle.draining) throw errors.shuttingDown()
  })
  // answers sent while draining close their connection, so that clients reconnect to another instance
  app.addHook('onSend', async (_request, reply) => {
    if (lifecycle.draining) void reply.header('connection', 'close')
  })
  app.addHook('preValidation', async (request) => {
    lifecycle.inFlight++
    ;(request as unknown as Record<symbol, boolean>)[counted] = true
  })
  const done = async (request: object): Promise<void> => {
    const r = request as Record<symbol, boolean>
    if (r[counted]) { r[counted] = false; lifecycle.settle() }
  }
  app.addHook('onResponse', done)
  app.addHook('onRequestAbort', done)
}, { name: 'lifecycle' })
