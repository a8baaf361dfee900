// What every replica must agree on about the catalogue at run time, kept in the same store as the histories
// (Redis when configured, else in memory): the items hidden from recommendations, the items added with
// their content, and a version that changes with every write, so that replicas can tell cheaply that they
// are behind (sync.ts).

/** An item added at run time: its content (the semantic ID is computed from it by each model). */
export interface AddedItem { itemId: string, title: string | null, brand: string | null, categories: string[], description: string | null, addedAt: string }

export interface CatalogueState { version: number, hidden: string[], added: AddedItem[] }

export interface CatalogueStore {
  /** The version of the catalogue state: bumped by every write. */
  catalogueVersion: () => Promise<number>
  catalogueState: () => Promise<CatalogueState>
  /** Hides (available false) or restores items, atomically; returns the new version. */
  setAvailability: (changes: Array<{ itemId: string, available: boolean }>) => Promise<number>
  /** Adds or replaces an item's content; returns the new version. */
  putItem: (item: AddedItem) => Promise<number>
  /** Forgets an added item (and its hidden flag); the new version, or null when there was no such item. */
  deleteItem: (itemId: string) => Promise<number | null>
}
