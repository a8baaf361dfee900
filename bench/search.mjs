// The search's own cost, without the model: beam search and sampling (k 10, or BENCH_K; batches of 16) on the shipped
// model's trie, against a policy that answers every decoder step at once with fixed pseudo-random logits.
// What it prints is the host work per request (trie walk, masks, Gumbel draws, propensities), the part of a
// request that is ours rather than onnxruntime's. Build first (npm run build); run: node bench/search.mjs.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { beamSearch } from '../dist/src/decoding/beam-search.js'
import { Trie } from '../dist/src/decoding/trie.js'
import { defaultModel } from './lib.mjs'

const modelDir = process.env.MODEL_DIR ?? defaultModel
const k = Number(process.env.BENCH_K ?? 10) // beam search runs at beam k, as sampling does
const manifest = JSON.parse(readFileSync(path.join(modelDir, 'manifest.json'), 'utf8'))
const { levels, codebookSizes } = manifest.semanticIds
const rows = readFileSync(path.join(modelDir, 'items.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l).semanticId)
const codes = Int32Array.from(rows.flat())
const trie = Trie.fromCodes(codes, levels)
const layout = { ...manifest.tokens, maxHistory: manifest.maxHistory }
const width = Math.max(...codebookSizes)
let state = 1
// enough for a batch of 16 at every level's offset
const logits = Float32Array.from({ length: 16 * k * width + levels * 7919 }, () => { state = (state * 16807) % 2147483647; return 4 * state / 2147483647 - 2 })
const policy = {
  width,
  encode: async () => ({}),
  step: async (_s, _t, _p, batch, beams, level) => logits.subarray(level * 7919, level * 7919 + batch * beams * width)
}
const request = (strategy, seed) => ({ history: Int32Array.of(0, 1, 2), userToken: layout.bos, strategy, beamWidth: k, k, temperature: 1, seed, exclude: new Int32Array(), allow: null, snapshot: 0 })
const batches = 500
for (const strategy of ['beam', 'sample', 'beam', 'sample']) { // the first pair warms up the JIT
  const started = performance.now()
  for (let i = 0; i < batches; i++) await beamSearch(policy, trie, codes, layout, Array.from({ length: 16 }, (_, j) => request(strategy, i * 16 + j)))
  console.log(`${strategy}, k ${k}: ${((performance.now() - started) * 1000 / batches / 16).toFixed(0)} µs of search per request`)
}
