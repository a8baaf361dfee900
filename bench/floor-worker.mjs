// One thread of the raw onnxruntime floor (bench/floor.mjs): the model's ONNX sessions, loaded and called through
// the service's own wrapper (OnnxPolicy: same session options, same level-0 shortcut), run the calls of a search
// of the given beam width on real histories, with no HTTP, no queue, no trie masking or top-k.
import { parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { historyTokens } from '../dist/src/decoding/beam-search.js'
import { Catalogue } from '../dist/src/model/catalogue.js'
import { loadManifest, policyDims, tokenLayout } from '../dist/src/model/manifest.js'
import { OnnxPolicy } from '../dist/src/model/onnx-policy.js'

const { modelDir, batch, beam, seconds, histories } = workerData
const { manifest: m, encoder, decoder, catalogue: file } = loadManifest(modelDir)
const catalogue = Catalogue.load(file, m.semanticIds.levels, m.catalogue.items, m.semanticIds.codebookSizes)
const layout = tokenLayout(m)
const policy = await OnnxPolicy.load(encoder, decoder, 1, policyDims(m))
const requests = histories.map(h => ({ history: Int32Array.from(h, id => catalogue.indexOf(id)) }))
const users = BigInt64Array.from({ length: batch }, () => BigInt(m.tokens.anonymousUserToken))

/** The policy calls of one search: level 0 with one beam per request, then `beam` beams extending earlier ones. */
async function search (rows) {
  const { tokens: history, length } = historyTokens(rows, catalogue.codes, layout)
  const state = await policy.encode(history, rows.length, length, users)
  let width = 1
  for (let level = 0; level < m.semanticIds.levels; level++) {
    const next = level === 0 ? 1 : beam
    const tokens = new BigInt64Array(rows.length * next)
    const parents = new BigInt64Array(rows.length * next)
    for (let i = 0; i < tokens.length; i++) {
      tokens[i] = BigInt(level === 0 ? layout.bos : layout.levelOffsets[level - 1] + (i % m.semanticIds.codebookSizes[level - 1]))
      parents[i] = BigInt(i % width)
    }
    await policy.step(state, tokens, parents, rows.length, next, level)
    width = next
  }
}

let i = 0
const take = () => Array.from({ length: batch }, () => requests[i++ % requests.length])
for (let w = 0; w < 20; w++) await search(take()) // warm-up
const latencies = []
const end = performance.now() + seconds * 1000
while (performance.now() < end) {
  const t = performance.now()
  await search(take())
  latencies.push(performance.now() - t)
}
parentPort.postMessage({ searches: latencies.length, requests: latencies.length * batch, latencies })
await policy.release()
