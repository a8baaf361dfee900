// The loaded model: manifest, catalogue, trie and the inference pool, behind one `recommend` call.
import { randomInt } from 'node:crypto'
import { Catalogue } from './catalogue.js'
import { loadManifest, policyDims, tokenLayout, type Manifest, type ModelFiles } from './manifest.js'
import { userToken } from './user-hash.js'
import { WorkerPool, type PoolOptions } from './worker-pool.js'
import { Trie } from '../decoding/trie.js'
import { ContentEncoder, type Candidates } from '../catalogue/content-encoder.js'
import type { AddedItem, CatalogueState } from '../catalogue/store.js'
import { buildView, type Base, type CatalogueView, type Placement } from '../catalogue/view.js'
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
/** catalogue: the catalogue the item indices refer to (the view the request was answered from). */
export interface RecommendOutput { items: Recommendation[], unknownItemIds: string[], unknownCategories: string[], historyUsed: number, seed?: number, catalogue: Catalogue }

export class Recommender {
  private snapshots = 0
  private readonly prefixes = new Map<string, Candidates | null>() // the content encoder's answers, by content
  /** What the model serves now: the exported catalogue plus the added items, minus the hidden ones. */
  view: CatalogueView

  private constructor (readonly manifest: Manifest, readonly files: ModelFiles, readonly exported: Catalogue, private readonly base: Base,
    private readonly pool: WorkerPool, view: CatalogueView) {
    this.view = view
  }

  static async load (modelDir: string, { threads, ...pool }: Omit<PoolOptions, 'init'> & { threads: number }): Promise<Recommender> {
    const files = loadManifest(modelDir)
    const m = files.manifest
    const catalogue = Catalogue.load(files.catalogue, m.semanticIds.levels, m.catalogue.items, m.semanticIds.codebookSizes)
    const base: Base = {
      catalogue,
      trie: Trie.fromCodes(catalogue.codes, m.semanticIds.levels),
      levels: m.semanticIds.levels,
      lastCodes: m.semanticIds.codebookSizes[m.semanticIds.levels - 1],
      encoder: files.tokenizer === undefined ? null : ContentEncoder.load(files.tokenizer.json, files.tokenizer.arrays)
    }
    const view = buildView(base, { version: 0, hidden: [], added: [] }, 0, null, new Map())
    const workers = new WorkerPool({
      ...pool,
      init: { encoderFile: files.encoder, decoderFile: files.decoder, threads, dims: policyDims(m), layout: tokenLayout(m), snapshots: [view.snapshot] }
    })
    await workers.start()
    const recommender = new Recommender(m, files, catalogue, base, workers, view)
    // one full batch per worker: onnxruntime's first runs are slow, and admission control needs a measured cost
    await workers.warmUp({
      history: new Int32Array(), userToken: userToken(undefined, m.tokens.userOffset, m.tokens.userBuckets), strategy: 'beam',
      beamWidth: m.decoding.defaultBeamWidth, k: Math.min(10, catalogue.size), temperature: 1, seed: 0, exclude: new Int32Array(), allow: null, snapshot: 0
    })
    return recommender
  }

  /** The catalogue served now (exported and added items). */
  get catalogue (): Catalogue { return this.view.catalogue }
  get catalogueVersion (): number { return this.view.version }
  get hasContentEncoder (): boolean { return this.base.encoder !== null }

  /**
   * Applies the shared catalogue state: added items placed under semantic IDs from their content (the trie
   * rebuilt when they change), hidden items masked while decoding. Searches already running keep the
   * snapshot they started with; the next batches use the new one.
   */
  apply (state: CatalogueState): void {
    this.view = buildView(this.base, state, ++this.snapshots, this.view, this.prefixes)
    this.pool.publish(this.view.snapshot)
  }

  /** Where a new item with this content would go now (its semantic ID), without adding it. */
  place (item: AddedItem, state: CatalogueState): Placement {
    const trial = buildView(this.base, { ...state, added: [...state.added.filter(a => a.itemId !== item.itemId), item] }, -1, null, this.prefixes)
    return trial.placements.get(item.itemId)!
  }

  isAvailable (itemId: string): boolean { return !this.view.hidden.has(itemId) }
  get hiddenCount (): number { return this.view.hidden.size }

  get queueDepth (): number { return this.pool.queueDepth }

  /** The 503 a search would get now (overloaded, shutting down), or null: lets a route refuse before reading the body. */
  refusal (): AppError | null { return this.pool.refusal() }
  get readyWorkers (): number { return this.pool.readyWorkers }
  get idle (): boolean { return this.pool.idle }

  /** options.admission false: skip admission control (the service's own checks, e.g. parity before a swap). */
  async recommend (input: RecommendInput, options: { admission?: boolean } = {}): Promise<RecommendOutput> {
    const { catalogue, snapshot } = this.view // one view for the whole request: indices, trie and mask agree
    const unknownItemIds: string[] = []
    const history: number[] = []
    for (const id of input.history) {
      const index = catalogue.indexOf(id)
      if (index === undefined) unknownItemIds.push(id); else history.push(index)
    }
    const exclude = input.exclude.map(id => catalogue.indexOf(id)).filter((i): i is number => i !== undefined)
    if (input.excludeSeen) exclude.push(...history)
    let allow: Int32Array | null = null
    let unknownCategories: string[] = []
    if (input.categories !== undefined && input.categories.length > 0) {
      unknownCategories = [...new Set(input.categories.filter(c => !catalogue.hasCategory(c)))]
      if (unknownCategories.length === new Set(input.categories).size) {
        throw errors.validation('categories', `no item of the catalogue is in the categories ${JSON.stringify(unknownCategories)}`, { unknownCategories })
      }
      allow = catalogue.inCategories(input.categories)
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
      allow,
      snapshot: snapshot.id
    }, input.signal, options.admission ?? true)
    return {
      ...(sample && { seed }),
      catalogue,
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
