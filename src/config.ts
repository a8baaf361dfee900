// All configuration comes from the environment, is read and validated here once, at boot.
import os from 'node:os'
import path from 'node:path'

/** Where the history store lives: one Redis server, or a Redis Cluster (seed nodes). */
export type RedisTarget =
  | { mode: 'single', url: string }
  | { mode: 'cluster', nodes: Array<{ host: string, port: number }>, username?: string, password?: string, tls: boolean }

export interface Config {
  host: string
  port: number
  modelDir: string
  /** The served models, the first being the default; name null: the manifest's (MODEL_DIR alone). */
  models: Array<{ name: string | null, dir: string }>
  /** Shares of the users per model for A/B tests (empty: no split). */
  modelSplit: Array<{ name: string, weight: number }>
  logLevel: string
  redis: RedisTarget | null
  /** Replicas that must acknowledge an event write (Redis WAIT) before it is answered 200; 0 = do not wait. */
  redisWaitReplicas: number
  redisWaitTimeoutMs: number
  historyTtlSeconds: number
  historyMaxEvents: number
  memoryStoreMaxUsers: number
  workers: number
  threadsPerWorker: number
  maxBatchSize: number
  maxQueue: number
  maxQueueWaitMs: number
  inferenceTimeoutMs: number
  maxBeamWidth: number
  maxK: number
  maxHistoryItems: number
  maxIdLength: number
  bodyLimitBytes: number
  requestTimeoutMs: number
  apiKeys: string[]
  adminApiKeys: string[]
  protectDocs: boolean
  protectMetrics: boolean
  rateLimitMax: number
  rateLimitWindowMs: number
  authFailuresMax: number
  trustProxy: boolean | number | string[]
  corsOrigins: string[]
  shutdownTimeoutMs: number
  cataloguePollMs: number
}

export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

/** Timers are bounded well below setTimeout's 2^31 - 1 ms (a longer timer fires at once): ten minutes. */
const MAX_TIMER_MS = 600_000

function integer (env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got "${raw}"`)
  const value = Number(raw)
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`)
  return value
}

function boolean (env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim()
  if (raw === undefined || raw === '') return fallback
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  throw new ConfigError(`${name} must be true or false, got "${raw}"`)
}

function list (env: Env, name: string): string[] {
  return (env[name] ?? '').split(',').map(s => s.trim()).filter(Boolean)
}

/** TRUST_PROXY: unset/false, true (trust every hop), a hop count, or a comma-separated list of addresses/CIDRs. */
function trustProxy (env: Env): boolean | number | string[] {
  const raw = env.TRUST_PROXY?.trim() ?? ''
  if (raw === '' || raw === 'false') return false
  if (raw === 'true') return true
  if (/^\d+$/.test(raw)) return Number(raw)
  return list(env, 'TRUST_PROXY')
}

/**
 * The largest body the request bounds allow: a PUT of a full history (every event with an itemId and an
 * eventId of maxIdLength characters, a type and a timestamp), or a recommendation request with a full history
 * and a full exclude list, with ids in any script (4 bytes per character in UTF-8) and a quarter more for
 * formatting. The body limit must hold it, or valid requests get 413.
 */
export function largestValidBody (maxHistoryItems: number, maxIdLength: number): number {
  const id = 4 * maxIdLength + 16 // UTF-8, quotes, comma, key
  const event = 2 * id + 4 * 32 + 40 + 64 // ids, type, timestamp, braces and keys
  const history = maxHistoryItems * event
  const recommendation = 2 * maxHistoryItems * id + 20 * (4 * 200 + 4) + 512
  return Math.ceil(1.25 * Math.max(history, recommendation)) + 1024
}

function hostPort (text: string, name: string): { host: string, port: number } {
  const match = /^\[?([^\]\s]+?)\]?:(\d{1,5})$/.exec(text.trim())
  if (match === null || Number(match[2]) > 65535) throw new ConfigError(`${name}: "${text}" is not host:port`)
  return { host: match[1], port: Number(match[2]) }
}

/**
 * REDIS_URL=redis://… (one server), REDIS_URL=redis+cluster://[user:password@]host:port,host:port (a cluster,
 * rediss+cluster:// with TLS), or REDIS_CLUSTER_NODES=host:port,host:port (a cluster without credentials).
 */
function redisTarget (env: Env): RedisTarget | null {
  const url = env.REDIS_URL?.trim() ?? ''
  const nodes = list(env, 'REDIS_CLUSTER_NODES')
  if (url !== '' && nodes.length > 0) throw new ConfigError('set REDIS_URL or REDIS_CLUSTER_NODES, not both')
  if (nodes.length > 0) return { mode: 'cluster', nodes: nodes.map(n => hostPort(n, 'REDIS_CLUSTER_NODES')), tls: false }
  if (url === '') return null
  if (/^rediss?\+cluster:\/\/[^/]*\/./.test(url)) throw new ConfigError('REDIS_URL: a redis+cluster:// URL takes no database number or path (a cluster has one database)')
  const cluster = /^(rediss?)\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/?$/.exec(url)
  if (cluster !== null) {
    const [, scheme, username, password, hosts] = cluster
    return {
      mode: 'cluster',
      nodes: hosts.split(',').map(h => hostPort(h, 'REDIS_URL')),
      ...(username !== undefined && username !== '' && { username: decodeURIComponent(username) }),
      ...(password !== undefined && { password: decodeURIComponent(password) }),
      tls: scheme === 'rediss'
    }
  }
  if (!/^rediss?:\/\//.test(url)) throw new ConfigError(`REDIS_URL must start with redis://, rediss://, redis+cluster:// or rediss+cluster://, got "${url.replace(/\/\/[^@]*@/, '//***@')}"`)
  return { mode: 'single', url }
}

const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/

/** MODELS=name=dir,name=dir (several models, the first the default), else MODEL_DIR (one). */
function models (env: Env): Array<{ name: string | null, dir: string }> {
  const entries = list(env, 'MODELS')
  if (entries.length === 0) return [{ name: null, dir: path.resolve(env.MODEL_DIR ?? 'models/beauty-gflowgr') }]
  if (env.MODEL_DIR !== undefined && env.MODEL_DIR !== '') throw new ConfigError('set MODELS or MODEL_DIR, not both')
  const out = entries.map(entry => {
    const at = entry.indexOf('=')
    const name = entry.slice(0, at).trim()
    const dir = entry.slice(at + 1).trim()
    if (at < 0 || !MODEL_NAME.test(name) || dir === '') throw new ConfigError(`MODELS: "${entry}" must be name=directory, the name in lower case letters, digits, ., _ or -`)
    return { name, dir: path.resolve(dir) }
  })
  const duplicate = out.find((m, i) => out.findIndex(o => o.name === m.name) !== i)
  if (duplicate !== undefined) throw new ConfigError(`MODELS: the name "${duplicate.name}" is given twice`)
  return out
}

/** MODEL_SPLIT=name:weight,name:weight: users split between models by a stable hash, in proportion to the weights. */
function modelSplit (env: Env, names: Array<string | null>): Array<{ name: string, weight: number }> {
  const split = list(env, 'MODEL_SPLIT').map(entry => {
    const match = /^([^:]+):(\d{1,6})$/.exec(entry)
    if (match === null) throw new ConfigError(`MODEL_SPLIT: "${entry}" must be name:weight with an integer weight`)
    if (names[0] !== null && !names.includes(match[1])) throw new ConfigError(`MODEL_SPLIT: "${match[1]}" is not one of MODELS (${names.join(', ')})`)
    return { name: match[1], weight: Number(match[2]) }
  })
  const twice = split.find((s, i) => split.findIndex(o => o.name === s.name) !== i)
  if (twice !== undefined) throw new ConfigError(`MODEL_SPLIT: "${twice.name}" is given twice`)
  if (split.length > 0 && split.every(s => s.weight === 0)) throw new ConfigError('MODEL_SPLIT: every weight is 0; give one model a share, or leave MODEL_SPLIT unset')
  return split
}

function keys (env: Env, name: string): string[] {
  const values = list(env, name)
  if (values.some(k => k.length < 16)) throw new ConfigError(`${name}: every key must be at least 16 characters long`)
  if (values.some(k => !/^[\x21-\x7e]+$/.test(k))) throw new ConfigError(`${name}: keys may only contain printable ASCII characters without spaces`)
  return values
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export function loadConfig (env: Env = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? 'info'
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`)
  const redis = redisTarget(env)
  const apiKeys = keys(env, 'API_KEYS')
  const adminApiKeys = keys(env, 'ADMIN_API_KEYS')
  if (adminApiKeys.some(k => apiKeys.includes(k))) throw new ConfigError('ADMIN_API_KEYS must differ from API_KEYS')
  const served = models(env)
  const maxHistoryItems = integer(env, 'MAX_HISTORY_ITEMS', 500, 1, 100_000)
  const maxIdLength = integer(env, 'MAX_ID_LENGTH', 128, 1, 1024)
  const needed = largestValidBody(maxHistoryItems, maxIdLength)
  const bodyLimitBytes = integer(env, 'BODY_LIMIT_BYTES', Math.max(64 * 1024, needed), 1024)
  if (bodyLimitBytes < needed) {
    throw new ConfigError(`BODY_LIMIT_BYTES (${bodyLimitBytes}) is smaller than the largest request that MAX_HISTORY_ITEMS (${maxHistoryItems}) ` +
      `and MAX_ID_LENGTH (${maxIdLength}) allow (${needed} bytes): raise it or lower those bounds`)
  }
  const inferenceTimeoutMs = integer(env, 'INFERENCE_TIMEOUT_MS', 5000, 10, MAX_TIMER_MS)
  const maxQueueWaitMs = integer(env, 'MAX_QUEUE_WAIT_MS', Math.min(1000, inferenceTimeoutMs), 1, MAX_TIMER_MS)
  if (maxQueueWaitMs > inferenceTimeoutMs) throw new ConfigError(`MAX_QUEUE_WAIT_MS (${maxQueueWaitMs}) must not exceed INFERENCE_TIMEOUT_MS (${inferenceTimeoutMs})`)
  return {
    host: env.HOST ?? '0.0.0.0',
    port: integer(env, 'PORT', 8080, 0, 65535),
    modelDir: served[0].dir,
    models: served,
    modelSplit: modelSplit(env, served.map(m => m.name)),
    logLevel,
    redis,
    redisWaitReplicas: integer(env, 'REDIS_WAIT_REPLICAS', 0, 0, 16),
    redisWaitTimeoutMs: integer(env, 'REDIS_WAIT_TIMEOUT_MS', 200, 1, 60_000),
    historyTtlSeconds: integer(env, 'HISTORY_TTL_SECONDS', 30 * 24 * 3600, 1, 10 * 365 * 24 * 3600),
    historyMaxEvents: integer(env, 'HISTORY_MAX_EVENTS', 200, 1, 10_000),
    memoryStoreMaxUsers: integer(env, 'MEMORY_STORE_MAX_USERS', 100_000, 1),
    workers: integer(env, 'WORKERS', Math.max(1, Math.min(2, os.availableParallelism())), 1, 64),
    threadsPerWorker: integer(env, 'THREADS_PER_WORKER', 1, 1, 64),
    maxBatchSize: integer(env, 'MAX_BATCH_SIZE', 16, 1, 1024),
    maxQueue: integer(env, 'MAX_QUEUE', 512, 1, 1_000_000),
    maxQueueWaitMs,
    inferenceTimeoutMs,
    maxBeamWidth: integer(env, 'MAX_BEAM_WIDTH', 64, 1, 1024),
    maxK: integer(env, 'MAX_K', 100, 1, 1024),
    maxHistoryItems,
    maxIdLength,
    bodyLimitBytes,
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 10_000, 100, MAX_TIMER_MS),
    apiKeys,
    adminApiKeys,
    protectDocs: boolean(env, 'PROTECT_DOCS', false),
    protectMetrics: boolean(env, 'PROTECT_METRICS', false),
    rateLimitMax: integer(env, 'RATE_LIMIT_MAX', 0, 0),
    rateLimitWindowMs: integer(env, 'RATE_LIMIT_WINDOW_MS', 60_000, 1000, 86_400_000),
    authFailuresMax: integer(env, 'AUTH_FAILURES_MAX', 20, 1),
    trustProxy: trustProxy(env),
    corsOrigins: list(env, 'CORS_ORIGINS'),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, MAX_TIMER_MS),
    cataloguePollMs: integer(env, 'CATALOGUE_POLL_MS', 500, 50, 60_000)
  }
}
