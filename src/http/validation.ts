// Request validation (Ajv, JSON Schema from the routes' TypeBox schemas), strict about types:
// - JSON bodies are validated as sent: no coercion, so "k": true or "excludeSeen": null is a 400, never a
//   silent reinterpretation. null is never accepted: omit an optional field for its default.
// - Query strings and path parameters arrive as text; only plain decimal integers ("12", not "1e1",
//   "Infinity" or "0x10"), and true/false are turned into numbers and booleans, and a repeated parameter
//   (categories=a&categories=b) is an array. Everything else is left as text for the schema to refuse.
// Every failure is a 400 validation_error whose details.field names the offending field in full
// (body.events.1.timestamp, query.beamWidth, body.surprise) and whose message says what is allowed.
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv'
import formatsModule from 'ajv-formats'
import type { FastifySchema, FastifySchemaCompiler } from 'fastify'
import { AppError, errors } from '../errors.js'

// ajv and ajv-formats are CommonJS modules with a default export
const Ajv = AjvModule.default
const addFormats = formatsModule.default

interface Schema {
  type?: string | string[]
  properties?: Record<string, Schema>
  items?: Schema
  anyOf?: Schema[]
  pattern?: string
  [key: string]: unknown
}

/** Patterns used by the schemas, said in words. */
export const PATTERN_WORDS: Record<string, string> = {}

/** Registers a pattern with its description in words, for schemas and for error messages. */
export function pattern (regex: string, words: string): { pattern: string } {
  PATTERN_WORDS[regex] = words
  return { pattern: regex }
}

const INTEGER = /^-?\d{1,16}$/
const NUMBER = /^-?\d{1,16}(\.\d{1,16})?$/

function scalarFromText (schema: Schema | undefined, value: string): unknown {
  const type = schema?.type
  if (type === 'integer' && INTEGER.test(value)) return Number(value)
  if (type === 'number' && NUMBER.test(value)) return Number(value)
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true'
  return value
}

/** Query and path values: strict text-to-type conversion driven by the schema (see the header). */
function fromText (schema: Schema, data: Record<string, unknown> | null): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, raw] of Object.entries(data ?? {})) {
    const property = schema.properties?.[key]
    if (property?.type === 'array') {
      const values = Array.isArray(raw) ? raw : [raw]
      out[key] = values.map(v => typeof v === 'string' ? scalarFromText(property.items, v) : v)
    } else if (typeof raw === 'string') {
      out[key] = scalarFromText(property, raw)
    } else {
      out[key] = raw // a repeated scalar parameter stays an array and is refused by the schema
    }
  }
  return out
}

function valueAt (data: unknown, instancePath: string): unknown {
  let value = data
  for (const part of instancePath.split('/').slice(1)) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')]
  }
  return value
}

const ARTICLE: Record<string, string> = { integer: 'an integer', number: 'a number', string: 'a string', boolean: 'a boolean', object: 'an object', array: 'an array', null: 'null' }

/** JSON.parse reads 1e309 as Infinity: the path of the first non-finite number, or undefined (iterative: bodies may nest deeply). */
function nonFinite (data: unknown): string | undefined {
  const stack: Array<[unknown, string]> = [[data, '']]
  while (stack.length > 0) {
    const [value, path] = stack.pop()!
    if (typeof value === 'number' && !Number.isFinite(value)) return path
    if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) stack.push([child, `${path}.${key}`])
    }
  }
  return undefined
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

function words (error: ErrorObject, value: unknown, fromUrl: boolean): string {
  const p = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'required': return 'is required'
    case 'additionalProperties': return 'is not a known field'
    case 'type': {
      const type = String(p.type).split(',').map(t => ARTICLE[t] ?? t).join(' or ')
      if (value === null) return `must be ${type}, not null`
      if (fromUrl && Array.isArray(value) && p.type !== 'array') return `must be ${type}, given once`
      return `must be ${type}`
    }
    case 'minimum': return `must be at least ${String(p.limit)}`
    case 'maximum': return `must be at most ${String(p.limit)}`
    case 'exclusiveMinimum': return `must be greater than ${String(p.limit)}`
    case 'exclusiveMaximum': return `must be less than ${String(p.limit)}`
    case 'minLength': return `must be at least ${plural(Number(p.limit), 'character')} long`
    case 'maxLength': return `must be at most ${plural(Number(p.limit), 'character')} long`
    case 'minItems': return `must have at least ${plural(Number(p.limit), 'item')}`
    case 'maxItems': return `must have at most ${plural(Number(p.limit), 'item')}`
    case 'pattern': return PATTERN_WORDS[String(p.pattern)] ?? 'has characters that are not allowed'
    case 'format': return p.format === 'date-time' ? 'must be a date-time such as 2026-01-31T12:00:00Z (RFC 3339)' : `must be a valid ${String(p.format)}`
    case 'const': return `must be ${JSON.stringify(p.allowedValue)}`
    case 'enum': return `must be one of ${(p.allowedValues as unknown[]).map(v => JSON.stringify(v)).join(', ')}`
    default: return error.message ?? 'is invalid'
  }
}

/**
 * The one error to report: the deepest one (with unions, the branch that got furthest into the data);
 * a union of constants is reported as "must be one of ...".
 */
export function describe (ajvErrors: ErrorObject[], where: string, data: unknown, fromUrl = false): AppError {
  // a missing or unknown property is half a level deeper than its object: a branch that accepted the
  // object's shape and failed inside a property wins over one that refused the shape
  const depth = (e: ErrorObject) => e.instancePath.split('/').length + (e.keyword === 'required' || e.keyword === 'additionalProperties' ? 0.5 : 0)
  const deepest = Math.max(...ajvErrors.map(depth))
  const candidates = ajvErrors.filter(e => depth(e) === deepest && e.keyword !== 'anyOf' && e.keyword !== 'oneOf')
  const consts = candidates.filter(e => e.keyword === 'const')
  const first = candidates[0] ?? ajvErrors[0]
  const p = first.params as Record<string, unknown>
  const child = first.keyword === 'required' ? p.missingProperty : first.keyword === 'additionalProperties' ? p.additionalProperty : undefined
  const field = `${where}${first.instancePath.split('/').slice(1).map(s => `.${s}`).join('')}${child !== undefined ? `.${String(child)}` : ''}`
  const value = valueAt(data, first.instancePath)
  const message = consts.length > 1 && consts.length === candidates.length
    ? `must be one of ${consts.map(e => JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)).join(', ')}`
    : words(first, value, fromUrl)
  return errors.validation(field, `${field} ${message}`)
}

const PARTS: Record<string, string> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' }

/**
 * The validator compiler for every route (Fastify's setValidatorCompiler). `shared` are the schemas
 * registered with addSchema, so that $refs resolve.
 */
export function validatorCompiler (shared: object[]): FastifySchemaCompiler<FastifySchema> {
  const ajv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false })
  addFormats(ajv)
  for (const schema of shared) ajv.addSchema(schema)
  return ({ schema, httpPart }) => {
    const validate: ValidateFunction = ajv.compile(schema as object)
    const where = PARTS[httpPart ?? 'body'] ?? String(httpPart)
    const fromUrl = httpPart === 'querystring' || httpPart === 'params'
    return (input: unknown) => {
      const data = fromUrl ? fromText(schema as Schema, input as Record<string, unknown> | null) : input
      const infinite = fromUrl ? undefined : nonFinite(data)
      if (infinite !== undefined) return { error: errors.validation(`${where}${infinite}`, `${where}${infinite} must be a finite number`) }
      if (validate(data)) return { value: data }
      return { error: describe(validate.errors ?? [], where, data, fromUrl) }
    }
  }
}
