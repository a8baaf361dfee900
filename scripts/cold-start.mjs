// Cold start through the API: does a policy recommend items it never saw in training, from their content alone?
//
// Reads cold_start.jsonl, written by the export of a run with `withhold_items` (the command is in the Beauty model
// card): the withheld items, then every test case in external ids. Starts the built service on that model, adds
// the withheld items with POST /v1/items (content-derived semantic IDs), then asks POST /v1/recommendations (beam,
// k 10, excludeSeen, the service's defaults) for every test case with its user id and full history, and reports
//   - on the test cases whose target is a withheld item: Recall@10 and NDCG@10 of the policy (which ranks the
//     whole catalogue), of a baseline that ranks only the withheld items (it knows the target is new) by the mean
//     training popularity of their 10 nearest catalogue items by text (the neighbours the content encoder
//     borrows from), and of a uniformly random withheld item (expected values);
//   - on the others: the policy's Recall/NDCG@10, for reference;
//   - over all test cases: the share of top-10 slots that the new items take.
// Usage: npm run build && node scripts/cold-start.mjs [modelDir] [--json out.json]
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { root, startService } from '../bench/lib.mjs'
import { recallNdcg } from './ranking-metrics.mjs'

const args = process.argv.slice(2)
const jsonAt = args.indexOf('--json')
const jsonOut = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : null
const modelDir = path.resolve(args[0] ?? path.join(root, 'training', 'runs', 'beauty-cold-start', 'model'))
const K = 10
const CONCURRENCY = 16
const ADMIN_KEY = randomBytes(16).toString('hex')

const lines = readFileSync(path.join(modelDir, 'cold_start.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l))
const withheld = lines.filter(l => l.item).map(l => ({ ...l.item, neighbourPopularity: l.neighbourPopularity }))
const cases = lines.filter(l => l.target !== undefined)
const isNew = new Set(withheld.map(i => i.itemId))

// The API's limits on content (control characters are refused, descriptions end at 5,000 characters)
const clean = (s, max) => s === null || s === undefined ? undefined : (s.replace(/[\p{Cc}\p{Cs}]/gu, ' ').trim().slice(0, max) || undefined)
let truncated = 0

const service = await startService(modelDir, { ADMIN_API_KEYS: ADMIN_KEY, MAX_HISTORY_ITEMS: '100000', LOG_LEVEL: 'error' })
try {
  const headers = { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY }
  const placed = { placed: 0, refused: {} }
  for (const item of withheld) {
    if ((item.description ?? '').length > 5000) truncated++
    const body = {
      itemId: item.itemId,
      title: clean(item.title, 500),
      brand: clean(item.brand, 200),
      categories: item.categories.map(c => clean(c, 200)).filter(Boolean).slice(0, 20),
      description: clean(item.description, 5000)
    }
    const res = await fetch(`${service.base}/v1/items`, { method: 'POST', headers, body: JSON.stringify(body) })
    const answer = await res.json()
    if (res.status === 201) placed.placed++
    else placed.refused[answer.code] = (placed.refused[answer.code] ?? 0) + 1
  }

  // Baseline: the withheld items by neighbour popularity, the same list for everyone, less the user's history
  const byPopularity = [...withheld].sort((a, b) => b.neighbourPopularity - a.neighbourPopularity || (a.itemId < b.itemId ? -1 : 1)).map(i => i.itemId)
  const baseline = history => { const seen = new Set(history); return byPopularity.filter(i => !seen.has(i)).slice(0, K) }

  const served = new Array(cases.length)
  let next = 0
  let failed = 0
  async function worker () {
    while (next < cases.length) {
      const i = next++
      const c = cases[i]
      const res = await fetch(`${service.base}/v1/recommendations`, { method: 'POST', headers, body: JSON.stringify({ userId: c.userId, history: c.history, k: K }) })
      if (res.status !== 200) { failed++; console.error(`${c.userId}: ${res.status} ${await res.text()}`); served[i] = []; continue }
      served[i] = (await res.json()).items.map(item => item.itemId)
    }
  }
  const started = Date.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const seconds = (Date.now() - started) / 1000

  const score = (rankings, subset) => recallNdcg(subset.map(rankings), subset.map(i => cases[i].target), K)
  const all = cases.map((_, i) => i)
  const cold = all.filter(i => isNew.has(cases[i].target))
  const warm = all.filter(i => !isNew.has(cases[i].target))
  // a uniformly random ranking of the withheld items the user has not seen: the target is in the top 10 with
  // probability 10 / n and at each rank with probability 1 / n
  const random = cold.map(i => Math.max(1, withheld.length - cases[i].history.filter(h => isNew.has(h)).length))
  const randomNdcg = random.reduce((s, n) => s + Array.from({ length: Math.min(K, n) }, (_, r) => 1 / Math.log2(r + 2)).reduce((a, b) => a + b, 0) / n, 0) / cold.length
  const slots = served.reduce((s, r) => s + r.length, 0)
  const newSlots = served.reduce((s, r) => s + r.filter(id => isNew.has(id)).length, 0)
  const result = {
    model: modelDir,
    withheldItems: withheld.length,
    descriptionsTruncated: truncated,
    added: placed,
    testCases: cases.length,
    coldCases: cold.length,
    failedRequests: failed,
    seconds,
    cold: {
      policy: score(i => served[i], cold),
      neighbourPopularity: score(i => baseline(cases[i].history), cold),
      random: { recall: random.reduce((s, n) => s + Math.min(K, n) / n, 0) / cold.length, ndcg: randomNdcg }
    },
    warm: { policy: score(i => served[i], warm) },
    newItemSlotShare: newSlots / slots,
    newItemsRecommended: new Set(served.flat().filter(id => isNew.has(id))).size
  }
  console.log(JSON.stringify(result, null, 2))
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n')
  if (failed > 0) process.exitCode = 1 // the figures above count failed requests as misses
} finally {
  await service.stop()
}
