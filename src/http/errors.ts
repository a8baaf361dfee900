// The one place where failures become HTTP responses, whatever raised them: the handlers (AppError), the
// validator, the body parser, the router (bad URL, parameter too long), the HTTP parser (431, 408, 400 on
// the raw socket) and unknown routes. Every response with status >= 400 has the body
// { code, message, requestId, details? } (schemas/common.ts, ErrorResponse).
//
// Logging: bugs (500 internal_error) at error level with the stack; expected refusals under load
// (503, 429) at warn, at most one line per code and second with a count of the lines left out, without
// a stack; everything else only in the access log. Every error response is counted in http_errors_total.
import { randomUUID } from 'node:crypto'
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { AppError, errors, type ErrorCode } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { ErrorBody } from '../schemas/common.js'
import { ClientGoneError } from '../model/worker-pool.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The model that answered, name@version, for the access log. */
    served?: string
  }
}

/** Maps anything thrown while serving a request to the service's error family. */
export function toHttpError (error: FastifyError | AppError | Error, bodyLimit = 0): AppError {
  if (error instanceof AppError) return error
  const e = error as FastifyError
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new AppError('payload_too_large', `the request body is larger than ${bodyLimit} bytes`, { limit: bodyLimit })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new AppError('unsupported_media_type', 'send the body as application/json')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return errors.badRequest('the body is empty; send a JSON object')
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return errors.badRequest('the body is not valid JSON')
    case 'FST_ERR_CTP_INVALID_CONTENT_ENCODING': return new AppError('unsupported_media_type', 'send the body uncompressed (no Content-Encoding)')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH': return errors.badRequest('the Content-Length header does not match the body')
    case 'FST_ERR_BAD_URL': return errors.badRequest('the URL is malformed (a bad percent-encoding?)')
    case 'FST_ERR_MAX_PARAM_LENGTH': return new AppError('uri_too_long', 'a path parameter is too long')
  }
  if (e instanceof SyntaxError) return errors.badRequest(`the body is not valid JSON: ${e.message}`)
  if (e.statusCode === 400) return errors.badRequest(e.message)
  if (e.statusCode === 413) return new AppError('payload_too_large', `the request body is larger than ${bodyLimit} bytes`, { limit: bodyLimit })
  if (e.statusCode === 415) return new AppError('unsupported_media_type', 'send the body as application/json')
  if (e.statusCode !== undefined && e.statusCode > 400 && e.statusCode < 500) return errors.badRequest(e.message)
  return new AppError('internal_error', 'internal error')
}

export function errorBody (error: AppError, requestId: string): ErrorBody {
  return { code: error.code, message: error.message, requestId, ...(error.details !== undefined && { details: error.details }) }
}

/** At most one line per key and interval; the next line says how many were left out. */
export class SampledLog {
  private readonly last = new Map<string, { at: number, skipped: number }>()
  constructor (private readonly intervalMs = 1000) {}

  warn (log: FastifyBaseLogger, key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now()
    const entry = this.last.get(key)
    if (entry !== undefined && now - entry.at < this.intervalMs) { entry.skipped++; return }
    log.warn({ ...fields, code: key, ...(entry !== undefined && entry.skipped > 0 && { suppressed: entry.skipped }) }, message)
    this.last.set(key, { at: now, skipped: 0 })
  }
}

const REFUSALS = new Set<ErrorCode>(['overloaded', 'inference_timeout', 'history_store_unavailable', 'shutting_down', 'rate_limited'])

export interface ErrorPluginOptions { metrics: Metrics, bodyLimit: number, sampled: SampledLog }

/** Error handler, not-found handler and one-line access log. */
export const errorPlugin = fp(async function errorPlugin (app: FastifyInstance, { metrics, bodyLimit, sampled }: ErrorPluginOptions) {
  function send (request: FastifyRequest, reply: FastifyReply, error: AppError, cause?: unknown): FastifyReply {
    metrics.httpErrors.inc({ code: error.code })
    if (error.code === 'internal_error' || error.code === 'inference_failed') request.log.error({ err: cause ?? error }, 'request failed')
    else if (REFUSALS.has(error.code)) sampled.warn(request.log, error.code, { statusCode: error.statusCode }, error.message)
    return reply.code(error.statusCode).headers(error.headers ?? {}).send(errorBody(error, String(request.id)))
  }

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ClientGoneError) { // nobody is listening: close the socket, send nothing
      reply.hijack()
      reply.raw.destroy()
      return
    }
    return send(request, reply, toHttpError(error, bodyLimit), error)
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]
    return send(request, reply, new AppError('route_not_found', `no route ${request.method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}`))
  })

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000)
    if (reply.statusCode === 503 || reply.statusCode === 429) return // sampled above
    request.log.info({
      method: request.method, route, statusCode: reply.statusCode, responseTime: Math.round(reply.elapsedTime * 100) / 100, ...(request.served !== undefined && { model: request.served })
    }, 'request completed')
  })
}, { name: 'errors' })

/**
 * Fastify's frameworkErrors option: router errors (bad URL, parameter too long) in the common shape. They
 * skip the hooks, so the headers the hooks would set are set here (security headers, and CORS for an
 * allowed origin, so that a browser can read the error).
 */
export function frameworkErrors (metrics: Metrics, corsOrigins: string[]) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const http = toHttpError(error)
    metrics.httpErrors.inc({ code: http.code })
    const origin = request.headers.origin
    if (typeof origin === 'string' && corsOrigins.includes(origin)) void reply.header('access-control-allow-origin', origin).header('vary', 'Origin')
    void reply.code(http.statusCode).headers({ 'x-request-id': request.id, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' })
      .send(errorBody(http, String(request.id)))
  }
}

/** Node answers an Expect header it does not know with an empty 417 of its own: answer it in the common shape. */
export function expectationFailed (metrics: Metrics) {
  return (_request: IncomingMessage, response: ServerResponse): void => {
    const error = new AppError('expectation_failed', 'only Expect: 100-continue is supported')
    metrics.httpErrors.inc({ code: error.code })
    const requestId = randomUUID()
    response.writeHead(error.statusCode, { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', connection: 'close' })
    response.end(JSON.stringify(errorBody(error, requestId)))
  }
}

const CLIENT_ERRORS: Record<string, [ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: ['headers_too_large', 'the request line and headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'the request was not received in time']
}

/** Fastify's clientErrorHandler option: errors of the HTTP parser, answered on the raw socket in the common shape. */
export function clientErrorHandler (metrics: Metrics) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return
    const [code, message] = CLIENT_ERRORS[error.code ?? ''] ?? ['bad_request', 'the request is not valid HTTP/1.1']
    const http = new AppError(code, message)
    metrics.httpErrors.inc({ code })
    const requestId = randomUUID()
    const body = JSON.stringify(errorBody(http, requestId))
    if (socket.writable) {
      socket.write(`HTTP/1.1 ${http.statusCode} ${STATUS_CODES[http.statusCode]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nx-request-id: ${requestId}\r\nConnection: close\r\n\r\n${body}`)
    }
    socket.destroy()
  }
}
