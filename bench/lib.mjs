// Shared by the benchmarks: start the built service (dist/) on a model, scrape its metrics, real histories.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const defaultModel = path.join(root, 'models', 'beauty-gflowgr')

/** The test split's histories of parity.jsonl (written at export), non-empty ones. */
export function histories (modelDir) {
  return readFileSync(path.join(modelDir, 'parity.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l)).filter(v => v.history.length > 0)
}

export async function freePort () {
  return await new Promise(resolve => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) }) })
}

/** Starts dist/src/server.js with the given environment and waits until /readyz answers 200. */
export async function startService (modelDir, env = {}) {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [path.join(root, 'dist', 'src', 'server.js')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', MODEL_DIR: modelDir, LOG_LEVEL: 'warn', REDIS_URL: '', ...env },
    stdio: ['ignore', 'inherit', 'inherit']
  })
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break } catch {}
    if (i > 300 || child.exitCode !== null) throw new Error(`server did not start (exit code ${child.exitCode})`)
    await new Promise(r => setTimeout(r, 100))
  }
  return { base, child, stop: async () => { child.kill('SIGTERM'); await new Promise(r => child.once('exit', r)) } }
}

function metric (text, name) {
  // summed over label sets (per-model series); NaN when absent
  const values = [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'gm'))].map(m => Number(m[1]))
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0)
}

export async function scrape (base) {
  const text = await (await fetch(`${base}/metrics`)).text()
  return {
    rss: metric(text, 'process_resident_memory_bytes'),
    cpuSeconds: metric(text, 'process_cpu_seconds_total'),
    lagP99: metric(text, 'nodejs_eventloop_lag_p99_seconds'),
    inferenceSum: metric(text, 'inference_batch_duration_seconds_sum'),
    inferenceCount: metric(text, 'inference_batch_duration_seconds_count'),
    batchSum: metric(text, 'inference_batch_size_sum'),
    batchCount: metric(text, 'inference_batch_size_count')
  }
}

export function percentile (sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p / 100 * sorted.length))]
}
