// Load benchmark: starts the built service (dist/) on the shipped model, drives it from a second
// process (autocannon) with real histories from the test split in parity.jsonl, and reports latency,
// throughput, event-loop delay, RSS and the workers' pure inference time. Writes bench/results/.
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const modelDir = process.env.MODEL_DIR ?? path.join(root, 'models', 'beauty-gflowgr')
const duration = Number(process.env.BENCH_SECONDS ?? 15)
const beamWidth = Number(process.env.BENCH_BEAM ?? 20)
const histories = readFileSync(path.join(modelDir, 'parity.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l)).filter(v => v.history.length > 0)

const port = await new Promise(resolve => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) }) })
const base = `http://127.0.0.1:${port}`
const server = spawn(process.execPath, ['--expose-gc', path.join(root, 'dist', 'src', 'server.js')], {
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', MODEL_DIR: modelDir, LOG_LEVEL: 'warn', REDIS_URL: '' },
  stdio: ['ignore', 'inherit', 'inherit']
})
for (let i = 0; ; i++) {
  try { if ((await fetch(`${base}/readyz`)).ok) break } catch {}
  if (i > 200) throw new Error('server did not start')
  await new Promise(r => setTimeout(r, 100))
}

function metric (text, name) {
  const m = text.match(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm'))
  return m ? Number(m[1]) : NaN
}

async function scrape () {
  const text = await (await fetch(`${base}/metrics`)).text()
  return {
    rss: metric(text, 'process_resident_memory_bytes'),
    lagP99: metric(text, 'nodejs_eventloop_lag_p99_seconds'),
    inferenceSum: metric(text, 'inference_batch_duration_seconds_sum'),
    inferenceCount: metric(text, 'inference_batch_duration_seconds_count'),
    batchSum: metric(text, 'inference_batch_size_sum'),
    batchCount: metric(text, 'inference_batch_size_count')
  }
}

async function run (connections) {
  let i = 0
  const before = await scrape()
  const result = await autocannon({
    url: `${base}/v1/recommendations`,
    connections,
    duration,
    requests: [{
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => {
        const v = histories[i++ % histories.length]
        return { ...req, body: JSON.stringify({ userId: v.userId ?? undefined, history: v.history, k: 10, beamWidth }) }
      }
    }]
  })
  const after = await scrape()
  const batches = after.batchCount - before.batchCount
  return {
    connections,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    reqPerSec: result.requests.average,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    eventLoopLagP99Ms: after.lagP99 * 1000,
    rssMB: after.rss / 1048576,
    inferenceMsPerBatch: (after.inferenceSum - before.inferenceSum) * 1000 / batches,
    meanBatchSize: (after.batchSum - before.batchSum) / batches
  }
}

const results = { date: new Date().toISOString(), model: modelDir, beamWidth, k: 10, durationSeconds: duration, runs: [] }
await run(4) // warm-up
for (const c of (process.env.BENCH_CONNECTIONS ?? '1,64').split(',').map(Number)) results.runs.push(await run(c))
server.kill('SIGTERM')

const table = ['| connections | req/s | p50 ms | p90 ms | p99 ms | event-loop lag p99 ms | RSS MB | inference ms/batch | mean batch | non-2xx |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...results.runs.map(r => `| ${r.connections} | ${r.reqPerSec.toFixed(0)} | ${r.latencyMs.p50} | ${r.latencyMs.p90} | ${r.latencyMs.p99} | ${r.eventLoopLagP99Ms.toFixed(1)} | ${r.rssMB.toFixed(0)} | ${r.inferenceMsPerBatch.toFixed(2)} | ${r.meanBatchSize.toFixed(1)} | ${r.non2xx} |`)].join('\n')
mkdirSync(path.join(root, 'bench', 'results'), { recursive: true })
writeFileSync(path.join(root, 'bench', 'results', 'load.json'), JSON.stringify(results, null, 2))
writeFileSync(path.join(root, 'bench', 'results', 'load.md'), table + '\n')
console.log(table)
