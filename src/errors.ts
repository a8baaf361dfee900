// One error family for the service. Every code the service can send is listed here once, with its HTTP
// status and when it happens: the README's error table and the OpenAPI responses are checked against it.
// The mapping of everything else (framework, parser, plugin errors) to this family lives in http/errors.ts.

export const ERROR_CODES = {
  validation_error: { status: 400, when: 'a field is missing, has the wrong type, or is out of bounds; `details.field` names it' },
  bad_request: { status: 400, when: 'the request cannot be read: malformed JSON, an empty JSON body, a malformed URL' },
  unauthorized: { status: 401, when: 'API keys are configured and the request has no valid `x-api-key` / `Authorization: Bearer` (for admin routes: a key of `ADMIN_API_KEYS`)' },
  forbidden: { status: 403, when: 'admin routes (`/v1/admin`, catalogue writes) while `ADMIN_API_KEYS` is not set: they are off until admin keys are configured' },
  item_not_found: { status: 404, when: 'no item with this id' },
  user_not_found: { status: 404, when: 'no stored history for this user' },
  route_not_found: { status: 404, when: 'no route for this method and path' },
  model_not_found: { status: 404, when: 'no served model with this name' },
  request_timeout: { status: 408, when: 'the client did not send the whole request within `REQUEST_TIMEOUT_MS`' },
  reload_in_progress: { status: 409, when: 'the model is being reloaded already' },
  item_exists: { status: 409, when: 'POST /v1/items of an id that is in a catalogue already (an exported item can only be hidden; an added one is changed with PUT)' },
  item_not_placed: { status: 409, when: 'no served model can give the new item a semantic ID: no content encoder, no word of its text in the encoder vocabulary, or no free code under its nearest prefixes; `details.models` gives the reason of each model' },
  payload_too_large: { status: 413, when: 'the body is over `BODY_LIMIT_BYTES`' },
  uri_too_long: { status: 414, when: 'a path parameter is longer than the router accepts' },
  unsupported_media_type: { status: 415, when: 'a body that is not `application/json`, or compressed (`Content-Encoding`)' },
  expectation_failed: { status: 417, when: 'an `Expect` header other than `100-continue`' },
  model_rejected: { status: 422, when: 'a reload found a model that cannot be loaded or does not reproduce its parity vectors; the old one keeps serving' },
  rate_limited: { status: 429, when: 'over `RATE_LIMIT_MAX` per window, or too many failed authentications; `Retry-After` gives the seconds until the window resets' },
  headers_too_large: { status: 431, when: 'the request line and headers are over 16 KiB' },
  internal_error: { status: 500, when: 'a bug; never with internals in the body, logged with the request id' },
  inference_failed: { status: 500, when: 'the inference worker failed on this batch' },
  overloaded: { status: 503, when: 'the expected wait for inference is over `MAX_QUEUE_WAIT_MS` or the queue is full; answered at once, with `Retry-After`' },
  inference_timeout: { status: 503, when: 'inference did not finish within `INFERENCE_TIMEOUT_MS`; with `Retry-After`' },
  history_store_unavailable: {
    status: 503,
    when: 'Redis is down and the request needs the stored history or writes it; with `Retry-After`. For a write, `details.outcome` is `not_written` or `unknown` (a timeout: it may have been stored): retry with the same `eventId`s (`details.eventIds`)'
  },
  shutting_down: { status: 503, when: 'the instance is draining after SIGTERM; with `Retry-After`, retry on another instance' },
  not_ready: { status: 503, when: '`/readyz` only: no inference worker is up, or the instance is draining; `details.checks` says which', readinessOnly: true }
} as const satisfies Record<string, { status: number, when: string, readinessOnly?: true }>

export type ErrorCode = keyof typeof ERROR_CODES

export class AppError extends Error {
  readonly statusCode: number
  constructor (
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>
  ) {
    super(message)
    this.name = 'AppError'
    this.statusCode = ERROR_CODES[code].status
  }
}

/** Refusals under load are made by the thousand per second: without the stack trace nobody reads. */
function withoutStack<T> (make: () => T): T {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try { return make() } finally { Error.stackTraceLimit = limit }
}

const retryAfter = (seconds: number) => ({ 'retry-after': String(Math.max(1, Math.ceil(seconds))) })

export const errors = {
  validation: (field: string, message: string, details: Record<string, unknown> = {}) =>
    new AppError('validation_error', message, { field, ...details }),
  badRequest: (message: string) => new AppError('bad_request', message),
  unauthorized: () => new AppError('unauthorized', 'a valid API key is required (header x-api-key or Authorization: Bearer)'),
  notFound: (what: 'item' | 'user', id: string) => new AppError(`${what}_not_found`, `${what} "${id}" was not found`, { id }),
  rateLimited: (seconds: number, what = 'too many requests') => withoutStack(() =>
    new AppError('rate_limited', `${what}; retry in ${Math.max(1, Math.ceil(seconds))} s`, undefined, retryAfter(seconds))),
  overloaded: (retryAfterSeconds: number) => withoutStack(() =>
    new AppError('overloaded', 'the service cannot answer this request in time; retry later', undefined, retryAfter(retryAfterSeconds))),
  historyStoreUnavailable: (details: Record<string, unknown> = {}) =>
    new AppError('history_store_unavailable', 'the history store is unavailable; send the history in the request or retry later', details, retryAfter(1)),
  inferenceFailed: () => new AppError('inference_failed', 'inference failed'),
  timeout: () => withoutStack(() => new AppError('inference_timeout', 'inference did not finish in time; retry later', undefined, retryAfter(1))),
  shuttingDown: () => withoutStack(() => new AppError('shutting_down', 'this instance is shutting down; retry', undefined, { ...retryAfter(1), connection: 'close' }))
}

/** Thrown at start-up when the model directory cannot be served; the message names the file. */
export class ModelLoadError extends Error {
  constructor (readonly file: string, message: string) {
    super(`${file}: ${message}`)
    this.name = 'ModelLoadError'
  }
}
