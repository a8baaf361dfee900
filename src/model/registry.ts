// The served models by name: which one answers a request (asked for by name, or split between models by a
// stable hash of the user id for A/B tests), and swapping a model without dropping a request.
//
// A swap (reload) loads the model directory again in new workers, checks its parity vectors (the
// exporter's reference answers, parity.jsonl) through them, and only then replaces the entry; requests
// already holding the old model finish on it, and its workers stop once they are drained. A model that
// fails to load or to reproduce its parity vectors is refused and the old one keeps serving.
import { readFileSync } from 'node:fs'
import { AppError } from '../errors.js'
import { manifestName } from './manifest.js'
import { fnv1a32 } from './user-hash.js'
import type { Recommender } from './recommender.js'

export interface ModelEntry { name: string, dir: string, recommender: Recommender, loadedAt: string }
export interface SplitShare { name: string, weight: number }
export type Loader = (dir: string, name: string) => Promise<Recommender>

/** What a parity check found: the largest score difference, and the first vector whose items differ. */
export interface ParityReport { requests: number, worstScoreDifference: number, mismatch?: { request: number, expected: string[], got: string[] } }

const PARITY_TOLERANCE = 1e-3 // scores are float32 log-probabilities, from batches of another size than the exporter's

interface ParityVector { userId: string | null, history: string[], excludeSeen: boolean, beamWidth: number, k: number, itemIds: string[], scores: number[] }

/** Runs a model's parity vectors through its own workers and compares with what the exporter's reference decoder answered. */
export async function checkParity (recommender: Recommender, file: string): Promise<ParityReport> {
  const vectors: ParityVector[] = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(line => JSON.parse(line))
  const expected = recommender.manifest.parity.requests
  if (vectors.length === 0 || vectors.length !== expected) throw new Error(`${file} has ${vectors.length} parity vectors; manifest.json says ${expected}`)
  const ask = async (v: ParityVector) => await recommender.recommend({
    userId: v.userId ?? undefined, history: v.history, k: v.k, beamWidth: v.beamWidth, excludeSeen: v.excludeSeen, exclude: []
  }, { admission: false })
  // int8 graphs quantise activations per call, so their answers depend on the batch: one request per batch, as
  // the exporter made the vectors; float32 answers do not, and all vectors go at once
  const results = []
  if (recommender.manifest.weights?.dtype === 'int8') for (const v of vectors) results.push(await ask(v))
  else results.push(...await Promise.all(vectors.map(ask)))
  let worst = 0
  for (const [i, result] of results.entries()) {
    const got = result.items.map(r => result.catalogue.items[r.itemIndex].itemId)
    const expected = vectors[i].itemIds
    // a swap of two items whose scores tie within the tolerance is not a difference
    const same = got.length === expected.length && got.every((id, j) => id === expected[j] ||
      Math.abs(vectors[i].scores[j] - vectors[i].scores[expected.indexOf(id)]) <= PARITY_TOLERANCE)
    if (!same) return { requests: vectors.length, worstScoreDifference: Infinity, mismatch: { request: i, expected, got } }
    result.items.forEach((r, j) => { worst = Math.max(worst, Math.abs(r.score - vectors[i].scores[j])) })
  }
  return { requests: vectors.length, worstScoreDifference: worst }
}

const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/

/**
 * MurmurHash3's finaliser: every input bit moves every output bit. FNV-1a alone, taken modulo a power of two,
 * depends only on the parity of the bytes (alice, ecila and ailce would always share an arm) and is
 * correlated with the model's own user buckets.
 */
function fmix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

export class ModelRegistry {
  private readonly entries = new Map<string, ModelEntry>()
  private readonly reloading = new Set<string>()

  private constructor (private readonly loader: Loader, private readonly split: SplitShare[], readonly defaultName: string) {}

  /**
   * Loads every configured model (name null: the manifest's name). `split`: shares of traffic by user for
   * A/B tests (empty: every request without a model goes to the default, the first model).
   */
  static async open (models: Array<{ name: string | null, dir: string }>, split: SplitShare[], loader: Loader): Promise<ModelRegistry> {
    const loaded: ModelEntry[] = []
    try {
      for (const { name, dir } of models) {
        const served = name ?? manifestName(dir) ?? 'default' // a bad manifest is refused by the loader, naming the file
        if (!MODEL_NAME.test(served)) {
          throw new AppError('model_not_found', `the model in ${dir} is named "${served}", which cannot be used in a request: serve it as MODELS=name=${dir}`)
        }
        const recommender = await loader(dir, served)
        loaded.push({ name: served, dir, recommender, loadedAt: new Date().toISOString() })
      }
    } catch (error) {
      await Promise.all(loaded.map(async e => await e.recommender.close()))
      throw error
    }
    const registry = new ModelRegistry(loader, split, loaded[0].name)
    for (const entry of loaded) registry.entries.set(entry.name, entry)
    for (const share of split) {
      if (!registry.entries.has(share.name)) throw new AppError('model_not_found', `MODEL_SPLIT names model "${share.name}", which is not configured`)
    }
    return registry
  }

  get names (): string[] { return [...this.entries.keys()] }
  get all (): ModelEntry[] { return [...this.entries.values()] }
  get shares (): SplitShare[] { return this.split }

  /** The entry of a model by name (default: the default model); 404 model_not_found when there is none. */
  get (name?: string): ModelEntry {
    const entry = this.entries.get(name ?? this.defaultName)
    if (entry === undefined) throw new AppError('model_not_found', `no model "${String(name)}"; served: ${this.names.join(', ')}`, { models: this.names })
    return entry
  }

  /** The model that answers a request: the one asked for, else the user's share of the A/B split, else the default. */
  choose (model: string | undefined, userId: string | undefined): ModelEntry {
    if (model !== undefined) return this.get(model)
    const total = this.split.reduce((n, s) => n + s.weight, 0)
    if (userId === undefined || total === 0) return this.get()
    let point = fmix32(fnv1a32(`ab:${userId}`)) % total // stable: a user always sees the same model while the split stays
    for (const share of this.split) {
      if (point < share.weight) return this.get(share.name)
      point -= share.weight
    }
    return this.get()
  }

  /** Loads the model's directory again, checks parity, swaps it in; the old model drains and stops. */
  async reload (name: string): Promise<{ entry: ModelEntry, previous: ModelEntry, parity: ParityReport }> {
    const previous = this.get(name)
    if (this.reloading.has(name)) throw new AppError('reload_in_progress', `model "${name}" is being reloaded; try again when it is done`)
    this.reloading.add(name)
    try {
      let recommender: Recommender
      try {
        recommender = await this.loader(previous.dir, name)
      } catch (error) {
        throw new AppError('model_rejected', `the model in ${previous.dir} cannot be loaded: ${(error as Error).message}`, { reason: 'load' })
      }
      const parity = await checkParity(recommender, recommender.files.parity).catch((error: Error) =>
        ({ requests: 0, worstScoreDifference: Infinity, error: error.message }))
      if (!(parity.worstScoreDifference <= PARITY_TOLERANCE)) {
        await recommender.close()
        const { worstScoreDifference, ...found } = parity
        throw new AppError('model_rejected', `the model in ${previous.dir} does not reproduce its parity vectors`,
          { reason: 'parity', parity: { ...found, ...(Number.isFinite(worstScoreDifference) && { worstScoreDifference }) } })
      }
      const entry = { name, dir: previous.dir, recommender, loadedAt: new Date().toISOString() }
      this.entries.set(name, entry)
      void previous.recommender.close() // requests holding it finish first
      return { entry, previous, parity }
    } finally {
      this.reloading.delete(name)
    }
  }

  async close (): Promise<void> {
    await Promise.all(this.all.map(async e => await e.recommender.close()))
  }
}
