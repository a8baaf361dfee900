// Hiding and restoring items at run time: never recommended while hidden (beam search and sampling), applied
// while decoding so that k items still come back, persisted in the store, and shared by every replica.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { RedisServer, build, connectRedisStore, freePort, startServer } from '../helper.js'

const ADMIN = 'admin-key-0123456789'
const HISTORY = ['1', '2', '3']

test('a hidden item is never recommended, by either strategy, and k items still come back; restoring it brings it back', async (t) => {
  const { app } = await build(t)
  const recommend = async (more: object = {}) => (await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: HISTORY, k: 10, ...more } })).json()
  const before = await recommend()
  const top = before.items.slice(0, 3).map((i: { itemId: string }) => i.itemId)
  for (const itemId of top) {
    const res = await app.inject({ method: 'PUT', url: `/v1/items/${itemId}/availability`, payload: { available: false } })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().available, false)
  }
  assert.equal((await app.inject({ url: `/v1/items/${top[0]}` })).json().available, false)
  const after = await recommend()
  assert.equal(after.items.length, 10, 'the mask is applied while decoding: no gap in the result')
  assert.ok(!after.items.some((i: { itemId: string }) => top.includes(i.itemId)))
  assert.deepEqual(after.items.slice(0, 7).map((i: { itemId: string }) => i.itemId), before.items.slice(3).map((i: { itemId: string }) => i.itemId),
    'the other items keep their order and scores')
  for (let seed = 0; seed < 30; seed++) {
    const sampled = await recommend({ strategy: 'sample', seed, temperature: 2 })
    assert.ok(!sampled.items.some((i: { itemId: string }) => top.includes(i.itemId)), 'sampling never draws a hidden item')
  }
  const category = (await app.inject({ url: `/v1/items/${top[0]}` })).json().categories[0]
  const filtered = await recommend({ categories: [category], k: 50 })
  assert.ok(!filtered.items.some((i: { itemId: string }) => top.includes(i.itemId)), 'with a category filter too')
  const model = (await app.inject({ url: '/v1/model' })).json()
  assert.equal(model.catalogue.unavailable, 3)
  const bulk = await app.inject({ method: 'PUT', url: '/v1/items/availability', payload: { items: [...top.map((itemId: string) => ({ itemId, available: true })), { itemId: 'nope', available: false }] } })
  assert.equal(bulk.statusCode, 200, bulk.body)
  assert.deepEqual({ updated: bulk.json().updated, unknownItemIds: bulk.json().unknownItemIds }, { updated: 3, unknownItemIds: ['nope'] })
  assert.ok(bulk.json().catalogueVersion > model.catalogue.version)
  assert.deepEqual((await recommend()).items.map((i: { itemId: string }) => i.itemId), before.items.map((i: { itemId: string }) => i.itemId))
  const metrics = (await app.inject({ url: '/metrics' })).body
  assert.match(metrics, /catalogue_items\{model="smoke",state="unavailable"\} 0/)
  assert.match(metrics, /catalogue_items\{model="smoke",state="available"\} 1682/)
  assert.equal((await app.inject({ method: 'PUT', url: '/v1/items/nope/availability', payload: { available: false } })).statusCode, 404)
})

test('when fewer allowed items remain than k, all of them and nothing else', async (t) => {
  const { app } = await build(t)
  const drama = (await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: HISTORY, k: 100, categories: ['Film-Noir'] } })).json().items
  const keep = drama.slice(0, 2).map((i: { itemId: string }) => i.itemId)
  const hide = drama.slice(2).map((i: { itemId: string }) => ({ itemId: i.itemId, available: false }))
  assert.equal((await app.inject({ method: 'PUT', url: '/v1/items/availability', payload: { items: hide } })).statusCode, 200)
  const left = (await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: HISTORY, k: 10, categories: ['Film-Noir'] } })).json().items
  assert.deepEqual(left.map((i: { itemId: string }) => i.itemId).sort(), [...keep].sort())
})

test('writes need an admin key once keys are configured', async (t) => {
  const { app } = await build(t, { API_KEYS: '0123456789abcdef0123', ADMIN_API_KEYS: ADMIN })
  const put = async (headers: Record<string, string>) => await app.inject({ method: 'PUT', url: '/v1/items/1/availability', payload: { available: false }, headers })
  assert.equal((await put({ 'x-api-key': '0123456789abcdef0123' })).statusCode, 401)
  assert.equal((await put({ 'x-api-key': ADMIN })).statusCode, 200)
})

test('two service processes on one Redis: a change made through one applies on the other within a second, and survives restarts', async (t) => {
  const redis = new RedisServer(await freePort())
  await redis.start()
  t.after(async () => { await redis.stop() })
  const env = { REDIS_URL: redis.url, LOG_LEVEL: 'warn' }
  const [a, b] = await Promise.all([startServer(env, t), startServer(env, t)])
  const recommend = async (base: string) => (await (await fetch(`${base}/v1/recommendations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ history: HISTORY, k: 5 }) })).json()).items.map((i: { itemId: string }) => i.itemId)
  const top = (await recommend(b.base))[0]
  const started = Date.now()
  const res = await fetch(`${a.base}/v1/items/${top}/availability`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ available: false }) })
  assert.equal(res.status, 200)
  assert.ok(!(await recommend(a.base)).includes(top), 'at once on the replica that made the change')
  let seenAfter = -1
  while (Date.now() - started < 3000) {
    if (!(await recommend(b.base)).includes(top)) { seenAfter = Date.now() - started; break }
    await sleep(50)
  }
  t.diagnostic(`applied on the other replica after ${seenAfter} ms`)
  assert.ok(seenAfter >= 0 && seenAfter <= 1000, `the other replica applied it after ${seenAfter} ms`)
  const c = await startServer(env, t)
  assert.equal((await (await fetch(`${c.base}/v1/items/${top}`)).json()).available, false, 'a new replica starts with the shared state')
  assert.ok(!(await recommend(c.base)).includes(top))
  const store = await connectRedisStore(redis.url)
  t.after(async () => { await store.close() })
  assert.deepEqual((await store.catalogueState()).hidden, [top])
})
