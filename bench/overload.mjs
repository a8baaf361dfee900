// Overload benchmark: goodput and answer times when far more clients than the service can serve keep
// sending requests. Default configuration, shipped Beauty model, real test histories, beam 20, k 10.
// Runs BENCH_SECONDS (30) at 64 connections, then at 1,024, with two kinds of client:
// - naive: every connection sends its next request as soon as it has an answer, 503 or not (the worst case);
// - retry-after: a connection refused with 503 waits the Retry-After it was given, as a well-behaved client does.
// Then it waits BENCH_COOLDOWN_SECONDS (30) and reads the RSS again. The load generator runs on the same
// machine and shares its cores. Prints the figures and writes bench/results/overload.{json,md}.
//
// Targets (issue 8): goodput at 1,024 >= 90% of goodput at 64; 0 requests without an answer within 2 s;
// rejections answered within 50 ms (p99); RSS back within 50 MB of its pre-load value after the cool-down.
import http from 'node:http'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { defaultModel, histories, percentile, root, scrape, startService } from './lib.mjs'

const modelDir = process.env.MODEL_DIR ?? defaultModel
const seconds = Number(process.env.BENCH_SECONDS ?? 30)
const cooldown = Number(process.env.BENCH_COOLDOWN_SECONDS ?? 30)
const levels = (process.env.BENCH_CONNECTIONS ?? '64,1024').split(',').map(Number)
const clients = (process.env.BENCH_CLIENTS ?? 'naive,retry-after').split(',')
const bodies = histories(modelDir).map(v => JSON.stringify({ userId: v.userId ?? undefined, history: v.history, k: 10, beamWidth: 20 }))

const service = await startService(modelDir)
const url = new URL(`${service.base}/v1/recommendations`)

function send (agent, body) {
  return new Promise(resolve => {
    const started = performance.now()
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - started, retryAfter: Number(res.headers['retry-after'] ?? 0) }))
    })
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')))
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started }))
    req.end(body)
  })
}

async function run (connections, client = 'naive') {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
  const results = []
  const until = performance.now() + seconds * 1000
  let i = 0
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < until) {
      const result = await send(agent, bodies[i++ % bodies.length])
      results.push(result)
      if (client === 'retry-after' && result.status === 503) await new Promise(resolve => setTimeout(resolve, result.retryAfter * 1000))
    }
  }))
  agent.destroy()
  const ok = results.filter(r => r.status === 200)
  const rejected = results.filter(r => r.status === 503).map(r => r.ms).sort((a, b) => a - b)
  const okMs = ok.map(r => r.ms).sort((a, b) => a - b)
  return {
    connections,
    client,
    requests: results.length,
    goodputPerSec: ok.length / seconds,
    rejectedPerSec: rejected.length / seconds,
    otherStatuses: results.filter(r => r.status !== 200 && r.status !== 503).reduce((counts, r) => ({ ...counts, [r.status]: (counts[r.status] ?? 0) + 1 }), {}),
    answeredAfter2s: results.filter(r => r.ms > 2000 || r.status === 0).length,
    okMs: { p50: percentile(okMs, 50), p99: percentile(okMs, 99), max: okMs.at(-1) ?? NaN },
    rejectedMs: { p50: percentile(rejected, 50), p99: percentile(rejected, 99), max: rejected.at(-1) ?? NaN }
  }
}

const runs = []
let rssBefore, rssAfter, metrics
try {
  await run(16) // warm-up: workers and the admission estimate
  rssBefore = (await scrape(service.base)).rss
  for (const client of clients) {
    for (const c of levels) {
      runs.push(await run(c, client))
      console.log(JSON.stringify(runs.at(-1)))
    }
  }
  await new Promise(resolve => setTimeout(resolve, cooldown * 1000))
  rssAfter = (await scrape(service.base)).rss
  metrics = await (await fetch(`${service.base}/metrics`)).text()
} finally {
  await service.stop()
}

const base = Object.fromEntries(runs.filter(r => r.connections === levels[0]).map(r => [r.client, r.goodputPerSec]))
const results = {
  date: new Date().toISOString(), model: modelDir, beamWidth: 20, k: 10, seconds, cooldownSeconds: cooldown, runs,
  rssBeforeMB: rssBefore / 1048576, rssAfterMB: rssAfter / 1048576,
  dropped: metrics.split('\n').filter(l => l.startsWith('inference_dropped_total{')),
  goodputRatio: runs.map(r => r.goodputPerSec / base[r.client])
}
const table = [`| client | connections | goodput req/s | vs ${levels[0]} | rejected req/s | answered after 2 s | ok p50 / p99 ms | rejection p50 / p99 / max ms | other |`,
  '|---|---|---|---|---|---|---|---|---|',
  ...runs.map((r, i) => `| ${r.client} | ${r.connections} | ${r.goodputPerSec.toFixed(0)} | ${(results.goodputRatio[i] * 100).toFixed(0)}% | ${r.rejectedPerSec.toFixed(0)} | ${r.answeredAfter2s} | ` +
    `${r.okMs.p50.toFixed(0)} / ${r.okMs.p99.toFixed(0)} | ${r.rejectedMs.p50.toFixed(1)} / ${r.rejectedMs.p99.toFixed(1)} / ${r.rejectedMs.max.toFixed(0)} | ${JSON.stringify(r.otherStatuses)} |`),
  '', `RSS ${results.rssBeforeMB.toFixed(0)} MB before the load, ${results.rssAfterMB.toFixed(0)} MB ${cooldown} s after it.`].join('\n')
mkdirSync(path.join(root, 'bench', 'results'), { recursive: true })
writeFileSync(path.join(root, 'bench', 'results', 'overload.json'), JSON.stringify(results, null, 2))
writeFileSync(path.join(root, 'bench', 'results', 'overload.md'), table + '\n')
console.log(table)
