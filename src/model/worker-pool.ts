// Inference worker pool: admission control and a queue in front of N worker threads, with micro-batching
// (a free worker takes every waiting request, up to maxBatchSize, as one batch).
//
// Admission is bounded by the expected wait: queued beams × the measured cost of a beam, spread over the
// workers, plus the batch now running. A request that could not start within `maxQueueWaitMs` is refused
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
  signal?: AbortSignal
  onAbort?: () => void
}
interface Slot { worker: Worker, busy: Pending[] | null, job: number, sentAt: number, timer?: NodeJS.Timeout, ready: boolean, retired: boolean }
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
  private batchMs: number | null = null

  constructor (private readonly options: PoolOptions) {}

  async start (): Promise<void> {
    await Promise.all(Array.from({ length: this.options.size }, async () => await this.spawn()))
  }

  private async spawn (): Promise<void> {
    const worker = new Worker(new URL('./inference-worker.js', import.meta.url), { workerData: this.options.init })
    const slot: Slot = { worker, busy: null, job: -1, sentAt: 0, ready: false, retired: false }
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

  private finish (slot: Slot, message: WorkerMessage): void {
    const batch = slot.busy
    clearTimeout(slot.timer)
    slot.busy = null
    if (batch !== null && message.id === slot.job) {
      if (message.results !== undefined) {
        // the estimate uses the wall time seen from here (a busy event loop or CPU contention included),
        // the metrics the worker's own inference time
        const wall = performance.now() - slot.sentAt
        const beams = batch.reduce((n, p) => n + p.request.beamWidth, 0)
        this.msPerBeam = this.msPerBeam === null ? wall / beams : (1 - EWMA) * this.msPerBeam + EWMA * wall / beams
        this.batchMs = this.batchMs === null ? wall : (1 - EWMA) * this.batchMs + EWMA * wall
        this.options.onBatch?.(batch.length, message.inferenceMs ?? wall)
        batch.forEach((p, i) => p.resolve(message.results![i]))
      } else if (message.timedOut === true) {
        batch.forEach(p => { this.options.onDrop?.('timeout'); p.reject(errors.timeout()) })
      } else {
        this.options.onError?.(new Error(message.error))
        batch.forEach(p => p.reject(errors.inferenceFailed()))
      }
    }
    this.dispatch()
  }

  /** A worker that died: fail its batch, start another in its place. */
  private replace (slot: Slot): void {
    clearTimeout(slot.timer)
    slot.busy?.forEach(p => p.reject(errors.inferenceFailed()))
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
    slot.busy?.forEach(p => { this.options.onDrop?.('timeout'); p.reject(errors.timeout()) })
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

  /** Expected time (ms) before a request admitted now would start, from the measured cost per beam. */
  expectedWaitMs (beams = 0): number {
    if (this.msPerBeam === null || this.batchMs === null) return 0
    const workers = Math.max(1, this.readyWorkers)
    const allBusy = this.slots.every(s => !s.ready || s.busy !== null)
    return (this.queuedBeams + beams) * this.msPerBeam / workers + (allBusy ? this.batchMs : 0)
  }

  /**
   * Queues one search. Rejects at once with 503 overloaded when it cannot start within maxQueueWaitMs,
   * with 503 inference_timeout when it is not answered within timeoutMs, and with ClientGoneError when
   * `signal` aborts before its batch starts.
   */
  /** The 503 a request of `beams` beams would get now, or null when it would be admitted. Cheap: callers may ask before reading a body. */
  refusal (beams: number): AppError | null {
    if (this.closing) return errors.shuttingDown()
    const wait = this.expectedWaitMs(beams)
    if (this.queue.length < this.options.maxQueue && wait <= this.options.maxQueueWaitMs) return null
    this.options.onDrop?.('overloaded')
    return errors.overloaded(Math.max(1, wait / 1000))
  }

  async infer (request: DecodeRequest, signal?: AbortSignal): Promise<DecodeResult> {
    if (signal?.aborted === true) throw new ClientGoneError()
    const refused = this.refusal(request.beamWidth)
    if (refused !== null) throw refused
    return await new Promise<DecodeResult>((resolve, reject) => {
      const pending: Pending = { request, resolve, reject, deadline: Date.now() + this.options.timeoutMs, signal }
      if (signal !== undefined) {
        pending.onAbort = () => {
          const at = this.queue.indexOf(pending)
          if (at < 0) return // already computing: let it finish
          this.queue.splice(at, 1)
          this.queuedBeams -= request.beamWidth
          this.options.onDrop?.('client_gone')
          reject(new ClientGoneError())
          this.checkDrained()
        }
        signal.addEventListener('abort', pending.onAbort, { once: true })
      }
      this.queue.push(pending)
      this.queuedBeams += request.beamWidth
      this.dispatch()
    })
  }

  private take (count: number): Pending[] {
    const batch = this.queue.splice(0, count)
    for (const p of batch) {
      this.queuedBeams -= p.request.beamWidth
      if (p.onAbort !== undefined) p.signal!.removeEventListener('abort', p.onAbort)
    }
    return batch
  }

  private dispatch (): void {
    const now = Date.now()
    while (this.queue.length > 0 && this.queue[0].deadline <= now) {
      this.options.onDrop?.('timeout')
      this.take(1)[0].reject(errors.timeout())
    }
    for (const slot of this.slots) {
      if (this.queue.length === 0) break
      if (!slot.ready || slot.busy !== null) continue
      const batch = this.take(this.options.maxBatchSize)
      const deadline = Math.max(...batch.map(p => p.deadline))
      slot.busy = batch
      slot.job = this.nextJob++
      slot.sentAt = performance.now()
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
