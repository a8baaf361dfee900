// One error family for the service; the HTTP mapping lives in app.ts (one place).
export class AppError extends Error {
  constructor (
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>
  ) {
    super(message)
    this.name = 'AppError'
  }
}

export const errors = {
  validation: (field: string, message: string) => new AppError(400, 'validation_error', message, { field }),
  unauthorized: () => new AppError(401, 'unauthorized', 'a valid API key is required (header x-api-key or Authorization: Bearer)'),
  notFound: (what: string, id: string) => new AppError(404, `${what}_not_found`, `${what} "${id}" was not found`, { id }),
  overloaded: (retryAfterSeconds: number) =>
    new AppError(503, 'overloaded', 'the inference queue is full; retry later', undefined, { 'retry-after': String(retryAfterSeconds) }),
  historyStoreUnavailable: (cause: string) =>
    new AppError(503, 'history_store_unavailable', 'the history store is unavailable; send the history in the request or retry later', { cause }),
  inferenceFailed: () => new AppError(500, 'inference_failed', 'inference failed'),
  timeout: () => new AppError(503, 'inference_timeout', 'inference did not finish in time; retry later', undefined, { 'retry-after': '1' })
}

/** Thrown at start-up when the model directory cannot be served; the message names the file. */
export class ModelLoadError extends Error {
  constructor (readonly file: string, message: string) {
    super(`${file}: ${message}`)
    this.name = 'ModelLoadError'
  }
}
