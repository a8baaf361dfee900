// The embedded default store (no REDIS_URL): a process-local map with the same semantics as Redis,
// bounded in users (least recently written evicted first) and expiring histories lazily.
import { EVENT_IDS_PER_USER, type AppendResult, type HistoryEvent, type HistoryStore, type StoreLimits } from './store.js'
import type { AddedItem, CatalogueState, CatalogueStore } from '../catalogue/store.js'

interface Entry { events: HistoryEvent[], eventIds: string[], expiresAt: number }

export class MemoryHistoryStore implements HistoryStore, CatalogueStore {
  readonly kind = 'memory'
  private readonly users = new Map<string, Entry>()
  private readonly hidden = new Set<string>()
  private readonly added = new Map<string, AddedItem>()
  private version = 0

  constructor (private readonly limits: StoreLimits, private readonly maxUsers: number, private readonly now = () => Date.now()) {}

  private live (userId: string): Entry | undefined {
    const entry = this.users.get(userId)
    if (entry !== undefined && entry.expiresAt <= this.now()) {
      this.users.delete(userId)
      return undefined
    }
    return entry
  }

  private write (userId: string, entry: Entry): void {
    entry.events = entry.events.slice(-this.limits.maxEvents)
    entry.eventIds = entry.eventIds.slice(-EVENT_IDS_PER_USER)
    entry.expiresAt = this.now() + this.limits.ttlSeconds * 1000
    this.users.delete(userId) // re-insert: Map order is the eviction order
    this.users.set(userId, entry)
    while (this.users.size > this.maxUsers) this.users.delete(this.users.keys().next().value!)
  }

  async get (userId: string): Promise<HistoryEvent[]> {
    return (this.live(userId)?.events ?? []).map(e => ({ ...e }))
  }

  async append (userId: string, events: HistoryEvent[]): Promise<AppendResult> {
    return this.add(userId, this.live(userId) ?? { events: [], eventIds: [], expiresAt: 0 }, events)
  }

  async replace (userId: string, events: HistoryEvent[]): Promise<number> {
    this.users.delete(userId)
    return events.length === 0 ? 0 : this.add(userId, { events: [], eventIds: [], expiresAt: 0 }, events).length
  }

  /** Appends to an entry, skipping events whose eventId it already has (also within `events`). */
  private add (userId: string, entry: Entry, events: HistoryEvent[]): AppendResult {
    let accepted = 0
    for (const event of events) {
      if (event.eventId !== undefined) {
        if (entry.eventIds.includes(event.eventId)) continue
        entry.eventIds.push(event.eventId)
      }
      entry.events.push({ ...event })
      accepted++
    }
    if (entry.events.length > 0) this.write(userId, entry)
    return { accepted, duplicates: events.length - accepted, length: Math.min(entry.events.length, this.limits.maxEvents) }
  }

  async delete (userId: string): Promise<boolean> {
    return this.live(userId) !== undefined && this.users.delete(userId)
  }

  async * scan (): AsyncGenerator<{ userId: string, events: HistoryEvent[] }> {
    for (const userId of [...this.users.keys()]) {
      const events = await this.get(userId)
      if (events.length > 0) yield { userId, events }
    }
  }

  async catalogueVersion (): Promise<number> { return this.version }

  async catalogueState (): Promise<CatalogueState> {
    return { version: this.version, hidden: [...this.hidden], added: [...this.added.values()].map(item => ({ ...item, categories: [...item.categories] })) }
  }

  async putItem (item: AddedItem): Promise<number> {
    this.added.set(item.itemId, { ...item, categories: [...item.categories] })
    return ++this.version
  }

  async deleteItem (itemId: string): Promise<number | null> {
    if (!this.added.delete(itemId)) return null
    this.hidden.delete(itemId)
    return ++this.version
  }

  async setAvailability (changes: Array<{ itemId: string, available: boolean }>): Promise<number> {
    for (const { itemId, available } of changes) {
      if (available) this.hidden.delete(itemId); else this.hidden.add(itemId)
    }
    return ++this.version
  }

  async ping (): Promise<void> {}
  async close (): Promise<void> { this.users.clear() }
}
