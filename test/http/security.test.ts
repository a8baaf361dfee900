import { test } from 'node:test'
import assert from 'node:assert/strict'
import { build } from '../helper.js'

test('nosniff everywhere; no-store on user data and errors; catalogue lookups stay cacheable', async (t) => {
  const { app } = await build(t)
  const userData = [
    { method: 'POST' as const, url: '/v1/recommendations', payload: { history: ['1'] } },
    { method: 'GET' as const, url: '/v1/users/u1/recommendations' },
    { method: 'POST' as const, url: '/v1/users/u1/events', payload: { itemId: '1' } },
    { method: 'GET' as const, url: '/v1/users/u1/history' },
    { method: 'PUT' as const, url: '/v1/users/u1/history', payload: { events: [{ itemId: '2' }] } },
    { method: 'DELETE' as const, url: '/v1/users/u1/history' },
    { method: 'GET' as const, url: '/v1/users/u1/history' } // 404 now
  ]
  for (const request of userData) {
    const res = await app.inject(request)
    assert.equal(res.headers['x-content-type-options'], 'nosniff', request.url)
    assert.equal(res.headers['cache-control'], 'no-store', `${request.method} ${request.url} ${res.statusCode}`)
  }
  const item = await app.inject({ url: '/v1/items/1' })
  assert.equal(item.headers['x-content-type-options'], 'nosniff')
  assert.equal(item.headers['cache-control'], undefined)
  assert.equal((await app.inject({ url: '/v1/items/nope' })).headers['cache-control'], 'no-store')
})

test('a client x-request-id is kept only when it is a short token of safe characters', async (t) => {
  const { app } = await build(t)
  const id = async (given: string) => (await app.inject({ url: '/healthz', headers: { 'x-request-id': given } })).headers['x-request-id']
  assert.equal(await id('trace-1.2:abc_D'), 'trace-1.2:abc_D')
  for (const bad of ['a'.repeat(65), 'has space', 'new\u2028line', '<script>', 'a"b', '{"json":1}', '']) {
    const got = await id(bad)
    assert.notEqual(got, bad)
    assert.match(String(got), /^[0-9a-f-]{36}$/)
  }
  const error = await app.inject({ url: '/v1/items/nope', headers: { 'x-request-id': 'bad id' } })
  assert.equal(error.json().requestId, error.headers['x-request-id'])
})
