// Writes every user's recorded events from Redis (REDIS_URL or REDIS_CLUSTER_NODES, as the service reads
// them) in the training pipeline's generic interactions format, to stdout or a file:
//   node dist/src/export-events.js [--format jsonl|csv] [--out FILE]
// SCAN-based: bounded memory, and Redis keeps serving. The in-memory store lives inside the service
// process: export it with GET /v1/admin/events instead.
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { loadConfig, ConfigError } from './config.js'
import { exportEvents, type ExportFormat } from './history/export.js'
import { RedisHistoryStore } from './history/redis.js'
import { createRedisClient } from './history/redis-client.js'

function option (name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`)
  return at < 0 ? undefined : process.argv[at + 1]
}

try {
  const config = loadConfig()
  const format = (option('format') ?? 'jsonl') as ExportFormat
  if (format !== 'jsonl' && format !== 'csv') throw new ConfigError('--format must be jsonl or csv')
  if (config.redis === null) throw new ConfigError('set REDIS_URL or REDIS_CLUSTER_NODES; the in-memory store is exported by the service: GET /v1/admin/events')
  const store = new RedisHistoryStore(createRedisClient(config.redis), { maxEvents: config.historyMaxEvents, ttlSeconds: config.historyTtlSeconds })
  await store.connect()
  const out = option('out')
  await pipeline(Readable.from(exportEvents(store, format)), out === undefined ? process.stdout : createWriteStream(out))
  await store.close()
} catch (error) {
  console.error(`export-events: ${(error as Error).message}`)
  process.exit(error instanceof ConfigError ? 2 : 1)
}
