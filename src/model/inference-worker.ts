// An inference worker thread: owns one pair of onnxruntime sessions and runs batched beam searches,
// so that inference never blocks the HTTP event loop.
import { parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { beamSearch, type DecodeRequest, type TokenLayout } from '../decoding/beam-search.js'
import { Trie, type TrieBuffers } from '../decoding/trie.js'
import { OnnxPolicy, type PolicyDims } from './onnx-policy.js'

export interface WorkerInit {
  encoderFile: string
  decoderFile: string
  threads: number
  dims: PolicyDims
  trie: TrieBuffers
  codes: Int32Array
  layout: TokenLayout
}
export interface Job { id: number, requests: DecodeRequest[] }

const init = workerData as WorkerInit
const trie = new Trie(init.trie)
const policy = await OnnxPolicy.load(init.encoderFile, init.decoderFile, init.threads, init.dims)
const port = parentPort!

port.on('message', (job: Job) => {
  const start = performance.now()
  beamSearch(policy, trie, init.codes, init.layout, job.requests).then(
    results => port.postMessage({ id: job.id, results, inferenceMs: performance.now() - start }),
    (error: Error) => port.postMessage({ id: job.id, error: error.message })
  )
})
port.postMessage({ ready: true })
