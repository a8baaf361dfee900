import { test } from 'node:test'
import assert from 'node:assert/strict'
import { toHttpError } from '../src/app.js'
import { build } from './helper.js'

const KEY = '0123456789abcdef0123'

test('an oversized body is 413 in the common error shape', async (t) => {
  const { app } = await build(t, { BODY_LIMIT_BYTES: '1024' })
  const res = await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: Array.from({ length: 300 }, (_, i) => String(i)) } })
  assert.equal(res.statusCode, 413)
  assert.equal(res.json().code, 'payload_too_large')
  assert.equal(typeof res.json().requestId, 'string')
})

test('with API keys configured every /v1 route needs one; probes do not', async (t) => {
  const { app } = await build(t, { API_KEYS: KEY })
  const denied = await app.inject({ method: 'GET', url: '/v1/items/1' })
  assert.equal(denied.statusCode, 401)
  assert.equal(denied.json().code, 'unauthorized')
  assert.equal((await app.inject({ method: 'GET', url: '/v1/items/1', headers: { 'x-api-key': 'wrong-key-wrong-key!' } })).statusCode, 401)
  assert.equal((await app.inject({ method: 'GET', url: '/v1/items/1', headers: { 'x-api-key': KEY } })).statusCode, 200)
  assert.equal((await app.inject({ method: 'GET', url: '/v1/items/1', headers: { authorization: `Bearer ${KEY}` } })).statusCode, 200)
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
})

test('rate limiting answers 429', async (t) => {
  const { app } = await build(t, { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' })
  const codes = []
  for (let i = 0; i < 5; i++) codes.push((await app.inject({ method: 'GET', url: '/v1/items/1' })).statusCode)
  assert.deepEqual(codes, [200, 200, 200, 429, 429])
  const res = await app.inject({ method: 'GET', url: '/v1/items/1' })
  assert.equal(res.json().code, 'rate_limited')
})

test('CORS answers only the allowed origins', async (t) => {
  const { app } = await build(t, { CORS_ORIGINS: 'https://shop.example' })
  const ok = await app.inject({ method: 'GET', url: '/v1/items/1', headers: { origin: 'https://shop.example' } })
  assert.equal(ok.headers['access-control-allow-origin'], 'https://shop.example')
  const other = await app.inject({ method: 'GET', url: '/v1/items/1', headers: { origin: 'https://evil.example' } })
  assert.equal(other.headers['access-control-allow-origin'], undefined)
})

test('unknown routes are 404 and internal errors never leak their message', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'GET', url: '/v2/nothing' })
  assert.equal(res.statusCode, 404)
  assert.equal(res.json().code, 'route_not_found')
  const internal = toHttpError(new Error('password=hunter2 at /etc/secret'))
  assert.equal(internal.statusCode, 500)
  assert.equal(internal.message, 'internal error')
})
