// An inference worker thread: owns one pair of onnxruntime sessions and runs batched beam searches,
// so that inference never blocks the HTTP event loop. A batch past its deadline stops between decoder
// steps and answers { timedOut }; the thread is never terminated inside onnxruntime.
import { parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { DeadlineExceeded, beamSearch, type DecodeRequest, type TokenLayout } from '../decoding/beam-search.js'
import { Trie, type GlobalMask, type TrieBuffers } from '../decoding/trie.js'
import { OnnxPolicy, type PolicyDims } from './onnx-policy.js'

export interface WorkerInit {
  encoderFile: string
  decoderFile: string
  threads: number
  dims: PolicyDims
  trie: TrieBuffers
  codes: Int32Array
  layout: TokenLayout
  hidden: GlobalMask | null // items hidden from every request; replaced by { hidden } messages
}
/** deadline: Date.now() value after which the batch is abandoned. */
export interface Job { id: number, requests: DecodeRequest[], deadline: number }

const init = workerData as WorkerInit
const trie = new Trie(init.trie)
const policy = await OnnxPolicy.load(init.encoderFile, init.decoderFile, init.threads, init.dims)
const port = parentPort!

let hidden = init.hidden

port.on('message', (message: Job | { hidden: GlobalMask }) => {
  if ('hidden' in message) { hidden = message.hidden; return } // the next batch uses it; a running one keeps its own
  const job = message
  const start = performance.now()
  beamSearch(policy, trie, init.codes, init.layout, job.requests, job.deadline, hidden).then(
    results => port.postMessage({ id: job.id, results, inferenceMs: performance.now() - start }),
    (error: Error) => port.postMessage(error instanceof DeadlineExceeded ? { id: job.id, timedOut: true } : { id: job.id, error: error.message })
  )
})
port.postMessage({ ready: true })
