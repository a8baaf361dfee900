// All configuration comes from the environment, is read and validated here once, at boot.
import os from 'node:os'
import path from 'node:path'

export interface Config {
  host: string
  port: number
  modelDir: string
  logLevel: string
  redisUrl: string | null
  historyTtlSeconds: number
  historyMaxEvents: number
  memoryStoreMaxUsers: number
  workers: number
  threadsPerWorker: number
  maxBatchSize: number
  maxQueue: number
  inferenceTimeoutMs: number
  maxBeamWidth: number
  maxK: number
  maxHistoryItems: number
  maxIdLength: number
  bodyLimitBytes: number
  apiKeys: string[]
  rateLimitMax: number
  rateLimitWindowMs: number
  corsOrigins: string[]
  shutdownTimeoutMs: number
}

export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

function integer (env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got "${raw}"`)
  const value = Number(raw)
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`)
  return value
}

function list (env: Env, name: string): string[] {
  return (env[name] ?? '').split(',').map(s => s.trim()).filter(Boolean)
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export function loadConfig (env: Env = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? 'info'
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`)
  const redisUrl = env.REDIS_URL?.trim() || null
  if (redisUrl !== null && !/^rediss?:\/\//.test(redisUrl)) throw new ConfigError(`REDIS_URL must start with redis:// or rediss://, got "${redisUrl}"`)
  const apiKeys = list(env, 'API_KEYS')
  if (apiKeys.some(k => k.length < 16)) throw new ConfigError('API_KEYS: every key must be at least 16 characters long')
  return {
    host: env.HOST ?? '0.0.0.0',
    port: integer(env, 'PORT', 8080, 0, 65535),
    modelDir: path.resolve(env.MODEL_DIR ?? 'models/beauty-gflowgr'),
    logLevel,
    redisUrl,
    historyTtlSeconds: integer(env, 'HISTORY_TTL_SECONDS', 30 * 24 * 3600, 1),
    historyMaxEvents: integer(env, 'HISTORY_MAX_EVENTS', 200, 1, 10_000),
    memoryStoreMaxUsers: integer(env, 'MEMORY_STORE_MAX_USERS', 100_000, 1),
    workers: integer(env, 'WORKERS', Math.max(1, Math.min(2, os.availableParallelism())), 1, 64),
    threadsPerWorker: integer(env, 'THREADS_PER_WORKER', 1, 1, 64),
    maxBatchSize: integer(env, 'MAX_BATCH_SIZE', 16, 1, 1024),
    maxQueue: integer(env, 'MAX_QUEUE', 512, 1, 1_000_000),
    inferenceTimeoutMs: integer(env, 'INFERENCE_TIMEOUT_MS', 10_000, 10),
    maxBeamWidth: integer(env, 'MAX_BEAM_WIDTH', 64, 1, 1024),
    maxK: integer(env, 'MAX_K', 100, 1, 1024),
    maxHistoryItems: integer(env, 'MAX_HISTORY_ITEMS', 500, 1, 100_000),
    maxIdLength: integer(env, 'MAX_ID_LENGTH', 128, 1, 4096),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 64 * 1024, 1024),
    apiKeys,
    rateLimitMax: integer(env, 'RATE_LIMIT_MAX', 0, 0),
    rateLimitWindowMs: integer(env, 'RATE_LIMIT_WINDOW_MS', 60_000, 1),
    corsOrigins: list(env, 'CORS_ORIGINS'),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0)
  }
}
