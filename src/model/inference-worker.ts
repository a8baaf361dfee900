// An inference worker thread: owns one pair of onnxruntime sessions and runs batched beam searches,
// so that inference never blocks the HTTP event loop. A batch past its deadline stops between decoder
// steps and answers { timedOut }; the thread is never terminated inside onnxruntime.
import { parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { DeadlineExceeded, beamSearch, type DecodeRequest, type TokenLayout } from '../decoding/beam-search.js'
import { Trie, type GlobalMask } from '../decoding/trie.js'
import { SNAPSHOTS_KEPT, type CatalogueSnapshot } from '../catalogue/view.js'
import { OnnxPolicy, type PolicyDims } from './onnx-policy.js'

export interface WorkerInit {
  encoderFile: string
  decoderFile: string
  threads: number
  dims: PolicyDims
  layout: TokenLayout
  snapshots: CatalogueSnapshot[] // the recent catalogue snapshots; more arrive as { snapshot } messages
}
/** deadline: Date.now() value after which the batch is abandoned; every request of a job has the same snapshot. */
export interface Job { id: number, requests: DecodeRequest[], deadline: number }


const init = workerData as WorkerInit
const snapshots = new Map<number, { trie: Trie, codes: Int32Array, hidden: GlobalMask }>()
function keep (s: CatalogueSnapshot): void {
  snapshots.set(s.id, { trie: new Trie(s.trie), codes: s.codes, hidden: s.hidden })
  for (const id of snapshots.keys()) if (id <= s.id - SNAPSHOTS_KEPT) snapshots.delete(id)
}
init.snapshots.forEach(keep)
const policy = await OnnxPolicy.load(init.encoderFile, init.decoderFile, init.threads, init.dims)
const port = parentPort!

port.on('message', (message: Job | { snapshot: CatalogueSnapshot }) => {
  if ('snapshot' in message) { keep(message.snapshot); return }
  const job = message
  const start = performance.now()
  const snapshot = snapshots.get(job.requests[0].snapshot)
  if (snapshot === undefined) { port.postMessage({ id: job.id, error: `catalogue snapshot ${job.requests[0].snapshot} is gone` }); return }
  beamSearch(policy, snapshot.trie, snapshot.codes, init.layout, job.requests, job.deadline, snapshot.hidden).then(
    results => port.postMessage({ id: job.id, results, inferenceMs: performance.now() - start }),
    (error: Error) => port.postMessage(error instanceof DeadlineExceeded ? { id: job.id, timedOut: true } : { id: job.id, error: error.message })
  )
})
port.postMessage({ ready: true })
