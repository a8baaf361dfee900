// The OpenAPI document is what frontend teams generate clients from: it must be valid OpenAPI 3.0.3, name
// its schemas, describe every response, and carry examples that validate, for requests that really work.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import AjvModule from 'ajv'
import formatsModule from 'ajv-formats'
import { Validator } from '@seriousme/openapi-schema-validator'
import { ADMIN_ENV, ADMIN_HEADERS, build, SHIPPED_MODELS } from './helper.js'

const Ajv = AjvModule.default
const addFormats = formatsModule.default
type Schema = Record<string, any>

async function documentOf (t: import('node:test').TestContext, env: Record<string, string> = {}) {
  const built = await build(t, env)
  await built.app.ready()
  return { ...built, doc: built.app.swagger() as Schema }
}

function operations (doc: Schema): Array<{ method: string, path: string, op: Schema }> {
  return Object.entries<Schema>(doc.paths).flatMap(([p, ops]) => Object.entries<Schema>(ops).map(([method, op]) => ({ method, path: p, op })))
}

test('the document is valid OpenAPI 3.0.3, with or without API keys', async (t) => {
  const envs: Array<Record<string, string>> = [{}, { API_KEYS: '0123456789abcdef0123' }]
  for (const env of envs) {
    const { doc } = await documentOf(t, env)
    const result = await new Validator().validate(doc)
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 2000))
    assert.equal(doc.openapi, '3.0.3')
    // the probes are public whatever the keys: they must not be documented as secured
    for (const route of ['/healthz', '/readyz', '/metrics']) assert.deepEqual(doc.paths[route].get.security, [], route)
    // admin routes need a key whatever API_KEYS says: documented as keyed, so "Try it out" sends it
    for (const [route, method] of [['/v1/admin/events', 'get'], ['/v1/items', 'post'], ['/v1/items/{itemId}/availability', 'put']]) {
      assert.deepEqual(doc.paths[route][method].security, [{ apiKey: [] }, { bearer: [] }], `${method} ${route}`)
    }
  }
})

test('component schemas are named, every response is described, errors refer to Error', async (t) => {
  const { doc } = await documentOf(t)
  const names = Object.keys(doc.components.schemas)
  for (const name of ['Error', 'RecommendationRequest', 'Recommendation', 'RecommendedItem', 'CatalogueItem', 'Event', 'EventInput', 'History', 'ModelInfo']) {
    assert.ok(names.includes(name), `${name} missing from ${names.join(',')}`)
  }
  assert.ok(!names.some(n => /^def-\d+$/.test(n)), names.join(','))
  for (const { method, path: p, op } of operations(doc)) {
    assert.ok(typeof op.summary === 'string' && op.summary.length > 0, `${method} ${p}: summary`)
    for (const [status, response] of Object.entries<Schema>(op.responses)) {
      assert.ok(response.description !== 'Default Response' && response.description.length > 3, `${method} ${p} ${status}: ${response.description}`)
      if (Number(status) >= 400) assert.equal(response.content['application/json'].schema.$ref, '#/components/schemas/Error', `${method} ${p} ${status}`)
    }
  }
})

function compiler (doc: Schema) {
  const ajv = new Ajv({ strict: false })
  addFormats(ajv)
  for (const [name, schema] of Object.entries<Schema>(doc.components.schemas)) ajv.addSchema(schema, `#/components/schemas/${name}`)
  return ajv
}

function exampleOf (doc: Schema, schema: Schema | undefined, media?: Schema): unknown {
  if (media?.example !== undefined) return media.example
  if (schema === undefined) return undefined
  if (schema.example !== undefined) return schema.example
  if (typeof schema.$ref === 'string') return doc.components.schemas[schema.$ref.split('/').pop()!].example
  return undefined
}

/** A media type's examples: its named examples (OpenAPI Example Objects) when it has them, else its one example. */
function examplesOf (doc: Schema, media: Schema): unknown[] {
  if (media.examples !== undefined) return Object.values<Schema>(media.examples).map(e => e.value)
  const one = exampleOf(doc, media.schema, media)
  return one === undefined ? [] : [one]
}

test('every request body and success response has an example that validates against its schema', async (t) => {
  const { doc } = await documentOf(t)
  const ajv = compiler(doc)
  let checked = 0
  for (const { method, path: p, op } of operations(doc)) {
    const media = op.requestBody?.content?.['application/json']
    if (media !== undefined) {
      const examples = examplesOf(doc, media)
      assert.ok(examples.length > 0, `${method} ${p}: request body example`)
      for (const example of examples) assert.ok(ajv.validate(media.schema, example), `${method} ${p} request example: ${ajv.errorsText()}`)
      checked++
    }
    for (const [status, response] of Object.entries<Schema>(op.responses)) {
      if (Number(status) >= 300 || response.content === undefined) continue
      const [type, content] = Object.entries<Schema>(response.content)[0]
      const example = exampleOf(doc, content.schema, content)
      assert.notEqual(example, undefined, `${method} ${p} ${status} ${type}: response example`)
      assert.ok(ajv.validate(content.schema, example), `${method} ${p} ${status} example: ${ajv.errorsText()}`)
      checked++
    }
  }
  assert.ok(checked >= 14, `${checked}`)
})

test('the documented example requests work, and their live responses validate against the documented schemas', async (t) => {
  const { doc, app } = await documentOf(t, ADMIN_ENV)
  const ajv = compiler(doc)
  // order matters: create before changing (an added item), write a history before reading it, delete last
  const order = ['post', 'put', 'get', 'delete']
  const ops = operations(doc).sort((a, b) => order.indexOf(a.method) - order.indexOf(b.method))
  for (const { method, path: p, op } of ops) {
    let url = p
    const query: string[] = []
    for (const parameter of op.parameters ?? []) {
      const example = parameter.example ?? parameter.schema?.example
      if (parameter.in === 'path') {
        assert.notEqual(example, undefined, `${method} ${p}: example for ${String(parameter.name)}`)
        url = url.replace(`{${String(parameter.name)}}`, encodeURIComponent(String(example)))
      } else if (example !== undefined) query.push(`${String(parameter.name)}=${encodeURIComponent(String(example))}`)
    }
    const media = op.requestBody?.content?.['application/json']
    const headers = op.security !== undefined && op.security.length > 0 ? ADMIN_HEADERS : {} // documented as keyed: the admin routes
    for (const payload of media === undefined ? [undefined] : examplesOf(doc, media)) {
      const res = await app.inject({ method: method.toUpperCase() as 'GET', url: query.length > 0 ? `${url}?${query.join('&')}` : url, headers, ...(payload !== undefined && { payload: payload as object }) })
      assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body.slice(0, 300)}`)
      const documented = op.responses[String(res.statusCode)]
      assert.ok(documented !== undefined, `${method} ${p}: status ${res.statusCode} is not documented`)
      const json = documented.content?.['application/json']
      if (json !== undefined) assert.ok(ajv.validate(json.schema, res.json()), `${method} ${p}: live response does not match: ${ajv.errorsText()}`)
    }
  }
})

test('recommendation requests document both strategies: named body examples, and query examples for sampling', async (t) => {
  const { doc, app } = await documentOf(t)
  const media = doc.paths['/v1/recommendations'].post.requestBody.content['application/json']
  assert.deepEqual(Object.keys(media.examples), ['beam', 'sample'])
  assert.equal(media.examples.sample.value.strategy, 'sample')
  const res = await app.inject({ method: 'POST', url: '/v1/recommendations', payload: media.examples.sample.value })
  assert.equal(res.statusCode, 200)
  assert.equal(res.json().seed, media.examples.sample.value.seed)
  assert.ok(res.json().items.every((i: { propensity?: number }) => typeof i.propensity === 'number'))
  const get = doc.paths['/v1/users/{userId}/recommendations'].get.parameters
  const example = (name: string) => get.find((x: Schema) => x.name === name)?.schema?.example ?? get.find((x: Schema) => x.name === name)?.example
  assert.deepEqual([example('strategy'), example('temperature'), example('seed')], ['sample', 1, 7])
})

test('the committed openapi.json is the document the service serves on its default model', async (t) => {
  const committed = JSON.parse(readFileSync(path.resolve(process.cwd(), 'openapi.json'), 'utf8'))
  const { doc } = await documentOf(t, { MODEL_DIR: path.join(SHIPPED_MODELS, 'beauty-gflowgr') })
  const served = JSON.stringify(doc, null, 2).split('\n')
  const stale = JSON.stringify(committed, null, 2).split('\n').findIndex((line, i) => line !== served[i])
  assert.equal(stale, -1, `openapi.json is stale from line ${stale + 1} (run npm run openapi): ${served[stale]}`)
})

test('every pattern in the document means the same without the u flag (Swagger UI, generators) as in the service, on BMP text', async (t) => {
  const { doc } = await documentOf(t)
  const patterns = new Set<string>()
  const collect = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return
    const pattern = (node as Schema).pattern
    if (typeof pattern === 'string') patterns.add(pattern)
    Object.values(node).forEach(collect)
  }
  collect(doc)
  assert.ok(patterns.size >= 3)
  const samples = ['user-42', 'Cc', 'specific', 'B004756YJA', 'ok ☃', 'a b', '.', '..', '...', 'x\u0007', 'x\u200By', 'x\u00ADy', '\uFEFF', 'x\u0085', 'zürich', 'user😀', 'tab\there']
  for (const pattern of patterns) {
    assert.ok(!pattern.includes('\\p{'), pattern)
    const plain = new RegExp(pattern) // how Swagger UI reads it
    const unicode = new RegExp(pattern, 'u')
    for (const s of samples) assert.equal(plain.test(s), unicode.test(s), `${pattern} on ${JSON.stringify(s)}`)
  }
  // and the service agrees with the document on the same text
  const userId = doc.paths['/v1/users/{userId}/history'].get.parameters.find((p: Schema) => p.name === 'userId').schema.pattern
  const { app } = await build(t)
  for (const s of samples.filter(s => s !== '.' && s !== '..')) { // URLs resolve those as path steps
    const res = await app.inject({ url: `/v1/users/${encodeURIComponent(s)}/history` })
    assert.equal(res.statusCode !== 400, new RegExp(userId).test(s), `${JSON.stringify(s)}: ${res.statusCode} ${res.body.slice(0, 120)}`)
  }
})
