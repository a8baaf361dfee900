// Keeps every served model in step with the shared catalogue state (catalogue/store.ts): a change made
// through any replica reaches the others within one poll (CATALOGUE_POLL_MS, default 500 ms), by comparing a
// version number, which costs one GET per poll. A replica applies its own changes at once.
import type { FastifyBaseLogger } from 'fastify'
import type { Metrics } from '../metrics.js'
import type { ModelRegistry } from '../model/registry.js'
import type { Recommender } from '../model/recommender.js'
import type { CatalogueState, CatalogueStore } from './store.js'

export class CatalogueSync {
  private state: CatalogueState = { version: 0, hidden: [], added: [] }
  private timer: NodeJS.Timeout | undefined
  private polling = false
  registry: ModelRegistry | null = null

  constructor (private readonly store: CatalogueStore, private readonly metrics: Metrics, private readonly log?: FastifyBaseLogger) {}

  get version (): number { return this.state.version }
  /** The last state read (refresh() first for the store's latest). */
  get current (): CatalogueState { return this.state }

  /** Applies the current state to a model (one just loaded, before it serves). */
  applyTo (recommender: Recommender): void {
    recommender.apply(this.state)
  }

  /** Reads the whole state and applies it to every model; the store's errors are the caller's. */
  async refresh (): Promise<void> {
    this.state = await this.store.catalogueState()
    for (const { name, recommender } of this.registry?.all ?? []) {
      this.applyTo(recommender)
      const { catalogue, hidden } = recommender.view
      this.metrics.catalogueItems.set({ model: name, state: 'unavailable' }, hidden.size)
      this.metrics.catalogueItems.set({ model: name, state: 'available' }, catalogue.size - hidden.size)
      this.metrics.catalogueItems.set({ model: name, state: 'added' }, catalogue.size - recommender.exported.size)
    }
    this.metrics.catalogueVersion.set(this.state.version)
  }

  /** Polls the version; a change (by another replica) triggers a refresh. Redis being away is logged, not fatal. */
  start (intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.polling) return
      this.polling = true
      this.store.catalogueVersion()
        .then(async version => { if (version !== this.state.version) await this.refresh() })
        .catch((error: Error) => this.log?.debug({ err: { message: error.message } }, 'catalogue poll failed'))
        .finally(() => { this.polling = false })
    }, intervalMs)
    this.timer.unref()
  }

  stop (): void { clearInterval(this.timer) }
}
