// The ioredis client of a history store: one Redis server or a Redis Cluster, configured the same way to
// fail fast when Redis is away (no offline queue, short timeouts), so that callers answer 503 at once
// instead of hanging, while the client keeps reconnecting in the background.
import { Cluster, Redis } from 'ioredis'
import type { RedisTarget } from '../config.js'

export type RedisClient = Redis | Cluster

const COMMAND_TIMEOUT_MS = 1000
const CONNECT_TIMEOUT_MS = 2000
const reconnectDelay = (times: number): number => Math.min(times * 200, 2000)

export function createRedisClient (target: RedisTarget): RedisClient {
  if (target.mode === 'single') {
    return new Redis(target.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: reconnectDelay
    })
  }
  return new Cluster(target.nodes, {
    lazyConnect: true,
    enableOfflineQueue: false,
    scaleReads: 'master', // a history is read right after it is written: replicas may lag
    clusterRetryStrategy: reconnectDelay,
    retryDelayOnFailover: 200, // a MOVED or a failing-over master: retry after the slots are refreshed
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
    slotsRefreshInterval: 5000, // notice failovers and resharding even on a shard nobody wrote to
    redisOptions: {
      maxRetriesPerRequest: 1,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      ...(target.username !== undefined && { username: target.username }),
      ...(target.password !== undefined && { password: target.password }),
      ...(target.tls && { tls: {} })
    }
  })
}

/** The target for logs, without credentials. */
export function describeTarget (target: RedisTarget): string {
  return target.mode === 'single'
    ? target.url.replace(/\/\/[^@]*@/, '//***@')
    : `cluster ${target.nodes.map(n => `${n.host}:${n.port}`).join(',')}`
}
