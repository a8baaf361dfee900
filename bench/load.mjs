// Load benchmark: starts the built service (dist/) on the shipped model, drives it from a second process
// (autocannon) with real histories from the test split in parity.jsonl, and reports latency, throughput,
// event-loop delay, RSS and the workers' pure inference time, for beam search at beam widths 10, 20 and 40 and
// for sampling (strategy sample, temperature 1), k 10. In the same run it measures the raw onnxruntime floor of
// the same model and shapes (bench/floor.mjs: one thread at batch 1 for c=1; WORKERS threads at MAX_BATCH_SIZE for
// c=64) and reports the service's share of it, which is the figure to judge: absolute figures move with the machine.
// Writes bench/results/load.{json,md}.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import autocannon from 'autocannon'
import { rawFloor } from './floor.mjs'
import { defaultModel, histories, root, scrape, startService } from './lib.mjs'

const modelDir = process.env.MODEL_DIR ?? defaultModel
const duration = Number(process.env.BENCH_SECONDS ?? 15)
const beamWidths = (process.env.BENCH_BEAMS ?? '10,20,40').split(',').map(Number)
const workers = 2 // the service's default on 2 cores (WORKERS), and its default MAX_BATCH_SIZE below
const maxBatch = 16
const strategies = (process.env.BENCH_STRATEGIES ?? 'beam,sample').split(',')
const connections = (process.env.BENCH_CONNECTIONS ?? '1,64').split(',').map(Number)
const requests = histories(modelDir)
const service = await startService(modelDir, { WORKERS: String(workers), MAX_BATCH_SIZE: String(maxBatch) })

async function run (strategy, c, beamWidth) {
  let i = 0
  const before = await scrape(service.base)
  const loadgenBefore = process.cpuUsage()
  const started = performance.now()
  const result = await autocannon({
    url: `${service.base}/v1/recommendations`,
    connections: c,
    duration,
    requests: [{
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => {
        const v = requests[i++ % requests.length]
        const search = strategy === 'sample' ? { strategy: 'sample', temperature: 1 } : { beamWidth }
        return { ...req, body: JSON.stringify({ userId: v.userId ?? undefined, history: v.history, k: 10, ...search }) }
      }
    }]
  })
  const seconds = (performance.now() - started) / 1000
  const loadgen = process.cpuUsage(loadgenBefore)
  const after = await scrape(service.base)
  const batches = after.batchCount - before.batchCount
  return {
    strategy,
    beamWidth: strategy === 'beam' ? beamWidth : null,
    connections: c,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    reqPerSec: result.requests.average,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    eventLoopLagP99Ms: after.lagP99 * 1000,
    rssMB: after.rss / 1048576,
    inferenceMsPerBatch: (after.inferenceSum - before.inferenceSum) * 1000 / batches, // wall time in the worker
    meanBatchSize: (after.batchSum - before.batchSum) / batches,
    // in cores (1 = one core busy all the time): where the two cores went during the run
    cores: { service: (after.cpuSeconds - before.cpuSeconds) / seconds, loadGenerator: (loadgen.user + loadgen.system) / 1e6 / seconds }
  }
}

const results = { date: new Date().toISOString(), model: modelDir, k: 10, durationSeconds: duration, workers, maxBatch, runs: [], floor: [] }
try {
  await run('beam', 4, 20) // warm-up
  for (const c of connections) {
    for (const beamWidth of beamWidths) if (strategies.includes('beam')) results.runs.push(await run('beam', c, beamWidth))
    if (strategies.includes('sample')) results.runs.push(await run('sample', c, null))
  }
} finally {
  await service.stop()
}
for (const c of connections) {
  for (const beam of beamWidths) {
    const [threads, batch] = c === 1 ? [1, 1] : [workers, maxBatch]
    results.floor.push({ connections: c, ...await rawFloor({ modelDir, histories: requests, threads, batch, beam, seconds: Math.min(duration, 8) }) })
  }
}
const floorOf = (r) => results.floor.find(f => f.connections === r.connections && f.beam === r.beamWidth)
const beamOf = (r) => results.runs.find(x => x.strategy === 'beam' && x.beamWidth === 20 && x.connections === r.connections)
const table = ['| strategy | beam | connections | req/s | p50 ms | p90 ms | p99 ms | event-loop lag p99 ms | RSS MB | inference ms/batch | mean batch | raw floor req/s | raw floor batch p50 ms | service / floor | inference ms/request vs beam 20 | CPU cores: service / load generator | non-2xx |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...results.runs.map(r => {
    const perRequest = r.inferenceMsPerBatch / r.meanBatchSize
    const beam = beamOf(r)
    const ratio = beam === undefined ? '' : (perRequest / (beam.inferenceMsPerBatch / beam.meanBatchSize)).toFixed(2)
    const floor = floorOf(r)
    return `| ${r.strategy} | ${r.beamWidth ?? 'k'} | ${r.connections} | ${r.reqPerSec.toFixed(0)} | ${r.latencyMs.p50} | ${r.latencyMs.p90} | ${r.latencyMs.p99} | ${r.eventLoopLagP99Ms.toFixed(1)} | ` +
      `${r.rssMB.toFixed(0)} | ${r.inferenceMsPerBatch.toFixed(2)} | ${r.meanBatchSize.toFixed(1)} | ${floor ? floor.reqPerSec.toFixed(0) : ''} | ` +
      `${floor ? floor.batchMs.p50.toFixed(2) : ''} | ${floor ? (r.reqPerSec / floor.reqPerSec).toFixed(2) : ''} | ${ratio} | ` +
      `${r.cores.service.toFixed(2)} / ${r.cores.loadGenerator.toFixed(2)} | ${r.non2xx} |`
  })].join('\n')
mkdirSync(path.join(root, 'bench', 'results'), { recursive: true })
writeFileSync(path.join(root, 'bench', 'results', 'load.json'), JSON.stringify(results, null, 2))
writeFileSync(path.join(root, 'bench', 'results', 'load.md'), table + '\n')
console.log(table)
