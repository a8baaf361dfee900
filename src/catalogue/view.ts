// What a model serves at one moment: its exported catalogue, plus the items added at run time (each placed
// in the trie under a semantic ID from its content), minus the hidden ones. Built from the shared catalogue
// state (store.ts) whenever it changes, as a whole new value; searches keep the snapshot they started with.
import { Catalogue, type CatalogueItem } from '../model/catalogue.js'
import { Trie, globalMask, type GlobalMask, type TrieBuffers } from '../decoding/trie.js'
import { itemText, type Candidates, type ContentEncoder } from './content-encoder.js'
import type { AddedItem, CatalogueState } from './store.js'

/** Snapshots a worker keeps: requests queued before a few catalogue changes still find theirs. */
export const SNAPSHOTS_KEPT = 8

/** What workers decode against: the trie and codes of the catalogue, and its hidden items. */
export interface CatalogueSnapshot { id: number, trie: TrieBuffers, codes: Int32Array, hidden: GlobalMask }

/** Where an added item went in this model: its semantic ID, or why it could not be placed. */
export type Placement = { semanticId: number[] } | { reason: 'no_content_encoder' | 'no_known_words' | 'prefix_full' | 'exported_item' }

export interface CatalogueView {
  version: number
  catalogue: Catalogue // exported items first (indices 0..n-1, stable), then the placed added items
  trie: Trie
  hidden: Set<string>
  placements: Map<string, Placement> // by item id
  signature: string // the added items' ids and contents: an equal signature reuses the catalogue and trie
  snapshot: CatalogueSnapshot
}

export interface Base { catalogue: Catalogue, trie: Trie, levels: number, lastCodes: number, encoder: ContentEncoder | null }

const key = (item: AddedItem) => JSON.stringify([item.itemId, item.title, item.brand, item.categories, item.description, item.addedAt])
const contentKey = (item: AddedItem) => JSON.stringify([item.title, item.brand, item.categories, item.description])

/**
 * The encoder's prefix with its first free last code or, when its last codes are all taken, the nearest prefix
 * that differs only in the last quantised level and has one free; undefined when none has.
 */
function firstFree (candidates: Candidates, used: Map<string, Set<number>>, lastCodes: number): number[] | undefined {
  for (const code of candidates.last) {
    const prefix = [...candidates.head, code]
    const taken = used.get(prefix.join(',')) ?? new Set<number>()
    let last = 0
    while (taken.has(last)) last++
    if (last < lastCodes) return [...prefix, last]
  }
  return undefined
}

/**
 * The view of `state` for a model. `previous` lets an availability-only change reuse the catalogue and trie;
 * `prefixes` memoises the content encoder per item and content.
 */
export function buildView (base: Base, state: CatalogueState, snapshotId: number, previous: CatalogueView | null,
  prefixes: Map<string, Candidates | null>): CatalogueView {
  const added = [...state.added].sort((a, b) => a.addedAt.localeCompare(b.addedAt) || a.itemId.localeCompare(b.itemId))
  const signature = JSON.stringify(added.map(key))
  const sameItems = previous !== null && previous.signature === signature
  let catalogue: Catalogue
  let trie: Trie
  let placements: Map<string, Placement>
  if (sameItems) {
    ({ catalogue, trie, placements } = previous)
  } else {
    placements = new Map()
    const used = new Map<string, Set<number>>() // prefix -> last codes taken
    const take = (codes: ArrayLike<number>) => {
      const prefix = Array.from(codes).slice(0, base.levels - 1).join(',')
      const set = used.get(prefix) ?? new Set<number>()
      set.add(codes[base.levels - 1])
      used.set(prefix, set)
    }
    for (let i = 0; i < base.catalogue.size; i++) take(base.catalogue.codes.subarray(i * base.levels, (i + 1) * base.levels))
    const items: CatalogueItem[] = [...base.catalogue.items]
    for (const item of added) {
      let placement: Placement
      if (base.catalogue.indexOf(item.itemId) !== undefined) placement = { reason: 'exported_item' }
      else if (base.encoder === null) placement = { reason: 'no_content_encoder' }
      else {
        const k = contentKey(item)
        const candidates = prefixes.has(k) ? prefixes.get(k)! : base.encoder.candidates(itemText(item))
        prefixes.set(k, candidates)
        const semanticId = candidates === null ? undefined : firstFree(candidates, used, base.lastCodes)
        if (candidates === null) placement = { reason: 'no_known_words' }
        else if (semanticId === undefined) placement = { reason: 'prefix_full' }
        else {
          take(semanticId)
          items.push({ itemId: item.itemId, semanticId, title: item.title, brand: item.brand, categories: item.categories, source: 'added' })
          placement = { semanticId }
        }
      }
      placements.set(item.itemId, placement)
    }
    catalogue = items.length === base.catalogue.size ? base.catalogue : new Catalogue(items, base.levels)
    trie = items.length === base.catalogue.size ? base.trie : Trie.fromCodes(catalogue.codes, base.levels)
  }
  const hidden = new Set(state.hidden.filter(id => catalogue.indexOf(id) !== undefined))
  const mask = globalMask(trie, catalogue.codes, catalogue.size, [...hidden].map(id => catalogue.indexOf(id)!), state.version)
  return { version: state.version, catalogue, trie, hidden, placements, signature, snapshot: { id: snapshotId, trie: trie.b, codes: catalogue.codes, hidden: mask } }
}
