// The service against a real redis-server that goes away in the middle of the test and comes back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { RedisServer, build, freePort, connectRedisStore } from '../helper.js'

test('Redis down: own-history requests succeed, stored-history requests and writes get a fast 503 with Retry-After, the instance stays ready, then recovery', async (t) => {
  const redis = new RedisServer(await freePort())
  await redis.start()
  t.after(async () => { await redis.stop() })
  const store = await connectRedisStore(redis.url)
  t.after(async () => { await store.close() })
  const { app } = await build(t, {}, store)

  const write = async () => await app.inject({ method: 'POST', url: '/v1/users/r1/events', payload: { itemId: '1', eventId: 'x1' } })
  assert.equal((await write()).statusCode, 200)
  assert.equal((await write()).json().duplicates, 1)
  assert.equal((await app.inject({ method: 'GET', url: '/v1/users/r1/recommendations?k=3' })).json().historyLength, 1)

  await redis.stop()
  const started = Date.now()
  const stored = await app.inject({ method: 'GET', url: '/v1/users/r1/recommendations' })
  assert.equal(stored.statusCode, 503)
  assert.equal(stored.json().code, 'history_store_unavailable')
  assert.equal(stored.headers['retry-after'], '1')
  const event = await app.inject({ method: 'POST', url: '/v1/users/r1/events', payload: { events: [{ itemId: '2' }, { itemId: '3', eventId: 'mine' }] } })
  assert.equal(event.statusCode, 503)
  assert.equal(event.json().code, 'history_store_unavailable')
  assert.equal(event.json().details.outcome, 'not_written', 'Redis is unreachable: the command never left')
  assert.equal(event.json().details.cause, undefined, 'Redis\' own messages stay in the log')
  const retryWith: string[] = event.json().details.eventIds
  assert.equal(retryWith.length, 2)
  assert.equal(retryWith[1], 'mine')
  const own = await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { userId: 'r1', history: ['1', '2'] } })
  assert.equal(own.statusCode, 200)
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  assert.equal(ready.statusCode, 200, 'Redis is a soft dependency: the instance stays ready')
  assert.match(ready.json().checks.historyStore, /^redis: unavailable/)
  assert.ok(Date.now() - started < 5000, 'no request may hang while Redis is down')

  await redis.start()
  let status = ''
  for (let i = 0; i < 50 && status !== 'redis: ok'; i++) {
    await sleep(100)
    status = (await app.inject({ method: 'GET', url: '/readyz' })).json().checks.historyStore
  }
  assert.equal(status, 'redis: ok')
  const retried = await app.inject({ method: 'POST', url: '/v1/users/r1/events', payload: { events: [{ itemId: '2', eventId: retryWith[0] }, { itemId: '3', eventId: retryWith[1] }] } })
  assert.equal(retried.statusCode, 200)
  assert.deepEqual(retried.json().eventIds, retryWith)
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  assert.match(metrics, /history_store_errors_total [1-9]/)
})
