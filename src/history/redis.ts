// Redis store (one server or a Redis Cluster): per user a capped list of JSON events and a sorted set of
// recent event ids, updated atomically by one Lua script, both expiring after the TTL.
//
// Cluster rules: the two keys of a user share a hash tag ({<user>}), so every script and transaction touches
// one slot. The user id inside the tag is escaped so that it never contains a brace (a "}" in an id would
// otherwise end the tag early, or leave it empty, and split a user's keys over two slots).
//
// Durability: Redis replicates asynchronously, so a write acknowledged by a master that dies before its
// replica has it is lost on failover. With waitReplicas > 0 every write is followed by WAIT on the same
// connection; a write that fewer replicas acknowledged in time is answered as failed (503, outcome
// unknown: the client retries with the same eventIds, which the store deduplicates).
import { Cluster, type Redis } from 'ioredis'
import { EVENT_IDS_PER_USER, type AppendResult, type HistoryEvent, type HistoryStore, type StoreLimits } from './store.js'
import type { RedisClient } from './redis-client.js'
import type { AddedItem, CatalogueState, CatalogueStore } from '../catalogue/store.js'

// KEYS: events list, event-id zset. ARGV: maxEvents, ttl, idsToKeep, replace (1: forget the user first),
// then pairs (eventId or '', json). Returns {accepted, length}.
const WRITE = `
if ARGV[4] == '1' then redis.call('DEL', KEYS[1], KEYS[2]) end
local accepted = 0
for i = 5, #ARGV, 2 do
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

// The catalogue state: a set of hidden item ids, a hash of added items (id -> JSON content) and a version,
// under one hash tag (one slot).
// KEYS: hidden set, version. ARGV: pairs (itemId, '1' available / '0' hidden). Returns the new version.
const SET_AVAILABILITY = `
for i = 1, #ARGV, 2 do
  if ARGV[i + 1] == '1' then redis.call('SREM', KEYS[1], ARGV[i]) else redis.call('SADD', KEYS[1], ARGV[i]) end
end
return redis.call('INCR', KEYS[2])
`
// KEYS: hidden set, version, added hash. Returns {version, hidden, added (HGETALL)} from one moment.
const CATALOGUE_STATE = `
local version = tonumber(redis.call('GET', KEYS[2]) or '0')
return {version, redis.call('SMEMBERS', KEYS[1]), redis.call('HGETALL', KEYS[3])}
`
// KEYS: hidden set, version, added hash. ARGV: 'put', itemId, json | 'delete', itemId. Returns the new version, or -1 (nothing to delete).
const PUT_ITEM = `
if ARGV[1] == 'put' then
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
elseif redis.call('HDEL', KEYS[3], ARGV[2]) == 1 then
  redis.call('SREM', KEYS[1], ARGV[2])
else
  return -1
end
return redis.call('INCR', KEYS[2])
`

/** The user id as it appears inside a hash tag: no braces, reversible. */
export function hashTag (userId: string): string {
  return userId.replaceAll('%', '%25').replaceAll('{', '%7B').replaceAll('}', '%7D')
}

function fromHashTag (tag: string): string {
  return tag.replaceAll('%7D', '}').replaceAll('%7B', '{').replaceAll('%25', '%')
}

export interface Durability { waitReplicas: number, waitTimeoutMs: number }

type Step = [Error | null, unknown]
interface Scripted {
  writeHistory: (...args: Array<string | number>) => unknown
  setAvailability: (...args: string[]) => Promise<number>
  catalogueState: (...args: string[]) => Promise<[number, string[], string[]]>
  putItem: (...args: string[]) => Promise<number>
}

export class RedisHistoryStore implements HistoryStore, CatalogueStore {
  readonly kind = 'redis'

  constructor (readonly client: RedisClient, private readonly limits: StoreLimits, private readonly prefix = 'gflowgr:',
    private readonly durability: Durability = { waitReplicas: 0, waitTimeoutMs: 0 }) {
    client.defineCommand('writeHistory', { numberOfKeys: 2, lua: WRITE })
    client.defineCommand('setAvailability', { numberOfKeys: 2, lua: SET_AVAILABILITY })
    client.defineCommand('catalogueState', { numberOfKeys: 3, lua: CATALOGUE_STATE })
    client.defineCommand('putItem', { numberOfKeys: 3, lua: PUT_ITEM })
  }

  private get catalogueKeys (): [string, string, string] {
    const key = `${this.prefix}catalogue:{catalogue}`
    return [`${key}:hidden`, `${key}:version`, `${key}:added`]
  }

  async catalogueVersion (): Promise<number> {
    return Number(await this.client.get(this.catalogueKeys[1]) ?? 0)
  }


  async catalogueState (): Promise<CatalogueState> {
    const [version, hidden, pairs] = await (this.client as unknown as Scripted).catalogueState(...this.catalogueKeys)
    const added: AddedItem[] = []
    for (let i = 1; i < pairs.length; i += 2) added.push(JSON.parse(pairs[i]))
    return { version: Number(version), hidden, added }
  }

  async setAvailability (changes: Array<{ itemId: string, available: boolean }>): Promise<number> {
    const [hidden, version] = this.catalogueKeys
    return Number(await (this.client as unknown as Scripted).setAvailability(hidden, version, ...changes.flatMap(c => [c.itemId, c.available ? '1' : '0'])))
  }

  async putItem (item: AddedItem): Promise<number> {
    return Number(await (this.client as unknown as Scripted).putItem(...this.catalogueKeys, 'put', item.itemId, JSON.stringify(item)))
  }

  async deleteItem (itemId: string): Promise<number | null> {
    const version = Number(await (this.client as unknown as Scripted).putItem(...this.catalogueKeys, 'delete', itemId))
    return version < 0 ? null : version
  }

  get cluster (): boolean { return this.client instanceof Cluster }

  async connect (): Promise<void> { await this.client.connect() }

  keys (userId: string): [string, string] {
    const tag = `{${hashTag(userId)}}`
    return [`${this.prefix}history:${tag}`, `${this.prefix}event-ids:${tag}`]
  }

  async get (userId: string): Promise<HistoryEvent[]> {
    const raw = await this.client.lrange(this.keys(userId)[0], 0, -1)
    return raw.map(s => JSON.parse(s) as HistoryEvent)
  }

  /**
   * One atomic script on the user's slot, followed by WAIT when replicas must acknowledge it. One pipeline:
   * on a cluster it goes to the user's master, and WAIT covers the write made on that connection.
   */
  private async write (userId: string, events: HistoryEvent[], replace: boolean, retry = true): Promise<[number, number]> {
    const pipeline = this.client.pipeline() as unknown as Scripted & ReturnType<Redis['pipeline']>
    pipeline.writeHistory(...this.keys(userId), this.limits.maxEvents, this.limits.ttlSeconds, EVENT_IDS_PER_USER, replace ? 1 : 0,
      ...events.flatMap(e => [e.eventId ?? '', JSON.stringify(e)]))
    const { waitReplicas, waitTimeoutMs } = this.durability
    if (waitReplicas > 0) pipeline.call('WAIT', waitReplicas, waitTimeoutMs)
    const results = await pipeline.exec() as Step[] | null
    if (results === null) throw new Error('redis pipeline aborted')
    // a slot that moved (failover, resharding) answers MOVED to the script and an error to WAIT: ioredis
    // follows a redirect only when every command of a pipeline got it, so refresh the slots and write again
    // (the script is idempotent: eventIds are remembered)
    if (this.client instanceof Cluster && retry && results.some(([error]) => error !== null && /^(MOVED|ASK|CLUSTERDOWN)|READONLY|WAIT cannot be used with replica/.test(error.message))) {
      await new Promise<void>(resolve => (this.client as Cluster).refreshSlotsCache(() => resolve()))
      return await this.write(userId, events, replace, false)
    }
    for (const [error] of results) if (error !== null) throw error
    if (waitReplicas > 0 && Number(results[1][1]) < waitReplicas) {
      throw new Error(`written, but ${Number(results[1][1])} of ${waitReplicas} replicas acknowledged it within ${waitTimeoutMs} ms`)
    }
    return results[0][1] as [number, number]
  }

  async append (userId: string, events: HistoryEvent[]): Promise<AppendResult> {
    const [accepted, length] = await this.write(userId, events, false)
    return { accepted, duplicates: events.length - accepted, length }
  }

  async replace (userId: string, events: HistoryEvent[]): Promise<number> {
    return (await this.write(userId, events, true))[1]
  }

  async delete (userId: string): Promise<boolean> {
    return (await this.client.del(...this.keys(userId))) > 0
  }

  /** SCAN (never KEYS) over every master: a few hundred keys at a time, one user's list at a time. */
  async * scan (): AsyncGenerator<{ userId: string, events: HistoryEvent[] }> {
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client]
    const pattern = `${this.prefix}history:{*}`
    for (const node of nodes) {
      let cursor = '0'
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
        cursor = next
        for (const key of keys) {
          const userId = fromHashTag(key.slice(`${this.prefix}history:{`.length, -1))
          const events = await this.get(userId)
          if (events.length > 0) yield { userId, events }
        }
      } while (cursor !== '0')
    }
  }

  /** The client of every master: the cluster's masters, or the one server. */
  private masters (): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes('master') : [this.client]
  }

  /** Pings every master (on a cluster: a shard down is not hidden by a random node answering). */
  async ping (): Promise<void> {
    const nodes = this.masters()
    if (nodes.length === 0) throw new Error('no master known')
    await Promise.all(nodes.map(async node => await node.ping()))
  }

  /** The fewest replicas any master has (INFO replication), to compare with REDIS_WAIT_REPLICAS. */
  async fewestReplicas (): Promise<number> {
    const counts = await Promise.all(this.masters().map(async node => Number(/connected_slaves:(\d+)/.exec(await node.info('replication'))?.[1] ?? 0)))
    return Math.min(...counts)
  }

  async close (): Promise<void> {
    this.client.disconnect()
  }
}
