// Fuzzing from the OpenAPI document: 5,000 requests (fixed seed) over every operation, mixing valid values
// drawn from the schemas with hostile ones (non-finite and huge numbers, wrong types, null, control
// characters, deep nesting, oversized arrays, encoded paths, odd content types), against the real server
// process. None may get a 5xx, every error must be in the documented shape, every success must validate
// against its documented schema, and the process must be alive at the end.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import AjvModule from 'ajv'
import formatsModule from 'ajv-formats'
import { assertErrorShape, raw, startServer } from './helper.js'

const Ajv = AjvModule.default
const addFormats = formatsModule.default

type Schema = Record<string, any>
interface Operation { method: string, path: string, params: Schema[], body?: Schema, responses: Record<string, Schema> }

function mulberry32 (seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

test('5,000 generated requests across every route: no 5xx, one error shape, valid successes, process alive', async (t) => {
  const server = await startServer({ LOG_LEVEL: 'warn', MAX_QUEUE_WAIT_MS: '5000', INFERENCE_TIMEOUT_MS: '10000' }, t)
  const doc = await (await fetch(`${server.base}/openapi.json`)).json()
  const components: Record<string, Schema> = doc.components.schemas
  const resolve = (s: Schema): Schema => typeof s?.$ref === 'string' ? resolve(components[s.$ref.split('/').pop()!]) : s
  const operations: Operation[] = []
  for (const [path, ops] of Object.entries<Record<string, Schema>>(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      operations.push({
        method: method.toUpperCase(),
        path,
        params: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema,
        responses: Object.fromEntries(Object.entries<Schema>(op.responses).map(([status, r]) => [status, r.content?.['application/json']?.schema]))
      })
    }
  }
  const ajv = new Ajv({ strict: false, unicodeRegExp: true })
  addFormats(ajv)
  for (const [name, schema] of Object.entries(components)) ajv.addSchema({ ...schema, $id: `#/components/schemas/${name}` })

  const random = mulberry32(20261130)
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))
  const itemIds = ['1', '2', '50', '100', '1682', 'no-such-item']
  const hostileStrings = ['', ' ', 'a b', '\u0000', '\u001b[31m', '\u202e', '\ud800', 'é'.repeat(200), 'x'.repeat(5000), '../../etc/passwd', '%00', '<script>', '{"$gt":""}', 'null', 'Infinity']
  const hostileValues = [null, true, false, 0, -1, 1e309, -1e309, 1.5, 2 ** 53, 'Infinity', '1e309', [], {}, [[[[[]]]]], 'x'.repeat(300)]

  const valueFor = (schema: Schema, depth = 0): unknown => {
    const s = resolve(schema)
    if (random() < 0.08) return pick(hostileValues)
    if (s.anyOf !== undefined) return valueFor(pick(s.anyOf), depth)
    switch (Array.isArray(s.type) ? s.type[0] : s.type) {
      case 'integer': return random() < 0.8 ? int(s.minimum ?? 0, Math.min(s.maximum ?? 100, 100)) : pick([0, -5, 10_000, 65, 101])
      case 'number': return random() * 10
      case 'boolean': return random() < 0.5
      case 'string':
        if (s.format === 'date-time') return random() < 0.8 ? new Date(1_700_000_000_000 + int(0, 1e9)).toISOString() : pick(['yesterday', '2026-13-40T00:00:00Z'])
        if (random() < 0.15) return pick(hostileStrings)
        if (s.enum !== undefined) return pick(s.enum)
        return random() < 0.6 ? pick(itemIds) : pick(['Horror', 'Comedy', 'Drama', 'view', 'evt-1', 'u1', 'star wars'])
      case 'array': {
        const n = random() < 0.05 ? int(200, 2000) : int(0, 6)
        return Array.from({ length: n }, () => valueFor(s.items ?? {}, depth + 1))
      }
      case 'object': {
        const out: Record<string, unknown> = {}
        for (const [key, property] of Object.entries<Schema>(s.properties ?? {})) {
          if ((s.required ?? []).includes(key) || random() < 0.5) out[key] = valueFor(property, depth + 1)
        }
        if (random() < 0.05) out[pick(['surprise', '__proto__', 'constructor', 'k ', ''])] = 1
        return out
      }
      default: return pick(hostileValues)
    }
  }

  const render = (value: unknown): string => typeof value === 'string' ? value : JSON.stringify(value)
  const encode = (text: string): string => {
    try { return encodeURIComponent(text) } catch { return '%ED%A0%80' } // lone surrogate: invalid UTF-8 on the wire
  }

  function request (op: Operation): { method: string, path: string, headers: Record<string, string>, body?: string } {
    let path = op.path
    const query: string[] = []
    for (const p of op.params) {
      const value = p.in === 'path' && random() < 0.85 ? pick([...itemIds, 'u1', 'user-42']) : valueFor(p.schema)
      if (p.in === 'path') path = path.replace(`{${p.name}}`, random() < 0.05 ? pick(['%zz', '%2F', '..', '%252e', 'a'.repeat(2000)]) : encode(render(value)))
      else if (random() < 0.6) {
        const values = Array.isArray(value) ? value : [value]
        for (const v of values.slice(0, 30)) query.push(`${encode(p.name)}=${encode(render(v))}`)
      }
    }
    if (random() < 0.03) query.push(`${pick(['x', 'k[]', '__proto__'])}=${pick(['1', '', '%zz'])}`)
    if (query.length > 0) path += `?${query.join('&')}`
    const headers: Record<string, string> = {}
    if (random() < 0.1) headers['x-request-id'] = pick(['ok-id', 'bad id', 'x'.repeat(100), '\u00e9'])
    if (random() < 0.05) headers['x-api-key'] = 'whatever'
    let body: string | undefined
    if (op.body !== undefined) {
      headers['content-type'] = random() < 0.95 ? 'application/json' : pick(['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data'])
      const roll = random()
      body = roll < 0.85
        ? JSON.stringify(valueFor(op.body))
        : roll < 0.9 ? '['.repeat(int(1000, 50_000)) + ']'.repeat(int(0, 10))
          : roll < 0.95 ? pick(['', '{', 'null', '"string"', '{"k":1e999}', '{"a":' + '1'.repeat(400) + '}', '\u0000'])
            : JSON.stringify({ history: Array.from({ length: 600 }, () => 'x'.repeat(130)) })
    } else if (random() < 0.03) {
      headers['content-type'] = 'application/json'
      body = '{"unexpected": true}'
    }
    return { method: op.method, path, headers, body }
  }

  const statuses = new Map<number, number>()
  const failures: string[] = []
  let sent = 0
  const TOTAL = 5000
  const worker = async () => {
    while (sent < TOTAL) {
      sent++
      const op = pick(operations)
      const req = request(op)
      const label = `${req.method} ${req.path.slice(0, 120)} ${req.body?.slice(0, 80) ?? ''}`
      let res
      try {
        res = await raw(server.port, req.method, req.path, req.headers, req.body)
      } catch (error) {
        failures.push(`${label}: ${(error as Error).message}`)
        continue
      }
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      if (res.status >= 500) failures.push(`${label}: ${res.status} ${res.body.slice(0, 200)}`)
      if (res.status >= 400) {
        try { assertErrorShape(res.status, res.headers, res.json(), label) } catch (error) { failures.push((error as Error).message) }
      } else if (res.status < 300 && res.body !== '') {
        const schema = op.responses[String(res.status)] // JSON responses only: /metrics and the event export are text
        if (schema !== undefined && !ajv.validate(resolve(schema), res.json())) failures.push(`${label}: ${res.status} does not match its schema: ${ajv.errorsText()}`)
      }
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker))
  t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`)
  assert.deepEqual(failures.slice(0, 10), [])
  assert.ok(sent >= TOTAL)
  assert.ok((statuses.get(200) ?? 0) > 500, 'the fuzzer must reach the handlers, not only the validators')
  assert.equal(server.child.exitCode, null, 'the process is alive')
  assert.equal((await fetch(`${server.base}/readyz`)).status, 200)
})
