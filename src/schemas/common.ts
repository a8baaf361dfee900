// Schemas shared by the routes. Named schemas (with $id) are registered once with addSchema and become
// components of the OpenAPI document (#/components/schemas/<Name>); routes refer to them with ref().
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { ERROR_CODES, type ErrorCode } from '../errors.js'
import { pattern } from '../http/validation.js'

/** One of fixed strings, as a JSON Schema enum: OpenAPI 3.0 tools read enum (Swagger UI's dropdowns offer only an anyOf's first const). */
export function StringEnum<const T extends string> (values: readonly T[], options: Record<string, unknown> = {}) {
  return Type.Unsafe<T>({ type: 'string', enum: values, ...options })
}

/** A $ref to a named schema, typed as that schema. */
export function ref<T extends TSchema & { $id?: string }> (schema: T, options: Record<string, unknown> = {}) {
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id!, options))
}

export const ErrorResponse = Type.Object({
  code: Type.String({ description: 'Machine-readable code; the README and the response descriptions list them', example: 'validation_error' }),
  message: Type.String({ description: 'What went wrong, in words', example: 'body.k must be at most 100' }),
  requestId: Type.String({ description: 'Also in the x-request-id header and in the logs', example: '8ee5dc79-5446-4df9-9175-c409b667739c' }),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'For validation_error: field, the offending field in full' }))
}, { $id: 'Error', title: 'Error', description: 'The body of every response with status >= 400', additionalProperties: false })

export type ErrorBody = Static<typeof ErrorResponse>

/** Error responses of a route: one per status, listing the codes a client can get (not_ready: the readiness probe's only). */
export function errorResponses (...statuses: Array<number | 'readiness'>): Record<number, TSchema> {
  const out: Record<number, TSchema> = {}
  const readiness = statuses.includes('readiness')
  for (const status of [...new Set([400, 401, 404, 408, 414, 417, 429, 431, 500, 503, ...statuses.filter(s => s !== 'readiness')])].sort()) {
    const codes = (Object.keys(ERROR_CODES) as ErrorCode[])
      .filter(c => ERROR_CODES[c].status === status && (readiness || !('readinessOnly' in ERROR_CODES[c])))
    out[status] = ref(ErrorResponse, { description: codes.map(c => `\`${c}\`: ${ERROR_CODES[c].when}`).join('; ') })
  }
  return out
}

/** Error responses of a route that takes a JSON body. */
export const BODY_ERRORS = [413, 415]

// . and .. are refused too: clients normalise them away in a URL path, so such a user could not be reached
export const ID_PATTERN = pattern('^(?!\\.\\.?$)[^\\s\\p{Cc}\\p{Cf}\\p{Cs}]+$', 'must not contain whitespace, control characters or invisible formatting characters, and must not be . or ..')
export const MODEL_NAME = pattern('^[a-z0-9][a-z0-9._-]{0,63}$', 'must be a model name: lower case letters, digits, ., _ or -')
export const TEXT_PATTERN = pattern('^[^\\p{Cc}\\p{Cs}]*$', 'must not contain control characters')

export function ids (maxIdLength: number, exampleItemId = 'B004756YJA') {
  const Id = { minLength: 1, maxLength: maxIdLength, ...ID_PATTERN }
  return {
    ItemId: Type.String({ ...Id, description: `External item id (an ASIN, a MovieLens id): 1 to ${maxIdLength} characters without whitespace or control characters`, example: exampleItemId }),
    UserId: Type.String({ ...Id, description: `Your user id, 1 to ${maxIdLength} characters without whitespace or control characters; hashed to a user token by the model`, example: 'user-42' })
  }
}

const CatalogueItemFields = {
  itemId: Type.String(),
  title: Type.Union([Type.String(), Type.Null()]),
  brand: Type.Union([Type.String(), Type.Null()]),
  categories: Type.Array(Type.String()),
  semanticId: Type.Array(Type.Integer(), { description: 'The item\'s codes, one per level' }),
  available: Type.Boolean({ description: 'false: hidden from recommendations (PUT /v1/items/{itemId}/availability)' }),
  source: StringEnum(['export', 'added'], { description: 'export: in the model\'s exported catalogue; added: through POST /v1/items' })
}

/** An item of the catalogue; `example` is one of the loaded catalogue's items. */
export function catalogueItemSchema (example?: object) {
  return Type.Object(CatalogueItemFields, {
    $id: 'CatalogueItem', title: 'CatalogueItem', description: 'An item of the catalogue with its display fields', ...(example !== undefined && { examples: [example] })
  })
}

export const CatalogueItem = catalogueItemSchema()
