// The loaded model: manifest, catalogue, trie and the inference pool, behind one `recommend` call.
import { Catalogue } from './catalogue.js'
import { loadManifest, policyDims, tokenLayout, type Manifest } from './manifest.js'
import { userToken } from './user-hash.js'
import { WorkerPool, type PoolOptions } from './worker-pool.js'
import { Trie } from '../decoding/trie.js'
import { errors } from '../errors.js'

export interface RecommendInput {
  userId?: string
  history: string[] // external item ids, oldest first
  k: number
  beamWidth: number
  excludeSeen: boolean
  exclude: string[]
  categories?: string[]
}

export interface Recommendation { itemIndex: number, score: number }

export interface RecommendOutput { items: Recommendation[], unknownItemIds: string[] }

export class Recommender {
  private constructor (readonly manifest: Manifest, readonly catalogue: Catalogue, readonly trie: Trie, private readonly pool: WorkerPool) {}

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
        layout: tokenLayout(m)
      }
    })
    await workers.start()
    return new Recommender(m, catalogue, trie, workers)
  }

  get queueDepth (): number { return this.pool.queueDepth }
  get readyWorkers (): number { return this.pool.readyWorkers }

  async recommend (input: RecommendInput): Promise<RecommendOutput> {
    const unknownItemIds: string[] = []
    const history: number[] = []
    for (const id of input.history) {
      const index = this.catalogue.indexOf(id)
      if (index === undefined) unknownItemIds.push(id); else history.push(index)
    }
    const exclude = input.exclude.map(id => this.catalogue.indexOf(id)).filter((i): i is number => i !== undefined)
    if (input.excludeSeen) exclude.push(...history)
    let allow: Int32Array | null = null
    if (input.categories !== undefined && input.categories.length > 0) {
      const unknown = input.categories.filter(c => !this.catalogue.hasCategory(c))
      if (unknown.length === input.categories.length) {
        throw errors.validation('categories', `no item of the catalogue is in the categories ${JSON.stringify(unknown)}`)
      }
      allow = this.catalogue.inCategories(input.categories)
    }
    const t = this.manifest.tokens
    const result = await this.pool.infer({
      history: Int32Array.from(history),
      userToken: userToken(input.userId, t.userOffset, t.userBuckets),
      beamWidth: Math.max(input.beamWidth, input.k),
      k: input.k,
      exclude: Int32Array.from(exclude),
      allow
    })
    return { items: result.items.map((itemIndex, i) => ({ itemIndex, score: result.scores[i] })), unknownItemIds }
  }

  async close (): Promise<void> {
    await this.pool.close()
  }
}
