// The inference pool under deadlines and overload, on the shipped Beauty model (a beam-64 batch takes long
// enough there to be caught mid-inference).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { AppError } from '../../src/errors.js'
import { poolOptions, Recommender } from '../../src/model/recommender.js'
import { ClientGoneError } from '../../src/model/worker-pool.js'
import { SHIPPED_MODELS, testConfig } from '../helper.js'

const BEAUTY = path.join(SHIPPED_MODELS, 'beauty-gflowgr')

async function load (env: Record<string, string>, extra: { graceMs?: number, maxQueueWaitMs?: number, timeoutMs?: number } = {}) {
  const config = testConfig({ MODEL_DIR: BEAUTY, ...env })
  const events = { batches: [] as number[], errors: [] as string[], drops: [] as string[] }
  const options = poolOptions(config)
  const recommender = await Recommender.load(BEAUTY, {
    ...options,
    ...extra,
    onBatch: (size) => events.batches.push(size),
    onError: (error) => events.errors.push(error.message),
    onDrop: (reason) => events.drops.push(reason)
  })
  for (let i = 0; i < 200 && !recommender.idle; i++) await new Promise(resolve => setTimeout(resolve, 10)) // the warm-up may still run past its deadlines
  events.batches = []; events.errors = []; events.drops = [] // forget the warm-up
  return { recommender, events, history: recommender.catalogue.items.slice(0, 5).map(i => i.itemId) }
}

const heavy = (history: string[]) => ({ history, k: 100, beamWidth: 64, excludeSeen: true, exclude: [] })
const settle = async <T>(promise: Promise<T>) => await promise.then(value => ({ ok: true as const, value }), (error: Error) => ({ ok: false as const, error }))

test('a batch past its deadline stops between decoder steps: 503 inference_timeout, the worker stays', async () => {
  const { recommender, events, history } = await load({ INFERENCE_TIMEOUT_MS: '20', WORKERS: '1' }, { graceMs: 10_000, maxQueueWaitMs: 60_000 })
  try {
    const results = await Promise.all(Array.from({ length: 8 }, async () => await settle(recommender.recommend(heavy(history)))))
    const codes = results.filter(r => !r.ok).map(r => ((r as { error: Error }).error as AppError).code)
    assert.ok(codes.includes('inference_timeout'), 'the forced deadline must be hit')
    assert.ok(codes.every(c => c === 'inference_timeout'), codes.join())
    assert.equal(recommender.readyWorkers, 1)
    assert.deepEqual(events.errors, [], 'the worker stopped by itself; it was not replaced')
    for (let i = 0; i < 200 && !recommender.idle; i++) await new Promise(resolve => setTimeout(resolve, 10))
    const light = await recommender.recommend({ history, k: 1, beamWidth: 1, excludeSeen: true, exclude: [] })
    assert.equal(light.items.length, 1)
  } finally {
    await recommender.close()
  }
})

test('a worker that overruns its deadline inside onnxruntime is replaced at once and terminated only after it answers', async () => {
  // admission off (a long queue wait allowed), so that one big batch is caught inside a decoder step
  const { recommender, events, history } = await load({ INFERENCE_TIMEOUT_MS: '10', WORKERS: '1' }, { graceMs: 0, maxQueueWaitMs: 60_000 })
  try {
    const started = Date.now()
    // beam 1024: even the first request, dispatched alone, is inside a decoder step (1,024 rows) at its 10 ms
    // deadline; with beam 64 it sometimes finished in time (4 runs in 12) or stopped between steps
    const results = await Promise.all(Array.from({ length: 16 }, async () => await settle(recommender.recommend({ ...heavy(history), beamWidth: 1024 }))))
    const codes = results.map(r => r.ok ? 'ok' : (r.error as AppError).code)
    assert.ok(codes.every(c => c === 'inference_timeout'), codes.join())
    assert.ok(Date.now() - started < 1000, 'the requests are answered at the deadline, not when the batch ends')
    assert.ok(events.errors.some(e => /missed its deadline/.test(e)), events.errors.join('; '))
    for (let i = 0; i < 100 && recommender.readyWorkers < 1; i++) await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(recommender.readyWorkers, 1, 'a fresh worker took its place')
  } finally {
    await recommender.close() // waits for the retired worker's exit: it must not abort the process
  }
})

test('admission refuses at once what cannot start within MAX_QUEUE_WAIT_MS from the first burst on (the warm-up measured the cost), and serves the rest', async () => {
  const { recommender, history } = await load({ MAX_QUEUE_WAIT_MS: '50', INFERENCE_TIMEOUT_MS: '10000', WORKERS: '1', MAX_BATCH_SIZE: '4' })
  try {
    const timings: Array<{ ok: boolean, ms: number, code?: string }> = []
    await Promise.all(Array.from({ length: 40 }, async () => {
      const start = Date.now()
      const r = await settle(recommender.recommend(heavy(history)))
      timings.push({ ok: r.ok, ms: Date.now() - start, code: r.ok ? undefined : (r.error as AppError).code })
    }))
    const refused = timings.filter(r => !r.ok)
    assert.ok(refused.length > 0 && refused.length < 40, `refused ${refused.length} of 40`)
    assert.ok(refused.every(r => r.code === 'overloaded' && r.ms < 20), JSON.stringify(refused.slice(0, 3)))
  } finally {
    await recommender.close()
  }
})

test('a request whose client went away leaves the queue before it is computed', async () => {
  const { recommender, events, history } = await load({ WORKERS: '1', MAX_BATCH_SIZE: '1' })
  try {
    const first = recommender.recommend(heavy(history)) // occupies the only worker
    const gone = new AbortController()
    const second = settle(recommender.recommend({ ...heavy(history), signal: gone.signal }))
    gone.abort()
    const result = await second
    assert.ok(!result.ok && result.error instanceof ClientGoneError)
    await first
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.deepEqual(events.batches, [1], 'only the first request was computed')
    assert.deepEqual(events.drops, ['client_gone'])
    assert.equal(recommender.queueDepth, 0)
  } finally {
    await recommender.close()
  }
})

test('an idle pool admits any request, however small MAX_QUEUE_WAIT_MS and however high the last estimate', async () => {
  const { recommender, history } = await load({ MAX_QUEUE_WAIT_MS: '1', WORKERS: '1' })
  try {
    await Promise.all(Array.from({ length: 30 }, async () => await settle(recommender.recommend(heavy(history))))) // most refused
    for (let i = 0; i < 200 && !recommender.idle; i++) await new Promise(resolve => setTimeout(resolve, 10))
    const result = await recommender.recommend(heavy(history))
    assert.equal(result.items.length, 100)
  } finally {
    await recommender.close()
  }
})

test('a request is answered at its deadline, queued or computing, not when its batch ends', async () => {
  const { recommender, history } = await load({ INFERENCE_TIMEOUT_MS: '100', WORKERS: '1', MAX_BATCH_SIZE: '64' }, { maxQueueWaitMs: 60_000, graceMs: 10_000 })
  try {
    const late: number[] = []
    await Promise.all(Array.from({ length: 40 }, async () => {
      const started = Date.now()
      const r = await settle(recommender.recommend(heavy(history)))
      if (!r.ok) late.push(Date.now() - started)
    }))
    assert.ok(late.length > 0)
    assert.ok(Math.max(...late) < 160, `timeouts answered after ${Math.max(...late)} ms`)
  } finally {
    await recommender.close()
  }
})
