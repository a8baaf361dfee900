// Redis failing under a write load, against a real redis-server: killed (SIGKILL, then restarted on its
// append-only file) and frozen (SIGSTOP, then SIGCONT). Acknowledged events must never be lost, no request
// may hang longer than the Redis command timeout (1 s) + 1.5 s of scheduling slack (a freeze lasts 3 s, so a
// request that waited it out fails), the instance stays ready, and a retry with
// the eventIds of a 503 stores each event exactly once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { RedisServer, build, freePort, connectRedisStore } from '../helper.js'

const USERS = 16
const COMMAND_TIMEOUT_MS = 1000

async function faultUnderLoad (t: import('node:test').TestContext, fault: (redis: RedisServer) => Promise<void>) {
  const redis = new RedisServer(await freePort(), { aof: true })
  await redis.start()
  t.after(async () => { await redis.stop() })
  const store = await connectRedisStore(redis.url, { maxEvents: 10_000, ttlSeconds: 3600 })
  t.after(async () => { await store.close() })
  const { app } = await build(t, {}, store)

  const acknowledged = new Map<string, Set<string>>() // user -> eventIds answered 200
  const unknown: Array<{ user: string, eventId: string }> = [] // answered 503: not written, or outcome unknown
  const outcomes = new Set<string>()
  let slowest = 0
  let requests = 0
  let stop = false
  const readiness: number[] = []
  const writer = async (u: number) => {
    const user = `user-${u}`
    acknowledged.set(user, new Set())
    for (let i = 0; !stop; i++) {
      const eventId = `${user}-e${i}`
      const started = Date.now()
      const res = await app.inject({ method: 'POST', url: `/v1/users/${user}/events`, payload: { itemId: String(1 + (i % 50)), eventId } })
      slowest = Math.max(slowest, Date.now() - started)
      requests++
      if (res.statusCode === 200) acknowledged.get(user)!.add(eventId)
      else {
        assert.equal(res.statusCode, 503, res.body)
        assert.deepEqual(res.json().details.eventIds, [eventId])
        outcomes.add(res.json().details.outcome)
        unknown.push({ user, eventId })
        await sleep(20)
      }
    }
  }
  const probe = async () => { while (!stop) { readiness.push((await app.inject({ url: '/readyz' })).statusCode); await sleep(100) } }
  const load = [...Array.from({ length: USERS }, async (_, u) => await writer(u)), probe()]
  await sleep(400)
  const faultStarted = Date.now()
  await fault(redis)
  let recovered = false
  while (!recovered && Date.now() - faultStarted < 15_000) {
    await sleep(50)
    recovered = (await app.inject({ method: 'POST', url: '/v1/users/probe/events', payload: { itemId: '1' } })).statusCode === 200
  }
  const recoveryMs = Date.now() - faultStarted
  await sleep(300)
  stop = true
  await Promise.all(load)

  // retry every unknown outcome with its eventId: stored once whatever happened the first time
  let duplicates = 0
  for (const { user, eventId } of unknown) {
    const res = await app.inject({ method: 'POST', url: `/v1/users/${user}/events`, payload: { itemId: '1', eventId } })
    assert.equal(res.statusCode, 200, res.body)
    duplicates += res.json().duplicates
    acknowledged.get(user)!.add(eventId)
  }
  let lost = 0
  let stored = 0
  for (const [user, ids] of acknowledged) {
    const events: Array<{ eventId: string }> = (await app.inject({ url: `/v1/users/${user}/history` })).json().events
    const seen = events.map(e => e.eventId)
    assert.equal(new Set(seen).size, seen.length, `${user}: an event was stored twice`)
    for (const id of ids) if (!seen.includes(id)) lost++
    stored += seen.length
  }
  const figures = { outcomes: [...outcomes].sort(), requests, unknownOutcomes: unknown.length, storedBeforeRetry: duplicates, lost, stored, slowestMs: slowest, recoveryMs, readiness: [...new Set(readiness)] }
  t.diagnostic(JSON.stringify(figures))
  assert.ok(recovered, 'the service recovers when Redis is back')
  assert.equal(lost, 0, 'no acknowledged event may be lost')
  assert.ok(slowest <= COMMAND_TIMEOUT_MS + 1500, `a request hung for ${slowest} ms`)
  assert.ok(unknown.length > 0, 'the fault must have been felt')
  assert.deepEqual([...new Set(readiness)], [200], 'readiness stays unchanged')
  return figures
}

test('Redis killed (SIGKILL) mid-load and restarted on its AOF: 0 acknowledged events lost, no hang, still ready', async (t) => {
  await faultUnderLoad(t, async (redis) => {
    redis.signal('SIGKILL')
    await sleep(700)
    await redis.stop()
    await redis.start()
  })
})

test('Redis frozen (SIGSTOP) mid-load for 3 s: 503s whose writes may land later, retries store each once', async (t) => {
  const figures = await faultUnderLoad(t, async (redis) => {
    redis.signal('SIGSTOP')
    await sleep(3000)
    redis.signal('SIGCONT')
  })
  assert.ok(figures.outcomes.includes('unknown'), 'a timed-out write is reported with an unknown outcome')
})
