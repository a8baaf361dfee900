// One contract, every store: each test in the loop runs against the in-memory default, Redis (a real
// redis-server on a free port) and Redis Cluster (six real nodes) and must pass identically.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { MemoryHistoryStore } from '../../src/history/memory.js'
import type { HistoryEvent, HistoryStore } from '../../src/history/store.js'
import { RedisCluster, RedisServer, freePort, connectRedisStore } from '../helper.js'
import type { RedisHistoryStore } from '../../src/history/redis.js'

const event = (itemId: string, eventId?: string): HistoryEvent => ({ itemId, type: 'view', timestamp: '2026-01-01T00:00:00.000Z', ...(eventId !== undefined && { eventId }) })

let redis: RedisServer
const cluster = new RedisCluster()
before(async () => {
  redis = new RedisServer(await freePort())
  await Promise.all([redis.start(), cluster.start()])
})
after(async () => { await Promise.all([redis.stop(), cluster.stop()]) })

async function redisStore (limits = { maxEvents: 3, ttlSeconds: 60 }, prefix = `t${Math.random().toString(36).slice(2)}:`): Promise<RedisHistoryStore> {
  return await connectRedisStore(redis.url, limits, prefix)
}

const stores: Array<[string, () => Promise<HistoryStore>]> = [
  ['memory', async () => new MemoryHistoryStore({ maxEvents: 3, ttlSeconds: 60 }, 100)],
  ['redis', redisStore],
  ['redis-cluster', async () => await connectRedisStore(`redis+cluster://${cluster.seeds}`, { maxEvents: 3, ttlSeconds: 60 }, `t${Math.random().toString(36).slice(2)}:`)]
]

for (const [name, make] of stores) {
  test(`${name}: append keeps order, caps the list and skips repeated event ids`, async () => {
    const store = await make()
    assert.deepEqual(await store.get('u'), [])
    assert.deepEqual(await store.append('u', [event('a', 'e1'), event('b', 'e2')]), { accepted: 2, duplicates: 0, length: 2 })
    assert.deepEqual(await store.append('u', [event('a', 'e1'), event('c'), event('c', 'e3'), event('c', 'e3')]), { accepted: 2, duplicates: 2, length: 3 })
    assert.deepEqual((await store.get('u')).map(e => e.itemId), ['b', 'c', 'c'])
    assert.deepEqual(await store.append('u', [event('z', 'e1')]), { accepted: 0, duplicates: 1, length: 3 }) // still seen after trimming
    assert.deepEqual(await store.get('other'), [])
    await store.close()
  })

  test(`${name}: replace and delete`, async () => {
    const store = await make()
    await store.append('u', [event('a', 'e1')])
    assert.equal(await store.replace('u', [event('x'), event('y', 'e9')]), 2)
    assert.deepEqual((await store.get('u')).map(e => e.itemId), ['x', 'y'])
    assert.equal((await store.append('u', [event('a', 'e1')])).accepted, 1) // replace forgets old event ids
    assert.equal(await store.delete('u'), true)
    assert.equal(await store.delete('u'), false)
    assert.deepEqual(await store.get('u'), [])
    await store.close()
  })

  test(`${name}: replace stores a repeated eventId once and caps the list`, async () => {
    const store = await make()
    assert.equal(await store.replace('u', [event('a', 'e1'), event('b', 'e1'), event('c', 'e2')]), 2)
    assert.deepEqual((await store.get('u')).map(e => e.itemId), ['a', 'c'])
    assert.equal(await store.replace('u', [event('1'), event('2'), event('3'), event('4'), event('5')]), 3)
    assert.deepEqual((await store.get('u')).map(e => e.itemId), ['3', '4', '5'])
    await store.close()
  })

  test(`${name}: replacing with no events forgets the user`, async () => {
    const store = await make()
    await store.append('u', [event('a', 'e1')])
    assert.equal(await store.replace('u', []), 0)
    assert.deepEqual(await store.get('u'), [])
    assert.equal(await store.delete('u'), false)
    assert.equal((await store.append('u', [event('a', 'e1')])).accepted, 1, 'its event ids are forgotten too')
    await store.close()
  })

  test(`${name}: user ids with braces keep each user's keys together (one hash slot on a cluster)`, async () => {
    const store = await make()
    const users = ['}x', '{a}', 'a}b{c', '{}', '}{', '%7B', 'plain']
    for (const [i, user] of users.entries()) {
      assert.deepEqual(await store.append(user, [event(`item-${i}`, 'e1'), event(`item-${i}`, 'e1')]), { accepted: 1, duplicates: 1, length: 1 }, user)
      assert.equal(await store.replace(user, [event(`item-${i}`, 'e2'), event('z', 'e2')]), 1, user)
    }
    for (const [i, user] of users.entries()) assert.deepEqual((await store.get(user)).map(e => e.itemId), [`item-${i}`], user)
    await store.close()
  })

  test(`${name}: events keep every field and come back as copies`, async () => {
    const store = await make()
    const stored = { itemId: 'a', eventId: 'e1', type: 'purchase', timestamp: '2026-02-03T04:05:06.789Z' }
    await store.append('u', [stored])
    const [first] = await store.get('u')
    assert.deepEqual(first, stored)
    first.itemId = 'changed'
    assert.equal((await store.get('u'))[0].itemId, 'a')
    await store.close()
  })
}

test('memory: histories expire after the TTL and the least recently written user is evicted', async () => {
  let now = 0
  const store = new MemoryHistoryStore({ maxEvents: 5, ttlSeconds: 10 }, 2, () => now)
  await store.append('a', [event('1')])
  await store.append('b', [event('2')])
  await store.append('c', [event('3')])
  assert.deepEqual(await store.get('a'), [])
  now = 11_000
  assert.deepEqual(await store.get('b'), [])
})

test('redis: keys carry the TTL', async () => {
  const store = await redisStore({ maxEvents: 3, ttlSeconds: 1 }, 'ttl-test:')
  await store.append('u', [event('a', 'e1')])
  for (const key of ['ttl-test:history:{u}', 'ttl-test:event-ids:{u}']) {
    const ttl = await store.client.pttl(key)
    assert.ok(ttl > 0 && ttl <= 1000, `${key} ttl ${ttl}`)
  }
  await sleep(1100)
  assert.deepEqual(await store.get('u'), [])
  await store.close()
})

test('redis: a stopped server fails fast, and the store recovers when it is back', async () => {
  const store = await redisStore()
  await store.append('u', [event('a')])
  await redis.stop()
  const started = Date.now()
  await assert.rejects(store.get('u'))
  await assert.rejects(store.append('u', [event('b')]))
  assert.ok(Date.now() - started < 3000, 'commands must not hang while Redis is down')
  await redis.start()
  for (let i = 0; i < 50; i++) {
    try { await store.ping(); break } catch { await sleep(100) }
  }
  await store.append('u', [event('c')])
  assert.deepEqual((await store.get('u')).map(e => e.itemId), ['c']) // the server keeps nothing across restarts (no persistence here)
  await store.close()
})
