// Inference worker pool: a bounded queue in front of N worker threads, with micro-batching: a free
// worker takes every waiting request (up to maxBatchSize) as one batch.
import { Worker } from 'node:worker_threads'
import { errors } from '../errors.js'
import type { DecodeRequest, DecodeResult } from '../decoding/beam-search.js'
import type { WorkerInit } from './inference-worker.js'

export interface PoolOptions {
  size: number
  maxBatchSize: number
  maxQueue: number
  timeoutMs: number
  init: WorkerInit
  onBatch?: (size: number, inferenceMs: number) => void
  onError?: (error: Error) => void
}

interface Pending { request: DecodeRequest, resolve: (r: DecodeResult) => void, reject: (e: Error) => void, enqueued: number }
interface Slot { worker: Worker, busy: Pending[] | null, timer?: NodeJS.Timeout, ready: boolean }

export class WorkerPool {
  private readonly queue: Pending[] = []
  private readonly slots: Slot[] = []
  private closing = false
  private nextJob = 0
  private drained: (() => void) | null = null

  constructor (private readonly options: PoolOptions) {}

  async start (): Promise<void> {
    await Promise.all(Array.from({ length: this.options.size }, async () => await this.spawn()))
  }

  private async spawn (): Promise<void> {
    const worker = new Worker(new URL('./inference-worker.js', import.meta.url), { workerData: this.options.init })
    const slot: Slot = { worker, busy: null, ready: false }
    this.slots.push(slot)
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (message: { ready?: boolean, id?: number, results?: DecodeResult[], error?: string, inferenceMs?: number }) => {
        if (message.ready === true) {
          slot.ready = true
          resolve()
          this.dispatch()
          return
        }
        const batch = slot.busy
        clearTimeout(slot.timer)
        slot.busy = null
        if (batch !== null) {
          if (message.results !== undefined) {
            this.options.onBatch?.(batch.length, message.inferenceMs ?? 0)
            batch.forEach((p, i) => p.resolve(message.results![i]))
          } else {
            this.options.onError?.(new Error(message.error))
            batch.forEach(p => p.reject(errors.inferenceFailed()))
          }
        }
        this.dispatch()
      })
      worker.once('error', (error) => {
        reject(error)
        this.options.onError?.(error)
      })
      worker.once('exit', (code) => {
        if (!slot.ready) reject(new Error(`inference worker exited with code ${code} before it was ready`))
        this.replace(slot)
      })
    })
  }

  /** A worker that died or hung: fail its batch, start another in its place. */
  private replace (slot: Slot): void {
    clearTimeout(slot.timer)
    slot.busy?.forEach(p => p.reject(errors.inferenceFailed()))
    slot.busy = null
    this.slots.splice(this.slots.indexOf(slot), 1)
    if (!this.closing && slot.ready) this.spawn().catch(error => this.options.onError?.(error as Error))
    this.checkDrained()
  }

  get queueDepth (): number { return this.queue.length }
  get inFlight (): number { return this.slots.reduce((n, s) => n + (s.busy?.length ?? 0), 0) }
  get readyWorkers (): number { return this.slots.filter(s => s.ready).length }

  async infer (request: DecodeRequest): Promise<DecodeResult> {
    if (this.closing) throw errors.overloaded(1)
    if (this.queue.length >= this.options.maxQueue) throw errors.overloaded(1)
    return await new Promise<DecodeResult>((resolve, reject) => {
      this.queue.push({ request, resolve, reject, enqueued: Date.now() })
      this.dispatch()
    })
  }

  private dispatch (): void {
    const now = Date.now()
    while (this.queue.length > 0 && now - this.queue[0].enqueued > this.options.timeoutMs) this.queue.shift()!.reject(errors.timeout())
    for (const slot of this.slots) {
      if (this.queue.length === 0) break
      if (!slot.ready || slot.busy !== null) continue
      const batch = this.queue.splice(0, this.options.maxBatchSize)
      slot.busy = batch
      slot.timer = setTimeout(() => { void slot.worker.terminate() }, this.options.timeoutMs)
      slot.worker.postMessage({ id: this.nextJob++, requests: batch.map(p => p.request) })
    }
    this.checkDrained()
  }

  private checkDrained (): void {
    if (this.drained !== null && this.queue.length === 0 && this.inFlight === 0) this.drained()
  }

  /** Stops taking requests, lets queued and in-flight ones finish, then stops the workers. */
  async close (): Promise<void> {
    this.closing = true
    if (this.queue.length > 0 || this.inFlight > 0) await new Promise<void>(resolve => { this.drained = resolve })
    await Promise.all(this.slots.map(async s => await s.worker.terminate()))
  }
}
