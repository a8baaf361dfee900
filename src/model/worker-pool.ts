// Inference worker pool: admission control and a queue in front of N worker threads, with micro-batching
// (a free worker takes every waiting request, up to maxBatchSize, as one batch).
//
// Admission is bounded by the expected wait: queued beams × the measured cost of a beam (measured from a
// warm-up batch at start and then from every batch, timed-out ones included), spread over the workers,
// plus what remains of the batch now running. A request that could not start within `maxQueueWaitMs` is refused
// at once (503 overloaded) instead of queueing until it times out. A request whose client went away is
// dropped from the queue before it is computed.
//
// Deadlines: a batch carries its deadline to the worker, which stops between decoder steps once it has
// passed (never inside a native call). A worker that still has not answered a grace period later is
// retired: its requests get 503 inference_timeout, a fresh worker takes its place at once, and the old
// one is terminated only after it answers, i.e. outside onnxruntime.
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { errors, type AppError } from '../errors.js'
import type { DecodeRequest, DecodeResult } from '../decoding/beam-search.js'
import type { WorkerInit } from './inference-worker.js'
import { SNAPSHOTS_KEPT, type CatalogueSnapshot } from '../catalogue/view.js'

export interface PoolOptions {
  size: number
  maxBatchSize: number
  maxQueue: number
  /** Refuse a request whose expected wait before its batch starts is longer than this (ms). */
  maxQueueWaitMs: number
  /** A request not answered this long after admission gets 503 inference_timeout (ms). */
  timeoutMs: number
  /** How long past the deadline a worker may take to stop by itself before it is replaced (ms). */
  graceMs?: number
  init: WorkerInit
  onBatch?: (size: number, inferenceMs: number) => void
  onError?: (error: Error) => void
  onDrop?: (reason: 'overloaded' | 'timeout' | 'client_gone') => void
}

/** The request's client disconnected before its batch started: nothing was computed for it. */
export class ClientGoneError extends Error {
  constructor () {
    super('the client went away before inference started')
    this.name = 'ClientGoneError'
  }
}

interface Pending {
  request: DecodeRequest
  resolve: (r: DecodeResult) => void
  reject: (e: Error) => void
  deadline: number
  settled: boolean
  timer?: NodeJS.Timeout
  signal?: AbortSignal
  onAbort?: () => void
}
interface Slot { worker: Worker, busy: Pending[] | null, job: number, sentAt: number, expectedMs: number, timer?: NodeJS.Timeout, ready: boolean, retired: boolean }
interface WorkerMessage { ready?: boolean, id?: number, results?: DecodeResult[], error?: string, timedOut?: boolean, inferenceMs?: number }

const EWMA = 0.2

export class WorkerPool {
  private readonly queue: Pending[] = []
  private queuedBeams = 0
  private readonly slots: Slot[] = []
  private readonly retired = new Set<Promise<number>>() // exits of retired workers, awaited by close()
  private closing = false
  private nextJob = 0
  private drained: (() => void) | null = null
  private msPerBeam: number | null = null // measured: batch time / beams in the batch

  constructor (private readonly options: PoolOptions) {}

  async start (): Promise<void> {
    await Promise.all(Array.from({ length: this.options.size }, async () => await this.spawn()))
  }

  private async spawn (): Promise<void> {
    const worker = new Worker(new URL('./inference-worker.js', import.meta.url), { workerData: this.options.init })
    const slot: Slot = { worker, busy: null, job: -1, sentAt: 0, expectedMs: 0, ready: false, retired: false }
    this.slots.push(slot)
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (message: WorkerMessage) => {
        if (message.ready === true) {
          slot.ready = true
          resolve()
          this.dispatch()
          return
        }
        if (slot.retired) { void worker.terminate(); return } // it answered: it is outside onnxruntime now
        this.finish(slot, message)
      })
      worker.once('error', (error) => {
        reject(error)
        this.options.onError?.(error)
      })
      worker.once('exit', (code) => {
        if (!slot.ready) reject(new Error(`inference worker exited with code ${code} before it was ready`))
        if (!slot.retired) this.replace(slot)
      })
    })
  }

  /** Answers a request once: later answers (a batch finishing after the request's deadline) are ignored. */
  private settle (p: Pending, answer: () => void): void {
    if (p.settled) return
    p.settled = true
    clearTimeout(p.timer)
    if (p.onAbort !== undefined) p.signal!.removeEventListener('abort', p.onAbort)
    answer()
  }

  private timeout (p: Pending): void {
    this.settle(p, () => { this.options.onDrop?.('timeout'); p.reject(errors.timeout()) })
  }

  /** Feeds the admission estimate with a batch's wall time seen from here (CPU contention and a busy event loop included). */
  private measure (batch: Pending[], wall: number): void {
    const beams = batch.reduce((n, p) => n + p.request.beamWidth, 0)
    this.msPerBeam = this.msPerBeam === null ? wall / beams : (1 - EWMA) * this.msPerBeam + EWMA * wall / beams
  }

  private finish (slot: Slot, message: WorkerMessage): void {
    const batch = slot.busy
    clearTimeout(slot.timer)
    slot.busy = null
    if (batch !== null && message.id === slot.job) {
      const wall = performance.now() - slot.sentAt
      if (message.results !== undefined) {
        this.measure(batch, wall)
        this.options.onBatch?.(batch.length, message.inferenceMs ?? wall)
        batch.forEach((p, i) => this.settle(p, () => p.resolve(message.results![i])))
      } else if (message.timedOut === true) {
        this.measure(batch, wall) // a lower bound of what the batch would have cost: it still corrects the estimate upwards
        batch.forEach(p => this.timeout(p))
      } else {
        this.options.onError?.(new Error(message.error))
        batch.forEach(p => this.settle(p, () => p.reject(errors.inferenceFailed())))
      }
    }
    this.dispatch()
  }

  /** A worker that died: fail its batch, start another in its place. */
  private replace (slot: Slot): void {
    clearTimeout(slot.timer)
    slot.busy?.forEach(p => this.settle(p, () => p.reject(errors.inferenceFailed())))
    slot.busy = null
    this.remove(slot)
    if (!this.closing && slot.ready) this.spawn().catch(error => this.options.onError?.(error as Error))
    this.checkDrained()
  }

  /** A worker past its deadline and grace: answer its requests now, replace it, terminate it once it answers. */
  private retire (slot: Slot): void {
    slot.retired = true
    const exit = new Promise<number>(resolve => slot.worker.once('exit', resolve))
    this.retired.add(exit)
    void exit.then(() => this.retired.delete(exit))
    if (slot.busy !== null) this.measure(slot.busy, performance.now() - slot.sentAt)
    slot.busy?.forEach(p => this.timeout(p))
    slot.busy = null
    this.remove(slot)
    this.options.onError?.(new Error('inference worker missed its deadline; replaced'))
    if (!this.closing) this.spawn().catch(error => this.options.onError?.(error as Error))
    this.checkDrained()
  }

  private remove (slot: Slot): void {
    const at = this.slots.indexOf(slot)
    if (at >= 0) this.slots.splice(at, 1)
  }

  get queueDepth (): number { return this.queue.length }
  get inFlight (): number { return this.slots.reduce((n, s) => n + (s.busy?.length ?? 0), 0) }
  get readyWorkers (): number { return this.slots.filter(s => s.ready).length }
  /** Every worker up and none busy. */
  get idle (): boolean { return this.queue.length === 0 && this.slots.length === this.options.size && this.slots.every(s => s.ready && s.busy === null) }

  /**
   * Expected time (ms) before a request admitted now would start: the beams queued ahead of it at the
   * measured cost of a beam, spread over the workers, plus what remains of the earliest batch to finish
   * when every worker is busy. 0 on an idle pool, whatever the estimate.
   */
  expectedWaitMs (): number {
    const perBeam = this.msPerBeam ?? 0
    const ready = this.slots.filter(s => s.ready)
    if (ready.length === 0) return Infinity
    const now = performance.now()
    const running = ready.every(s => s.busy !== null) ? Math.min(...ready.map(s => Math.max(0, s.expectedMs - (now - s.sentAt)))) : 0
    return this.queuedBeams * perBeam / ready.length + running
  }

  /** The 503 a request would get now (overloaded, shutting down), or null when it would be admitted. Cheap: callers may ask before reading a body. */
  refusal (): AppError | null {
    if (this.closing) return errors.shuttingDown()
    const wait = this.expectedWaitMs()
    if (this.queue.length < this.options.maxQueue && wait <= this.options.maxQueueWaitMs) return null
    this.options.onDrop?.('overloaded')
    return errors.overloaded(Math.max(1, wait / 1000))
  }

  /**
   * Queues one search. Rejects at once with 503 overloaded when it cannot start within maxQueueWaitMs,
   * with 503 inference_timeout when it is not answered within timeoutMs (queued or computing), and with
   * ClientGoneError when `signal` aborts before its batch starts.
   */
  async infer (request: DecodeRequest, signal?: AbortSignal, admission = true): Promise<DecodeResult> {
    if (signal?.aborted === true) throw new ClientGoneError()
    const refused = admission ? this.refusal() : this.closing ? errors.shuttingDown() : null
    if (refused !== null) throw refused
    return await new Promise<DecodeResult>((resolve, reject) => {
      const pending: Pending = { request, resolve, reject, deadline: Date.now() + this.options.timeoutMs, settled: false, signal }
      pending.timer = setTimeout(() => {
        this.unqueue(pending)
        this.timeout(pending)
      }, this.options.timeoutMs)
      if (signal !== undefined) {
        pending.onAbort = () => {
          if (!this.unqueue(pending)) return // already computing: let it finish
          this.settle(pending, () => { this.options.onDrop?.('client_gone'); reject(new ClientGoneError()) })
        }
        signal.addEventListener('abort', pending.onAbort, { once: true })
      }
      this.queue.push(pending)
      this.queuedBeams += request.beamWidth
      this.dispatch()
    })
  }

  /** Takes a request out of the queue; false when it is not queued (computing or answered). */
  private unqueue (p: Pending): boolean {
    const at = this.queue.indexOf(p)
    if (at < 0) return false
    this.queue.splice(at, 1)
    this.queuedBeams -= p.request.beamWidth
    this.checkDrained()
    return true
  }

  /** Sends every worker (and every worker started later) a new catalogue snapshot; the next batches use it. */
  publish (snapshot: CatalogueSnapshot): void {
    this.options.init.snapshots = [...this.options.init.snapshots, snapshot].slice(-SNAPSHOTS_KEPT)
    for (const slot of this.slots) slot.worker.postMessage({ snapshot })
  }

  /** Runs one full batch of `request` on every worker, so that the admission estimate starts from a measurement. */
  async warmUp (request: DecodeRequest): Promise<void> {
    const batches = Math.max(1, this.readyWorkers) * this.options.maxBatchSize
    await Promise.all(Array.from({ length: batches }, async () => await this.infer(request).catch(() => undefined)))
  }

  /** Up to `count` requests from the head of the queue, all of the head's catalogue snapshot. */
  private take (count: number): Pending[] {
    const snapshot = this.queue[0]?.request.snapshot
    let n = 0
    while (n < count && n < this.queue.length && this.queue[n].request.snapshot === snapshot) n++
    const batch = this.queue.splice(0, n)
    for (const p of batch) {
      this.queuedBeams -= p.request.beamWidth
      if (p.onAbort !== undefined) p.signal!.removeEventListener('abort', p.onAbort) // computing: a disconnect no longer saves anything
    }
    return batch
  }

  private dispatch (): void {
    const now = Date.now()
    for (const slot of this.slots) {
      if (this.queue.length === 0) break
      if (!slot.ready || slot.busy !== null) continue
      const batch = this.take(this.options.maxBatchSize)
      const deadline = Math.max(...batch.map(p => p.deadline))
      slot.busy = batch
      slot.job = this.nextJob++
      slot.sentAt = performance.now()
      slot.expectedMs = batch.reduce((n, p) => n + p.request.beamWidth, 0) * (this.msPerBeam ?? 0)
      slot.timer = setTimeout(() => this.retire(slot), Math.max(0, deadline - now) + (this.options.graceMs ?? 1000))
      slot.worker.postMessage({ id: slot.job, requests: batch.map(p => p.request), deadline })
    }
    this.checkDrained()
  }

  private checkDrained (): void {
    if (this.drained !== null && this.queue.length === 0 && this.inFlight === 0) this.drained()
  }

  /** Stops taking requests, lets queued and in-flight ones finish, then stops the (idle) workers. */
  async close (): Promise<void> {
    this.closing = true
    if (this.queue.length > 0 || this.inFlight > 0) await new Promise<void>(resolve => { this.drained = resolve })
    await Promise.all([...this.slots.map(async s => await s.worker.terminate()), ...this.retired])
  }
}
