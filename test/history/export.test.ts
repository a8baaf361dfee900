// Exporting what the service recorded, in the training pipeline's generic interactions format: through
// GET /v1/admin/events (any store) and the export-events command (Redis).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { ADMIN_ENV, ADMIN_HEADERS, RedisServer, build, connectRedisStore, freePort } from '../helper.js'

const run = promisify(execFile)
let redis: RedisServer
before(async () => { redis = new RedisServer(await freePort()); await redis.start() })
after(async () => { await redis.stop() })

async function record (app: Awaited<ReturnType<typeof build>>['app'], users: number): Promise<Map<string, string[]>> {
  const sent = new Map<string, string[]>()
  for (let u = 0; u < users; u++) {
    const user = u === 0 ? 'needs"quoting",{braces}' : `u${u}`
    const items = Array.from({ length: 1 + (u % 4) }, (_, i) => String(1 + ((u * 7 + i) % 100)))
    const res = await app.inject({ method: 'POST', url: `/v1/users/${encodeURIComponent(user)}/events`, payload: { events: items.map((itemId, i) => ({ itemId, type: i === 0 ? 'view' : 'purchase' })) } })
    assert.equal(res.statusCode, 200)
    sent.set(user, items)
  }
  return sent
}

function parse (format: 'jsonl' | 'csv', text: string): Array<Record<string, string>> {
  if (format === 'jsonl') return text.trim().split('\n').map(l => JSON.parse(l))
  const [header, ...rows] = text.trim().split('\n')
  const fields = (line: string) => [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].map(m => m[1].startsWith('"') ? m[1].slice(1, -1).replaceAll('""', '"') : m[1]).slice(0, 5)
  return rows.map(r => Object.fromEntries(fields(header).map((h, i) => [h, fields(r)[i]])))
}

function check (sent: Map<string, string[]>, rows: Array<Record<string, string>>): void {
  const got = new Map<string, string[]>()
  for (const r of rows) {
    assert.ok(!Number.isNaN(Date.parse(r.timestamp)) && r.event_id.length > 0 && ['view', 'purchase'].includes(r.event_type), JSON.stringify(r))
    got.set(r.user_id, [...(got.get(r.user_id) ?? []), r.item_id])
  }
  assert.deepEqual(new Map([...got].sort()), new Map([...sent].sort()))
}

for (const format of ['jsonl', 'csv'] as const) {
  test(`GET /v1/admin/events streams every user's events, in order (${format}, memory and Redis)`, async (t) => {
    const memory = await build(t, ADMIN_ENV)
    const sent = await record(memory.app, 40)
    const res = await memory.app.inject({ url: `/v1/admin/events?format=${format}`, headers: ADMIN_HEADERS })
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['content-type']), format === 'csv' ? /text\/csv/ : /application\/x-ndjson/)
    check(sent, parse(format, res.body))

    const store = await connectRedisStore(redis.url, { maxEvents: 50, ttlSeconds: 3600 }, `export-${format}:`)
    t.after(async () => { await store.close() })
    const onRedis = await build(t, ADMIN_ENV, store)
    const sentRedis = await record(onRedis.app, 1200) // several SCAN pages
    check(sentRedis, parse(format, (await onRedis.app.inject({ url: `/v1/admin/events?format=${format}`, headers: ADMIN_HEADERS })).body))
  })
}

test('the export-events command writes what Redis holds', async (t) => {
  const store = await connectRedisStore(redis.url)
  t.after(async () => { await store.close() })
  const { app } = await build(t, {}, store)
  const sent = await record(app, 30)
  const { stdout } = await run(process.execPath, [path.resolve('dist', 'src', 'export-events.js'), '--format', 'csv'], { env: { ...process.env, REDIS_URL: redis.url } })
  check(sent, parse('csv', stdout))
  await assert.rejects(run(process.execPath, [path.resolve('dist', 'src', 'export-events.js')], { env: { ...process.env, REDIS_URL: '' } }),
    (e: { code: number, stderr: string }) => e.code === 2 && /GET \/v1\/admin\/events/.test(e.stderr))
})
