// One thread of the raw onnxruntime floor (bench/floor.mjs): the model's own ONNX sessions, loaded as the service
// loads them, run the calls of a search of the given beam width on real histories, with no HTTP, no queue, no trie.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import ort from 'onnxruntime-node'

const { modelDir, batch, beam, seconds, histories } = workerData
const m = JSON.parse(readFileSync(path.join(modelDir, 'manifest.json'), 'utf8'))
const codes = new Map(readFileSync(path.join(modelDir, 'items.jsonl'), 'utf8').trim().split('\n').map(l => { const i = JSON.parse(l); return [i.itemId, i.semanticId] }))
const options = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' }
const encoder = await ort.InferenceSession.create(path.join(modelDir, m.onnx.encoder.file), options)
const decoder = await ort.InferenceSession.create(path.join(modelDir, m.onnx.decoder.file), options)
const L = m.semanticIds.levels
const offsets = m.tokens.levelOffsets
const firstInEncoder = encoder.outputNames.includes('logits')
const { layers, heads, head_dim: headDim } = m.onnxDims

function historyTensor (rows) {
  const length = Math.max(1, ...rows.map(h => Math.min(h.length, m.maxHistory)))
  const tokens = new BigInt64Array(rows.length * length * L).fill(BigInt(m.tokens.pad))
  rows.forEach((h, r) => {
    const recent = h.slice(-m.maxHistory)
    recent.forEach((id, t) => codes.get(id).forEach((code, l) => { tokens[(r * length + length - recent.length + t) * L + l] = BigInt(code + offsets[l]) }))
  })
  return new ort.Tensor('int64', tokens, [rows.length, length, L])
}

async function search (rows) {
  const users = new ort.Tensor('int64', BigInt64Array.from(rows.map(() => BigInt(m.tokens.anonymousUserToken))), [rows.length])
  const out = await encoder.run({ history_tokens: historyTensor(rows), user_token: users })
  let past = firstInEncoder ? out.present : new ort.Tensor('float32', new Float32Array(0), [layers, 2, rows.length, 1, heads, 0, headDim])
  let width = 1
  for (let level = firstInEncoder ? 1 : 0; level < L; level++) {
    const next = level === 0 ? 1 : beam
    const tokens = new BigInt64Array(rows.length * next)
    const parents = new BigInt64Array(rows.length * next)
    for (let i = 0; i < tokens.length; i++) {
      tokens[i] = BigInt(level === 0 ? m.tokens.bos : offsets[level - 1] + (i % m.semanticIds.codebookSizes[level - 1]))
      parents[i] = BigInt(i % width)
    }
    const step = await decoder.run({
      token: new ort.Tensor('int64', tokens, [rows.length, next]),
      parent: new ort.Tensor('int64', parents, [rows.length, next]),
      past,
      cross_kv: out.cross_kv,
      memory_bias: out.memory_bias,
      level: new ort.Tensor('int64', BigInt64Array.of(BigInt(level)), [])
    })
    past = step.present
    width = next
  }
}

let i = 0
const take = () => Array.from({ length: batch }, () => histories[i++ % histories.length])
for (let w = 0; w < 20; w++) await search(take()) // warm-up
const latencies = []
const end = performance.now() + seconds * 1000
while (performance.now() < end) {
  const t = performance.now()
  await search(take())
  latencies.push(performance.now() - t)
}
parentPort.postMessage({ searches: latencies.length, requests: latencies.length * batch, latencies })
await Promise.all([encoder.release(), decoder.release()])
