// Strict types: numbers must be finite integers within their bounds, JSON bodies are not coerced, query
// strings parse only plain decimal integers and true/false, and every error names its field in full.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { assertErrorShape, build } from '../helper.js'

async function expect400 (app: Awaited<ReturnType<typeof build>>['app'], request: { method?: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, body?: string },
  field: string, message?: RegExp): Promise<void> {
  const res = await app.inject({ method: request.method ?? 'GET', url: request.url, ...(request.payload !== undefined && { payload: request.payload as object }),
    ...(request.body !== undefined && { body: request.body, headers: { 'content-type': 'application/json' } }) })
  const context = `${request.method ?? 'GET'} ${request.url} ${request.body ?? JSON.stringify(request.payload) ?? ''}`
  assert.equal(res.statusCode, 400, `${context}: ${res.body}`)
  const body = res.json()
  assertErrorShape(400, res.headers, body, context)
  assert.equal(body.code, 'validation_error', context)
  assert.equal(body.details.field, field, `${context}: ${res.body}`)
  assert.ok(body.message.startsWith(field), body.message)
  if (message !== undefined) assert.match(body.message, message, context)
}

test('non-finite and non-decimal numbers are refused in the query, naming the field', async (t) => {
  const { app } = await build(t)
  for (const value of ['Infinity', '-Infinity', '1e309', '1e1', 'NaN', '0x10', '1.5', ' 5', '+5', '', '5abc']) {
    await expect400(app, { url: `/v1/users/u1/recommendations?k=1&beamWidth=${encodeURIComponent(value)}` }, 'query.beamWidth')
    await expect400(app, { url: `/v1/users/u1/recommendations?k=${encodeURIComponent(value)}` }, 'query.k')
    await expect400(app, { url: `/v1/items?limit=${encodeURIComponent(value)}` }, 'query.limit')
  }
  await expect400(app, { url: '/v1/users/u1/recommendations?beamWidth=65' }, 'query.beamWidth', /at most 64/)
  await expect400(app, { url: '/v1/users/u1/recommendations?k=0' }, 'query.k', /at least 1/)
  await expect400(app, { url: '/v1/users/u1/recommendations?k=2&k=3' }, 'query.k', /given once/)
  for (const value of ['0', '1', 'yes', 'TRUE', '']) await expect400(app, { url: `/v1/users/u1/recommendations?excludeSeen=${value}` }, 'query.excludeSeen')
  const ok = await app.inject({ url: '/v1/users/u1/recommendations?k=3&beamWidth=012&excludeSeen=false' })
  assert.equal(ok.statusCode, 200, ok.body)
  assert.equal(ok.json().items.length, 3)
})

test('JSON bodies are validated without coercion: wrong types and null are refused, naming the field', async (t) => {
  const { app } = await build(t)
  const post = (payload: unknown) => ({ method: 'POST' as const, url: '/v1/recommendations', payload })
  await expect400(app, post({ history: ['1'], excludeSeen: null }), 'body.excludeSeen', /must be a boolean, not null$/)
  await expect400(app, post({ history: ['1'], excludeSeen: 'false' }), 'body.excludeSeen', /must be a boolean/)
  await expect400(app, post({ history: ['1'], excludeSeen: 0 }), 'body.excludeSeen')
  await expect400(app, post({ k: true }), 'body.k', /must be an integer/)
  await expect400(app, post({ k: '5' }), 'body.k')
  await expect400(app, post({ k: 2.5 }), 'body.k')
  await expect400(app, post({ history: '1' }), 'body.history', /must be an array/)
  await expect400(app, post({ history: [1] }), 'body.history.0', /must be a string/)
  await expect400(app, post({ categories: null }), 'body.categories')
  await expect400(app, { method: 'POST', url: '/v1/recommendations', body: '{"k":1e309}' }, 'body.k', /finite/)
  await expect400(app, { method: 'POST', url: '/v1/recommendations', body: '{"beamWidth":-1e309}' }, 'body.beamWidth', /finite/)
  await expect400(app, { method: 'POST', url: '/v1/users/u1/events', body: '{"itemId":"1","type":"view","extra":1e999}' }, 'body.extra', /finite/)
  // the user's own item must not come back when exclusion is on (the reported silent coercion)
  const own = await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: ['1', '2'], k: 20 } })
  assert.ok(!own.json().items.some((i: { itemId: string }) => ['1', '2'].includes(i.itemId)))
})

test('errors name the field: unknown fields, the failing event of a batch, ids in words', async (t) => {
  const { app } = await build(t)
  await expect400(app, { method: 'POST', url: '/v1/recommendations', payload: { surprise: true } }, 'body.surprise', /not a known field/)
  await expect400(app, { method: 'POST', url: '/v1/users/u1/events', payload: { events: [{ itemId: '1' }, { itemId: '2', timestamp: 'yesterday' }] } },
    'body.events.1.timestamp', /date-time/)
  await expect400(app, { method: 'POST', url: '/v1/users/u1/events', payload: { events: [{ itemId: '1' }, { itemId: '2', colour: 'red' }] } }, 'body.events.1.colour')
  await expect400(app, { method: 'POST', url: '/v1/users/u1/events', payload: { events: [] } }, 'body.events', /at least 1 item/)
  await expect400(app, { method: 'POST', url: '/v1/users/u1/events', payload: { itemId: '1', surprise: 1 } }, 'body.surprise')
  await expect400(app, { method: 'POST', url: '/v1/users/u1/events', payload: { type: 'view' } }, 'body.itemId', /is required/)
  await expect400(app, { method: 'PUT', url: '/v1/users/u1/history', payload: { events: [{ itemId: '1' }, {}] } }, 'body.events.1.itemId', /is required/)
  for (const id of ['a b', 'a\tb', 'a\u0000b', 'a\u001fb', 'a\u007fb', 'a\u202eb', 'a\u200bb', 'a\ud800b']) {
    await expect400(app, { method: 'POST', url: '/v1/recommendations', payload: { history: [id] } }, 'body.history.0', /must not contain whitespace, control characters/)
    await expect400(app, { method: 'POST', url: '/v1/recommendations', payload: { userId: id } }, 'body.userId')
    await expect400(app, { method: 'POST', url: '/v1/recommendations', payload: { exclude: [id] } }, 'body.exclude.0')
    await expect400(app, { method: 'POST', url: '/v1/users/u1/events', payload: { itemId: id } }, 'body.itemId')
    await expect400(app, { method: 'POST', url: '/v1/users/u1/events', payload: { itemId: '1', eventId: id } }, 'body.eventId')
    if (id.includes('\ud800')) continue // a lone surrogate has no URL encoding
    await expect400(app, { url: `/v1/users/${encodeURIComponent(id)}/history` }, 'params.userId')
    await expect400(app, { url: `/v1/items/${encodeURIComponent(id)}` }, 'params.itemId')
  }
  for (const text of ['a\u0000b', 'line\nbreak']) {
    await expect400(app, { method: 'POST', url: '/v1/recommendations', payload: { categories: [text] } }, 'body.categories.0', /control characters/)
    await expect400(app, { method: 'POST', url: '/v1/users/u1/events', payload: { itemId: '1', type: text } }, 'body.type')
    await expect400(app, { url: `/v1/items?q=${encodeURIComponent(text)}` }, 'query.q')
  }
  await expect400(app, { url: '/v1/items?q=a&surprise=1' }, 'query.surprise', /not a known field/)
  for (const id of ['.', '..']) { // unreachable in a URL path once a client normalises it
    await expect400(app, { method: 'POST', url: '/v1/recommendations', payload: { userId: id } }, 'body.userId', /must not be \. or \.\./)
    await expect400(app, { method: 'POST', url: '/v1/users/u1/events', payload: { itemId: id } }, 'body.itemId')
  }
  await expect400(app, { method: 'POST', url: '/v1/users/u1/events', payload: { itemId: '1', timestamp: `2026-01-31T12:00:00.${'1'.repeat(150_000)}Z` } }, 'body.timestamp', /at most 40 characters/)
  await expect400(app, { method: 'PUT', url: '/v1/users/u1/history', payload: { events: [{ itemId: 'a' }, { itemId: null }] } }, 'body.events.1.itemId', /must be a string, not null$/)
  await expect400(app, { method: 'POST', url: '/v1/users/u1/events', payload: [{ itemId: '1' }] }, 'body', /^body must be an object$/)
})

test('a misspelt category next to a valid one is reported, not silently ignored', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: ['1'], categories: ['Horror', 'Horor'], k: 5 } })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json().unknownCategories, ['Horor'])
  assert.ok(res.json().items.every((i: { categories: string[] }) => i.categories.includes('Horror')))
  await expect400(app, { method: 'POST', url: '/v1/recommendations', payload: { history: ['1'], categories: ['Horor'] } }, 'body.categories', /no item of the catalogue/)
  await expect400(app, { url: '/v1/users/u1/recommendations?categories=Horor&categories=Drama%20' }, 'query.categories', /no item of the catalogue/)
})
