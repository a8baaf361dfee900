// Test helpers: the fixture model exported by our own trainer (training/configs/smoke.toml), an app
// built around it (tests use inject), and a real redis-server on a free port.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'
import { buildApp } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { MemoryHistoryStore } from '../src/history/memory.js'
import type { HistoryStore } from '../src/history/store.js'
import { Metrics } from '../src/metrics.js'
import { Recommender } from '../src/model/recommender.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const FIXTURE_MODEL = path.join(root, 'test', 'fixtures', 'model-smoke')
export const SHIPPED_MODELS = path.join(root, 'models')

export function testConfig (env: Record<string, string> = {}): Config {
  return loadConfig({ MODEL_DIR: FIXTURE_MODEL, WORKERS: '1', LOG_LEVEL: 'silent', ...env })
}

export async function loadRecommender (config: Config, modelDir = FIXTURE_MODEL): Promise<Recommender> {
  return await Recommender.load(modelDir, {
    size: config.workers,
    maxBatchSize: config.maxBatchSize,
    maxQueue: config.maxQueue,
    timeoutMs: config.inferenceTimeoutMs,
    threads: config.threadsPerWorker
  })
}

export async function build (t: TestContext, env: Record<string, string> = {}, store?: HistoryStore) {
  const config = testConfig(env)
  const recommender = await loadRecommender(config)
  const historyStore = store ?? new MemoryHistoryStore({ maxEvents: config.historyMaxEvents, ttlSeconds: config.historyTtlSeconds }, 1000)
  const app = await buildApp({ config, recommender, store: historyStore, metrics: new Metrics() }, { logger: false })
  t.after(async () => {
    await app.close()
    await recommender.close()
  })
  return { app, recommender, config, store: historyStore }
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

/** A real redis-server of our own (never the shared one on 6379), stoppable and restartable on the same port. */
export class RedisServer {
  private process: ChildProcess | null = null
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'redis-test-'))
  constructor (readonly port: number) {}

  get url (): string { return `redis://127.0.0.1:${this.port}` }

  async start (): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir],
      { stdio: ['ignore', 'pipe', 'pipe'] })
    this.process = child
    await new Promise<void>((resolve, reject) => {
      let output = ''
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('Ready to accept connections')) resolve()
      })
      child.once('error', (e) => reject(new Error(`cannot start redis-server (is it installed?): ${e.message}`)))
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)))
    })
  }

  async stop (): Promise<void> {
    const child = this.process
    if (child === null || child.exitCode !== null) return
    await new Promise<void>(resolve => { child.once('exit', () => resolve()); child.kill('SIGKILL') })
    this.process = null
  }
}
