// Load benchmark: starts the built service (dist/) on the shipped model, drives it from a second process
// (autocannon) with real histories from the test split in parity.jsonl, and reports latency, throughput,
// event-loop delay, RSS and the workers' pure inference time, for beam search (beam 20) and for sampling
// (strategy sample, temperature 1), k 10, in the same run. Writes bench/results/load.{json,md}.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import autocannon from 'autocannon'
import { defaultModel, histories, root, scrape, startService } from './lib.mjs'

const modelDir = process.env.MODEL_DIR ?? defaultModel
const duration = Number(process.env.BENCH_SECONDS ?? 15)
const beamWidth = Number(process.env.BENCH_BEAM ?? 20)
const strategies = (process.env.BENCH_STRATEGIES ?? 'beam,sample').split(',')
const connections = (process.env.BENCH_CONNECTIONS ?? '1,64').split(',').map(Number)
const requests = histories(modelDir)
const service = await startService(modelDir)

async function run (strategy, c) {
  let i = 0
  const before = await scrape(service.base)
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
  const after = await scrape(service.base)
  const batches = after.batchCount - before.batchCount
  return {
    strategy,
    connections: c,
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
try {
  await run('beam', 4) // warm-up
  for (const c of connections) for (const strategy of strategies) results.runs.push(await run(strategy, c))
} finally {
  await service.stop()
}
const beamOf = (r) => results.runs.find(x => x.strategy === 'beam' && x.connections === r.connections)
const table = ['| strategy | connections | req/s | p50 ms | p90 ms | p99 ms | event-loop lag p99 ms | RSS MB | inference ms/batch | mean batch | inference ms/request vs beam | non-2xx |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...results.runs.map(r => {
    const perRequest = r.inferenceMsPerBatch / r.meanBatchSize
    const beam = beamOf(r)
    const ratio = beam === undefined ? '' : (perRequest / (beam.inferenceMsPerBatch / beam.meanBatchSize)).toFixed(2)
    return `| ${r.strategy} | ${r.connections} | ${r.reqPerSec.toFixed(0)} | ${r.latencyMs.p50} | ${r.latencyMs.p90} | ${r.latencyMs.p99} | ${r.eventLoopLagP99Ms.toFixed(1)} | ` +
      `${r.rssMB.toFixed(0)} | ${r.inferenceMsPerBatch.toFixed(2)} | ${r.meanBatchSize.toFixed(1)} | ${ratio} | ${r.non2xx} |`
  })].join('\n')
mkdirSync(path.join(root, 'bench', 'results'), { recursive: true })
writeFileSync(path.join(root, 'bench', 'results', 'load.json'), JSON.stringify(results, null, 2))
writeFileSync(path.join(root, 'bench', 'results', 'load.md'), table + '\n')
console.log(table)
