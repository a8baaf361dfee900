// What every replica must agree on about the catalogue at run time, kept in the same store as the histories
// (Redis when configured, else in memory): the items hidden from recommendations, and a version that
// changes with every write, so that replicas can tell cheaply that they are behind (sync.ts).

export interface CatalogueState { version: number, hidden: string[] }

export interface CatalogueStore {
  /** The version of the catalogue state: bumped by every write. */
  catalogueVersion: () => Promise<number>
  catalogueState: () => Promise<CatalogueState>
  /** Hides (available false) or restores items, atomically; returns the new version. */
  setAvailability: (changes: Array<{ itemId: string, available: boolean }>) => Promise<number>
}
