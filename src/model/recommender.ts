// The loaded model: manifest, catalogue, trie and the inference pool, behind one `recommend` call.
import { randomInt } from 'node:crypto'
import { Catalogue } from './catalogue.js'
import { loadManifest, policyDims, tokenLayout, type Manifest, type ModelFiles } from './manifest.js'
import { userToken } from './user-hash.js'
import { WorkerPool, type PoolOptions } from './worker-pool.js'
import { Trie, globalMask } from '../decoding/trie.js'
import { errors, type AppError } from '../errors.js'
import type { Config } from '../config.js'
import type { Metrics } from '../metrics.js'

/** The inference pool's options from the configuration, reporting to the metrics and the log. */
export function poolOptions (config: Config, metrics?: Metrics, log?: { error: (fields: object, message: string) => void }, model = '') {
  return {
    size: config.workers,
    maxBatchSize: config.maxBatchSize,
    maxQueue: config.maxQueue,
    maxQueueWaitMs: config.maxQueueWaitMs,
    timeoutMs: config.inferenceTimeoutMs,
    threads: config.threadsPerWorker,
    onBatch: (size: number, ms: number) => { metrics?.batchSize.observe({ model }, size); metrics?.inferenceDuration.observe({ model }, ms / 1000) },
    onError: (error: Error) => { metrics?.inferenceErrors.inc({ model }); log?.error({ err: error, model }, 'inference error') },
    onDrop: (reason: 'overloaded' | 'timeout' | 'client_gone') => { metrics?.inferenceDropped.inc({ model, reason }) }
  }
}

export interface RecommendInput {
  userId?: string
  history: string[] // external item ids, oldest first
  k: number
  strategy?: 'beam' | 'sample' // default beam
  beamWidth: number // beam only
  temperature?: number // sample only, default 1
  seed?: number // sample only: uint32; a random one when absent (returned, so that the answer can be reproduced)
  excludeSeen: boolean
  exclude: string[]
  categories?: string[]
  signal?: AbortSignal // aborts when the client disconnects: the request leaves the queue uncomputed
}

/** score: log-probability under the policy over the trie; sampling adds the probability sampled and the propensity. */
export interface Recommendation { itemIndex: number, score: number, probability?: number, propensity?: number }

/** historyUsed: known items the model conditioned on (the most recent maxHistory of them). */
export interface RecommendOutput { items: Recommendation[], unknownItemIds: string[], unknownCategories: string[], historyUsed: number, seed?: number }

export class Recommender {
  private constructor (readonly manifest: Manifest, readonly files: ModelFiles, readonly catalogue: Catalogue, readonly trie: Trie,
    private readonly pool: WorkerPool) {}

  static async load (modelDir: string, { threads, ...pool }: Omit<PoolOptions, 'init'> & { threads: number }): Promise<Recommender> {
    const files = loadManifest(modelDir)
    const m = files.manifest
    const catalogue = Catalogue.load(files.catalogue, m.semanticIds.levels, m.catalogue.items, m.semanticIds.codebookSizes)
    const trie = Trie.fromCodes(catalogue.codes, m.semanticIds.levels)
    const workers = new WorkerPool({
      ...pool,
      init: {
        encoderFile: files.encoder,
        decoderFile: files.decoder,
        threads,
        dims: policyDims(m),
        trie: trie.b,
        codes: catalogue.codes,
        layout: tokenLayout(m),
        hidden: null
      }
    })
    await workers.start()
    const recommender = new Recommender(m, files, catalogue, trie, workers)
    // one full batch per worker: onnxruntime's first runs are slow, and admission control needs a measured cost
    await workers.warmUp({
      history: new Int32Array(), userToken: userToken(undefined, m.tokens.userOffset, m.tokens.userBuckets), strategy: 'beam',
      beamWidth: m.decoding.defaultBeamWidth, k: Math.min(10, catalogue.size), temperature: 1, seed: 0, exclude: new Int32Array(), allow: null
    })
    return recommender
  }

  private hiddenIds = new Set<string>()
  /** The version of the catalogue state (hidden items) this model applies. */
  catalogueVersion = 0

  /**
   * Hides these items (those of this catalogue; others are ignored) from every request, from the next batch
   * on, as a mask applied while decoding: a request still gets k items when k allowed ones remain.
   */
  hide (itemIds: Iterable<string>, version: number): void {
    const ids = new Set<string>()
    const indices: number[] = []
    for (const id of itemIds) {
      const index = this.catalogue.indexOf(id)
      if (index !== undefined) { ids.add(id); indices.push(index) }
    }
    this.hiddenIds = ids
    this.catalogueVersion = version
    this.pool.hide(globalMask(this.trie, this.catalogue.codes, this.catalogue.size, indices, version))
  }

  isAvailable (itemId: string): boolean { return !this.hiddenIds.has(itemId) }
  get hiddenCount (): number { return this.hiddenIds.size }

  get queueDepth (): number { return this.pool.queueDepth }

  /** The 503 a search would get now (overloaded, shutting down), or null: lets a route refuse before reading the body. */
  refusal (): AppError | null { return this.pool.refusal() }
  get readyWorkers (): number { return this.pool.readyWorkers }
  get idle (): boolean { return this.pool.idle }

  /** options.admission false: skip admission control (the service's own checks, e.g. parity before a swap). */
  async recommend (input: RecommendInput, options: { admission?: boolean } = {}): Promise<RecommendOutput> {
    const unknownItemIds: string[] = []
    const history: number[] = []
    for (const id of input.history) {
      const index = this.catalogue.indexOf(id)
      if (index === undefined) unknownItemIds.push(id); else history.push(index)
    }
    const exclude = input.exclude.map(id => this.catalogue.indexOf(id)).filter((i): i is number => i !== undefined)
    if (input.excludeSeen) exclude.push(...history)
    let allow: Int32Array | null = null
    let unknownCategories: string[] = []
    if (input.categories !== undefined && input.categories.length > 0) {
      unknownCategories = [...new Set(input.categories.filter(c => !this.catalogue.hasCategory(c)))]
      if (unknownCategories.length === new Set(input.categories).size) {
        throw errors.validation('categories', `no item of the catalogue is in the categories ${JSON.stringify(unknownCategories)}`, { unknownCategories })
      }
      allow = this.catalogue.inCategories(input.categories)
    }
    const t = this.manifest.tokens
    const sample = input.strategy === 'sample'
    const seed = sample ? input.seed ?? randomInt(2 ** 32) : 0
    const result = await this.pool.infer({
      history: Int32Array.from(history),
      userToken: userToken(input.userId, t.userOffset, t.userBuckets),
      strategy: sample ? 'sample' : 'beam',
      beamWidth: sample ? input.k : Math.max(input.beamWidth, input.k), // sampling is exact with a beam of k
      k: input.k,
      temperature: input.temperature ?? 1,
      seed,
      exclude: Int32Array.from(exclude),
      allow
    }, input.signal, options.admission ?? true)
    return {
      ...(sample && { seed }),
      items: result.items.map((itemIndex, i) => ({
        itemIndex,
        score: result.scores[i],
        ...(result.probabilities !== undefined && { probability: result.probabilities[i], propensity: result.propensities![i] })
      })),
      unknownItemIds,
      unknownCategories,
      historyUsed: Math.min(history.length, this.manifest.maxHistory)
    }
  }

  async close (): Promise<void> {
    await this.pool.close()
  }
}
