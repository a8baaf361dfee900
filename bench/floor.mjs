// The raw onnxruntime floor of a model: what onnxruntime-node alone does with the service's own sessions and
// search shapes (bench/floor-worker.mjs), in `threads` worker threads each running batches back to back. The
// service's figures divided by these are what the load benchmark judges, since absolute figures move with the machine.
import { Worker } from 'node:worker_threads'
import { percentile } from './lib.mjs'

/** -> { reqPerSec, batchMs: { p50, p99 } } over `seconds` of searches of `batch` requests at beam width `beam`. */
export async function rawFloor ({ modelDir, histories, threads, batch, beam, seconds }) {
  const url = new URL('./floor-worker.mjs', import.meta.url)
  const started = performance.now()
  const results = await Promise.all(Array.from({ length: threads }, (_, t) => new Promise((resolve, reject) => {
    const mine = histories.filter((_, j) => j % threads === t).map(v => v.history)
    const worker = new Worker(url, { workerData: { modelDir, batch, beam, seconds, histories: mine } })
    worker.once('message', resolve)
    worker.once('error', reject)
  })))
  const elapsed = (performance.now() - started) / 1000
  const latencies = results.flatMap(r => r.latencies).sort((a, b) => a - b)
  const busy = Math.max(...results.map(r => r.latencies.reduce((a, b) => a + b, 0))) / 1000
  return {
    threads, batch, beam,
    reqPerSec: results.reduce((a, r) => a + r.requests, 0) / busy,
    batchMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
    wallSeconds: elapsed
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { defaultModel, histories } = await import('./lib.mjs')
  const modelDir = process.env.MODEL_DIR ?? defaultModel
  for (const [threads, batch] of [[1, 1], [2, 16]]) {
    console.log(JSON.stringify(await rawFloor({ modelDir, histories: histories(modelDir), threads, batch, beam: Number(process.env.BENCH_BEAM ?? 20), seconds: 5 })))
  }
}
