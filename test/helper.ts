// Test helpers: the fixture model exported by our own trainer (training/configs/smoke.toml), an app
// built around it (tests use inject), and a real redis-server on a free port.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { TestContext } from 'node:test'
import { buildApp } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { MemoryHistoryStore } from '../src/history/memory.js'
import { RedisHistoryStore, type Durability } from '../src/history/redis.js'
import { createRedisClient } from '../src/history/redis-client.js'
import { Lifecycle } from '../src/http/lifecycle.js'
import { openService, type Store } from '../src/service.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const FIXTURE_MODEL = path.join(root, 'test', 'fixtures', 'model-smoke')
export const SHIPPED_MODELS = path.join(root, 'models')
/** The pipeline's Python environment: scripts/venv.sh creates it, and npm test runs that first. */
export const PYTHON = path.join(root, '.venv', 'bin', 'python')
/** Admin routes (catalogue writes, /v1/admin) are off without ADMIN_API_KEYS: tests that use them pass ADMIN_ENV and ADMIN_HEADERS. */
export const ADMIN_KEY = 'admin-key-0123456789'
export const ADMIN_ENV = { ADMIN_API_KEYS: ADMIN_KEY }
export const ADMIN_HEADERS = { 'x-api-key': ADMIN_KEY }

const temporary: string[] = []
process.once('exit', () => { for (const dir of temporary) rmSync(dir, { recursive: true, force: true }) })

/** A fresh directory under the OS temp directory, removed when the test process exits. */
export function tempDir (prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix))
  temporary.push(dir)
  return dir
}

/** Runs `python <args>` in training/, in the pipeline's environment. */
export async function runPipeline (args: string[]): Promise<void> {
  await promisify(execFile)(PYTHON, args, { cwd: path.join(root, 'training'), maxBuffer: 64 * 1024 * 1024 }) // a whole run's progress output
}

/** A copy of `model` re-exported with int8 weights (gflowgr.reexport --int8 --out), removed when the test process exits. */
export async function int8Copy (model: string): Promise<string> {
  const out = path.join(tempDir('int8-'), 'model')
  await runPipeline(['-m', 'gflowgr.reexport', '--int8', '--out', out, model])
  return out
}

export function testConfig (env: Record<string, string> = {}): Config {
  return loadConfig({ ...(env.MODELS === undefined && { MODEL_DIR: FIXTURE_MODEL }), WORKERS: '1', LOG_LEVEL: 'silent', ...env })
}

/** The app on the configured models (the fixture by default), an in-memory store unless one is given; closed after the test. */
export async function build (t: TestContext, env: Record<string, string> = {}, store?: Store) {
  const config = testConfig(env)
  const service = await openService(config, { store: store ?? new MemoryHistoryStore({ maxEvents: config.historyMaxEvents, ttlSeconds: config.historyTtlSeconds }, 1000) })
  const lifecycle = new Lifecycle()
  const { registry, metrics, sync } = service
  const app = await buildApp({ config, registry, store: service.store, metrics, lifecycle, sync }, { logger: false })
  t.after(async () => {
    await app.close()
    sync.stop()
    await registry.close() // the store belongs to the caller when given
    if (store === undefined) await service.store.close()
  })
  return { app, registry, recommender: registry.get().recommender, config, store: service.store, lifecycle, metrics, sync }
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

/** A real redis-server of our own (never the shared one on 6379), stoppable and restartable on the same port and directory. */
export class RedisServer {
  private process: ChildProcess | null = null
  readonly dir = tempDir('redis-test-')
  /** aof: append-only file with fsync on every write, so that a SIGKILL loses no acknowledged write. */
  constructor (readonly port: number, private readonly options: { aof?: boolean, args?: string[] } = {}) {}

  get url (): string { return `redis://127.0.0.1:${this.port}` }

  async start (): Promise<void> {
    const persistence = this.options.aof === true ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', this.dir, ...(this.options.args ?? [])],
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

  signal (signal: NodeJS.Signals): void { this.process?.kill(signal) }

  get running (): boolean { return this.process !== null && this.process.exitCode === null && this.process.signalCode === null }

  async stop (): Promise<void> {
    const child = this.process
    if (child === null || child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGCONT') // a frozen server cannot die otherwise
    await new Promise<void>(resolve => { child.once('exit', () => resolve()); child.kill('SIGKILL') })
    this.process = null
  }
}

/** redis-cli against a server of the tests' own. */
export async function redisCli (args: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args)
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { out += d.toString() })
    child.once('error', reject)
    child.once('exit', code => code === 0 ? resolve(out) : reject(new Error(`redis-cli ${args.join(' ')}: exit ${String(code)}: ${out}`)))
  })
}

/**
 * A real Redis Cluster of six redis-server processes on free loopback ports (three masters, three replicas),
 * created with redis-cli --cluster create. Node timeout 1 s, so that a failover takes a second or two.
 */
export class RedisCluster {
  nodes: RedisServer[] = []

  async start (aof = false): Promise<void> {
    for (let i = 0; i < 6; i++) {
      const port = await freePort()
      this.nodes.push(new RedisServer(port, { aof, args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1000'] }))
    }
    await Promise.all(this.nodes.map(async n => await n.start()))
    await redisCli(['--cluster', 'create', ...this.nodes.map(n => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'])
    await this.waitHealthy()
  }

  /** Resolves when every live node says cluster_state:ok and sees three masters with a replica each. */
  async waitHealthy (timeoutMs = 20_000): Promise<void> {
    const started = Date.now()
    while (Date.now() - started < timeoutMs) {
      const states = await Promise.all(this.nodes.filter(n => n.running).map(async n => await redisCli(['-p', String(n.port), 'cluster', 'info']).catch(() => '')))
      if (states.every(s => s.includes('cluster_state:ok'))) return
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    throw new Error('the cluster did not become healthy')
  }

  get seeds (): string { return this.nodes.map(n => `127.0.0.1:${n.port}`).join(',') }

  /** The master that serves a key now. */
  async masterOf (key: string): Promise<RedisServer> {
    const live = this.nodes.find(n => n.running)!
    const slot = Number((await redisCli(['-p', String(live.port), 'cluster', 'keyslot', key])).trim())
    for (const line of (await redisCli(['-p', String(live.port), 'cluster', 'nodes'])).trim().split('\n')) {
      const [, address, flags, , , , , state, ...ranges] = line.split(' ')
      if (!flags.includes('master') || flags.includes('fail') || state !== 'connected') continue
      const covers = ranges.some(r => { const [a, b] = r.split('-').map(Number); return slot >= a && slot <= (b ?? a) })
      if (covers) return this.nodes.find(n => address.startsWith(`127.0.0.1:${n.port}@`))!
    }
    throw new Error(`no master serves slot ${slot}`)
  }

  async stop (): Promise<void> { await Promise.all(this.nodes.map(async n => await n.stop())) }
}

/** The app of build(), listening on a free loopback port (for what inject cannot show: raw paths, sockets). */
export async function listen (t: TestContext, env: Record<string, string> = {}, store?: Store) {
  const built = await build(t, env, store)
  await built.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = built.app.server.address() as net.AddressInfo
  return { ...built, port, base: `http://127.0.0.1:${port}` }
}

export interface RawResponse { status: number, headers: http.IncomingHttpHeaders, body: string, json: () => any }

/** One HTTP request with the path sent exactly as given (no normalisation, unlike fetch). */
export async function raw (port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path, headers: { ...(body !== undefined && { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }), ...headers }, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) }))
    })
    request.on('error', reject)
    request.end(body)
  })
}

/** Checks the common error shape: { code, message, requestId, details? } and the x-request-id header. */
export function assertErrorShape (status: number, headers: http.IncomingHttpHeaders | Record<string, unknown>, body: unknown, context = ''): void {
  const b = body as Record<string, unknown>
  const keys = Object.keys(b).filter(k => k !== 'details')
  if (keys.sort().join(',') !== 'code,message,requestId' || typeof b.code !== 'string' || typeof b.message !== 'string' || typeof b.requestId !== 'string' ||
      ('details' in b && (typeof b.details !== 'object' || b.details === null))) {
    throw new Error(`${status} ${context}: not in the error shape: ${JSON.stringify(body)}`)
  }
  if (headers['x-request-id'] !== b.requestId) throw new Error(`${status} ${context}: x-request-id ${String(headers['x-request-id'])} differs from requestId ${String(b.requestId)}`)
}

export const SERVER_ENTRY = path.join(root, 'dist', 'src', 'server.js')

/** The real server process (dist/src/server.js) on a free port, ready; logs collected; stopped after the test. */
export async function startServer (env: Record<string, string> = {}, t?: TestContext) {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', MODEL_DIR: FIXTURE_MODEL, WORKERS: '1', REDIS_URL: '', LOG_LEVEL: 'info', ...env }
  })
  const server = { port, base, child, logs: '', exited: new Promise<number | null>(resolve => child.once('exit', code => resolve(code))) }
  child.stdout!.on('data', (d: Buffer) => { server.logs += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { server.logs += d.toString() })
  t?.after(async () => { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await server.exited } })
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${server.logs}`)
    try {
      if ((await fetch(`${base}/readyz`)).ok) return server
    } catch {}
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`server did not become ready:\n${server.logs}`)
}

/** A Redis history store on a server of the tests' own (RedisServer), connected. */
export async function connectRedisStore (url: string, limits = { maxEvents: 50, ttlSeconds: 3600 }, prefix = 'gflowgr:', durability?: Durability): Promise<RedisHistoryStore> {
  const store = new RedisHistoryStore(createRedisClient(url.includes('+cluster') ? { mode: 'cluster', nodes: url.split('//')[1].split(',').map(h => ({ host: h.split(':')[0], port: Number(h.split(':')[1]) })), tls: false } : { mode: 'single', url }), limits, prefix, durability)
  store.client.on('error', () => {})
  await store.connect()
  return store
}

/** A copy of the fixture model that a test may change (version, files) before reloading it. */
export function modelCopy (): string {
  const dir = tempDir('model-copy-')
  cpSync(FIXTURE_MODEL, dir, { recursive: true })
  return dir
}

export function setVersion (dir: string, version: string): void {
  const file = path.join(dir, 'manifest.json')
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), version }))
}
