// Scores an exported model through the service's own decoder (dist/: OnnxPolicy, the trie-constrained beam search
// or sampler) on leave-one-out cases written by `python -m gflowgr.cases`, with the model card's definitions
// (training/gflowgr/metrics.py): Recall@5/10, NDCG@5/10, coverage@10, long-tail share (the top-10 slots held by
// the 80% least popular items in training), Gini of top-10 exposure, invalid rate. The standard protocol (the
// whole catalogue, history not excluded), as in the card's main table. Two worker threads share the cases.
// Usage: npm run build && node scripts/evaluate.mjs MODEL_DIR CASES.jsonl [--beam 20] [--strategy sample --temperature 1 --seed 1] [--json out.json]
import { readFileSync, writeFileSync } from 'node:fs'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { recallNdcg } from './ranking-metrics.mjs'

const K = 10
const BATCH = 16

async function rank ({ modelDir, cases, beam, strategy, temperature, seed }) {
  const { loadManifest, policyDims, tokenLayout } = await import('../dist/src/model/manifest.js')
  const { Catalogue } = await import('../dist/src/model/catalogue.js')
  const { Trie } = await import('../dist/src/decoding/trie.js')
  const { OnnxPolicy } = await import('../dist/src/model/onnx-policy.js')
  const { beamSearch } = await import('../dist/src/decoding/beam-search.js')
  const { userToken } = await import('../dist/src/model/user-hash.js')
  const { manifest: m, encoder, decoder, catalogue: file } = loadManifest(modelDir)
  const catalogue = Catalogue.load(file, m.semanticIds.levels, m.catalogue.items, m.semanticIds.codebookSizes)
  const trie = Trie.fromCodes(catalogue.codes, m.semanticIds.levels)
  const policy = await OnnxPolicy.load(encoder, decoder, 1, policyDims(m))
  const ranked = []
  for (let start = 0; start < cases.length; start += BATCH) {
    const requests = cases.slice(start, start + BATCH).map(c => ({
      history: Int32Array.from(c.history.map(id => catalogue.indexOf(id))),
      userToken: userToken(c.userId, m.tokens.userOffset, m.tokens.userBuckets),
      strategy, beamWidth: strategy === 'sample' ? K : beam, k: K, temperature, seed: (seed * 1000003 + c.index) >>> 0,
      exclude: new Int32Array(), allow: null, snapshot: 0
    }))
    for (const r of await beamSearch(policy, trie, catalogue.codes, tokenLayout(m), requests)) ranked.push(r.items)
  }
  await policy.release()
  return ranked
}

if (!isMainThread) {
  parentPort.postMessage(await rank(workerData))
} else {
  const args = process.argv.slice(2)
  const option = (name, fallback) => { const at = args.indexOf(`--${name}`); return at >= 0 ? args.splice(at, 2)[1] : fallback }
  const fail = (message) => { console.error(`error: ${message}`); process.exit(2) }
  const beam = Number(option('beam', 20)); const strategy = option('strategy', 'beam')
  const temperature = Number(option('temperature', 1)); const seed = Number(option('seed', 1)); const jsonOut = option('json', null)
  const [modelDir, casesFile, ...rest] = args
  if (modelDir === undefined || casesFile === undefined || rest.length > 0) {
    fail('usage: node scripts/evaluate.mjs MODEL_DIR CASES.jsonl [--beam 20] [--strategy beam|sample] [--temperature 1] [--seed 1] [--json out.json]')
  }
  if (!Number.isInteger(beam) || beam < 1 || beam > 1000) fail(`--beam must be an integer from 1 to 1000, not ${beam}`)
  if (strategy !== 'beam' && strategy !== 'sample') fail(`--strategy must be beam or sample, not ${strategy}`)
  // the service's bounds for temperature; a seed below 2^32 keeps seed * 1000003 + index exact: one seed per case
  const { TEMPERATURE: { minimum, maximum } } = await import('../dist/src/schemas/recommendations.js')
  if (!(temperature >= minimum && temperature <= maximum)) fail(`--temperature must be in [${minimum}, ${maximum}], not ${temperature}`)
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) fail(`--seed must be an integer in [0, 2^32), not ${seed}`)
  const { loadManifest } = await import('../dist/src/model/manifest.js')
  let manifest
  try { manifest = loadManifest(modelDir).manifest } catch (e) { fail(e.message) }
  let cases
  try {
    cases = readFileSync(casesFile, 'utf8').split('\n').filter(l => l.trim() !== '').map((l, index) => ({ ...JSON.parse(l), index }))
  } catch (e) { fail(`${casesFile}: ${e.message}`) }
  if (cases.length === 0) fail(`${casesFile} has no cases (write them with python -m gflowgr.cases)`)
  const items = readFileSync(`${modelDir}/items.jsonl`, 'utf8').trim().split('\n').map(l => JSON.parse(l).itemId)
  const index = new Map(items.map((id, i) => [id, i]))
  const unknown = [...new Set(cases.flatMap(c => [...c.history, c.target]).filter(id => !index.has(id)))]
  if (unknown.length > 0) fail(`${casesFile} names ${unknown.length} items that ${modelDir} does not have, e.g. ${unknown.slice(0, 3).join(', ')}: cases of another data set?`)
  const started = performance.now()
  const halves = [0, 1].map(t => cases.filter((_, i) => i % 2 === t))
  const parts = await Promise.all(halves.map(part => new Promise((resolve, reject) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: { modelDir, cases: part, beam, strategy, temperature, seed } })
    w.once('message', resolve); w.once('error', reject)
  })))
  const ranked = cases.map((_, i) => parts[i % 2][Math.floor(i / 2)])
  // training popularity: each test history without its last item is the user's training sequence
  const popularity = new Float64Array(items.length)
  for (const c of cases) for (const id of c.history.slice(0, -1)) popularity[index.get(id)]++
  const order = Array.from(items.keys()).sort((a, b) => popularity[a] - popularity[b] || a - b) // stable, as numpy's
  const tail = new Uint8Array(items.length)
  for (const i of order.slice(0, Math.round(0.8 * items.length))) tail[i] = 1
  // compare with manifest.json's metrics of the exported checkpoint (metrics.gflowgr or metrics.sft)
  const out = { model: modelDir, checkpoint: manifest.checkpoint, cases: cases.length, strategy, ...(strategy === 'sample' ? { temperature, seed } : { beam }) }
  const targets = cases.map(c => index.get(c.target))
  for (const c of [5, 10]) {
    const { recall, ndcg } = recallNdcg(ranked, targets, c)
    out[`recall@${c}`] = recall
    out[`ndcg@${c}`] = ndcg
  }
  const exposure = new Float64Array(items.length); let shown = 0; let inTail = 0; let slots = 0
  for (const list of ranked) {
    slots += K
    for (const i of list.slice(0, K)) { exposure[i]++; shown++; inTail += tail[i] }
  }
  out['coverage@10'] = exposure.filter(x => x > 0).length / items.length
  out.long_tail_share = shown === 0 ? 0 : inTail / shown
  const sorted = Array.from(exposure).sort((a, b) => a - b); const n = sorted.length; const total = sorted.reduce((a, b) => a + b, 0)
  out.gini = total === 0 ? 0 : sorted.reduce((acc, x, i) => acc + (2 * (i + 1) - n - 1) * x, 0) / (n * total)
  out.invalid_rate = 1 - shown / slots
  out.seconds = (performance.now() - started) / 1000
  console.log(JSON.stringify(out))
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(out, null, 2))
}
