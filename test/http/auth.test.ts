// Authentication and rate limiting are decided on the matched route: no spelling of a path reaches a
// /v1 route without a key, and every spelling that reaches one is counted by the rate limit.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { assertErrorShape, listen, raw } from '../helper.js'

const KEY = '0123456789abcdef0123'
const KEY_B = 'fedcba9876543210fedc'

// every /v1 route and method, with a body each accepts
const ROUTES: Array<[string, string, string | undefined]> = [
  ['POST', '/v1/recommendations', '{"history":["1"],"k":2}'],
  ['GET', '/v1/users/alice/recommendations', undefined],
  ['POST', '/v1/users/alice/events', '{"itemId":"1"}'],
  ['GET', '/v1/users/alice/history', undefined],
  ['PUT', '/v1/users/alice/history', '{"events":[{"itemId":"1"}]}'],
  ['DELETE', '/v1/users/alice/history', undefined],
  ['GET', '/v1/items/1', undefined],
  ['GET', '/v1/items', undefined],
  ['GET', '/v1/model', undefined]
]

const encodeAll = (s: string) => [...s].map(c => c === '/' ? c : `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')

/** Spellings of a path that a router, a proxy or a client might treat as the same route. */
function variants (path: string): string[] {
  const rest = path.slice('/v1'.length)
  return [
    path,
    `/%761${rest}`, `/%76%31${rest}`, `/v%31${rest}`, `/%56%31${rest}`, encodeAll(path),
    `//v1${rest}`, `/v1/${rest}`, `/v1${rest.replace(/\//g, '//')}`,
    `${path}/`, `${path}//`,
    `/V1${rest}`, `/v1${rest.toUpperCase()}`,
    `/v1/.${rest}`, `/v1/x/..${rest}`, `/x/../v1${rest}`, `/%2e/v1${rest}`, `/v1/%2e%2e/v1${rest}`, `/./v1${rest}`,
    `/v1%2F${rest.slice(1)}`, `${path}?x=1`, `${path}#frag`, `${path};x=1`
  ]
}

test('no spelling of a /v1 path gets past the API key check, for any route and method', async (t) => {
  const { port } = await listen(t, { API_KEYS: KEY, AUTH_FAILURES_MAX: '100000' })
  let tried = 0
  for (const [method, path, body] of ROUTES) {
    for (const variant of variants(path)) {
      const res = await raw(port, method, variant, {}, body)
      tried++
      assert.ok(res.status === 401 || res.status === 404 || res.status === 400, `${method} ${variant} without a key answered ${res.status}: ${res.body}`)
      assertErrorShape(res.status, res.headers, res.json(), `${method} ${variant}`)
    }
    const authorised = await raw(port, method, path, { 'x-api-key': KEY }, body)
    assert.ok(authorised.status < 500 && authorised.status !== 401, `${method} ${path} with the key: ${authorised.status}`)
  }
  assert.ok(tried > 150)
  // the reported bypass, exactly
  assert.equal((await raw(port, 'GET', '/%761/users/alice/history')).status, 401)
  assert.equal((await raw(port, 'DELETE', '/%761/users/alice/history')).status, 401)
})

test('the rate limit counts every spelling that reaches a route', async (t) => {
  const { port } = await listen(t, { API_KEYS: KEY, RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' })
  const statuses = []
  for (const path of ['/v1/items/1', '/%761/items/1', '/v%31/items/1', '/v1/items/%31']) statuses.push((await raw(port, 'GET', path, { 'x-api-key': KEY })).status)
  assert.deepEqual(statuses, [200, 200, 200, 429])
})

test('without API keys, the limit is per client IP: a made-up x-api-key header does not escape it', async (t) => {
  const { port } = await listen(t, { RATE_LIMIT_MAX: '3' })
  const statuses = []
  for (let i = 0; i < 5; i++) statuses.push((await raw(port, 'GET', '/v1/items/1', { 'x-api-key': `random-${i}-${Math.random()}` })).status)
  assert.deepEqual(statuses, [200, 200, 200, 429, 429])
})

test('with API keys, the limit is per key however it is sent, and 429 says the true seconds until the window resets', async (t) => {
  const { port } = await listen(t, { API_KEYS: `${KEY},${KEY_B}`, RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' })
  const bearer = { authorization: `Bearer ${KEY}` }
  assert.equal((await raw(port, 'GET', '/v1/items/1', bearer)).status, 200)
  assert.equal((await raw(port, 'GET', '/v1/items/1', { 'x-api-key': KEY })).status, 200) // the same key, the other header
  const limited = await raw(port, 'GET', '/v1/items/1', bearer)
  assert.equal(limited.status, 429)
  assert.equal(limited.json().code, 'rate_limited')
  assertErrorShape(429, limited.headers, limited.json())
  const retryAfter = Number(limited.headers['retry-after'])
  assert.ok(retryAfter >= 55 && retryAfter <= 60, `Retry-After ${String(limited.headers['retry-after'])}`)
  // another client on the same IP keeps its own quota
  assert.equal((await raw(port, 'GET', '/v1/items/1', { 'x-api-key': KEY_B })).status, 200)
})

test('failed authentications are rate-limited per client IP', async (t) => {
  const { port } = await listen(t, { API_KEYS: KEY, AUTH_FAILURES_MAX: '3' })
  const statuses = []
  for (let i = 0; i < 5; i++) statuses.push((await raw(port, 'GET', '/v1/items/1', { 'x-api-key': `wrong-key-number-${i}` })).status)
  assert.deepEqual(statuses, [401, 401, 401, 429, 429])
  const limited = await raw(port, 'GET', '/v1/items/1', { authorization: 'Bearer nope' })
  assert.equal(limited.json().code, 'rate_limited')
  assert.match(limited.json().message, /failed authentications/)
  assert.equal((await raw(port, 'GET', '/v1/items/1', { 'x-api-key': KEY })).status, 200, 'a valid key still works')
})

test('probes stay public; docs and metrics are public unless PROTECT_DOCS / PROTECT_METRICS', async (t) => {
  const open = await listen(t, { API_KEYS: KEY })
  for (const path of ['/healthz', '/readyz', '/metrics', '/docs/json', '/openapi.json']) assert.equal((await raw(open.port, 'GET', path)).status, 200, path)
  const closed = await listen(t, { API_KEYS: KEY, PROTECT_DOCS: 'true', PROTECT_METRICS: 'true' })
  for (const path of ['/healthz', '/readyz']) assert.equal((await raw(closed.port, 'GET', path)).status, 200, path)
  for (const path of ['/metrics', '/docs/json', '/docs/', '/docs/static/index.css', '/openapi.json', '/%64ocs/json']) {
    assert.equal((await raw(closed.port, 'GET', path)).status, 401, path)
    assert.equal((await raw(closed.port, 'GET', path, { 'x-api-key': KEY })).status, 200, path)
  }
})
