// Redis store: per user a capped list of JSON events and a sorted set of recent event ids, updated
// atomically by one Lua script, both expiring after the TTL. Commands fail fast when Redis is away
// (no offline queue, short timeouts), so callers answer 503 instead of hanging.
import { Redis } from 'ioredis'
import { EVENT_IDS_PER_USER, type AppendResult, type HistoryEvent, type HistoryStore, type StoreLimits } from './store.js'

// KEYS: events list, event-id zset. ARGV: maxEvents, ttl, idsToKeep, then pairs (eventId or '', json)
const APPEND = `
local accepted = 0
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  local fresh = 1
  if id ~= '' then
    if redis.call('ZSCORE', KEYS[2], id) then fresh = 0 else
      local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
      local score = 0
      if top[2] then score = tonumber(top[2]) + 1 end
      redis.call('ZADD', KEYS[2], score, id)
    end
  end
  if fresh == 1 then
    redis.call('RPUSH', KEYS[1], ARGV[i + 1])
    accepted = accepted + 1
  end
end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[3]) - 1)
local length = redis.call('LLEN', KEYS[1])
if length > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return {accepted, length}
`

export class RedisHistoryStore implements HistoryStore {
  readonly kind = 'redis'
  readonly client: Redis

  constructor (url: string, private readonly limits: StoreLimits, private readonly prefix = 'gflowgr:',
    onError: (error: Error) => void = () => {}) {
    this.client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: 1000,
      retryStrategy: (times) => Math.min(times * 200, 2000) // keep reconnecting; commands fail fast meanwhile
    })
    this.client.on('error', onError) // connection errors surface as failed commands (503), not as crashes
    this.client.defineCommand('appendHistory', { numberOfKeys: 2, lua: APPEND })
  }

  async connect (): Promise<void> { await this.client.connect() }

  private keys (userId: string): [string, string] {
    return [`${this.prefix}history:{${userId}}`, `${this.prefix}event-ids:{${userId}}`]
  }

  async get (userId: string): Promise<HistoryEvent[]> {
    const raw = await this.client.lrange(this.keys(userId)[0], 0, -1)
    return raw.map(s => JSON.parse(s) as HistoryEvent)
  }

  async append (userId: string, events: HistoryEvent[]): Promise<AppendResult> {
    const args = events.flatMap(e => [e.eventId ?? '', JSON.stringify(e)])
    const [accepted, length] = await (this.client as unknown as { appendHistory: (...a: Array<string | number>) => Promise<[number, number]> })
      .appendHistory(...this.keys(userId), this.limits.maxEvents, this.limits.ttlSeconds, EVENT_IDS_PER_USER, ...args)
    return { accepted, duplicates: events.length - accepted, length }
  }

  async replace (userId: string, events: HistoryEvent[]): Promise<number> {
    const keys = this.keys(userId)
    const tx = this.client.multi().del(...keys)
    const results = events.length > 0
      ? await (tx as unknown as { appendHistory: (...a: Array<string | number>) => typeof tx })
        .appendHistory(...keys, this.limits.maxEvents, this.limits.ttlSeconds, EVENT_IDS_PER_USER,
          ...events.flatMap(e => [e.eventId ?? '', JSON.stringify(e)])).exec()
      : await tx.exec()
    if (results === null) throw new Error('redis transaction aborted')
    for (const [error] of results) if (error !== null) throw error
    return events.length > 0 ? (results[1][1] as [number, number])[1] : 0
  }

  async delete (userId: string): Promise<boolean> {
    return (await this.client.del(...this.keys(userId))) > 0
  }

  async ping (): Promise<void> { await this.client.ping() }

  async close (): Promise<void> {
    this.client.disconnect()
  }
}
