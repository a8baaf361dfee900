// The item catalogue (items.jsonl): external id <-> model index, semantic IDs, display fields.
import { readFileSync } from 'node:fs'
import { ModelLoadError } from '../errors.js'

export interface CatalogueItem {
  itemId: string
  semanticId: number[]
  title: string | null
  brand: string | null
  categories: string[]
  source?: 'export' | 'added' // absent: export
}

export class Catalogue {
  readonly items: CatalogueItem[]
  readonly codes: Int32Array // [items * levels], row-major
  private readonly indexById = new Map<string, number>()
  private readonly itemsByCategory = new Map<string, number[]>()
  private readonly searchText: string[]

  constructor (items: CatalogueItem[], readonly levels: number) {
    this.items = items
    this.codes = new Int32Array(new SharedArrayBuffer(items.length * levels * 4))
    items.forEach((item, index) => {
      this.indexById.set(item.itemId, index)
      this.codes.set(item.semanticId, index * levels)
      for (const category of new Set(item.categories)) {
        const list = this.itemsByCategory.get(category) ?? []
        list.push(index)
        this.itemsByCategory.set(category, list)
      }
    })
    this.searchText = items.map(i => [i.itemId, i.title, i.brand, ...i.categories].filter(Boolean).join(' ').toLowerCase())
  }

  static load (file: string, levels: number, expectedItems: number, codebookSizes: number[]): Catalogue {
    const lines = readFileSync(file, 'utf8').split('\n').filter(l => l.length > 0)
    const items = lines.map((line, i) => {
      let item: CatalogueItem
      try {
        item = JSON.parse(line)
      } catch {
        throw new ModelLoadError(file, `line ${i + 1} is not valid JSON`)
      }
      const sid = item.semanticId
      if (typeof item.itemId !== 'string' || !Array.isArray(sid) || sid.length !== levels ||
          sid.some((c, l) => !Number.isInteger(c) || c < 0 || c >= codebookSizes[l])) {
        throw new ModelLoadError(file, `line ${i + 1}: expected itemId and a semanticId of ${levels} codes within the codebooks`)
      }
      return { itemId: item.itemId, semanticId: sid, title: item.title ?? null, brand: item.brand ?? null, categories: item.categories ?? [] }
    })
    if (items.length !== expectedItems) throw new ModelLoadError(file, `has ${items.length} items, manifest.json says ${expectedItems}`)
    const catalogue = new Catalogue(items, levels)
    if (catalogue.indexById.size !== items.length) throw new ModelLoadError(file, 'item ids are not unique')
    const bySemanticId = new Map<string, string>()
    for (const item of items) {
      const key = item.semanticId.join(',')
      const other = bySemanticId.get(key)
      if (other !== undefined) throw new ModelLoadError(file, `items "${other}" and "${item.itemId}" share the semantic ID [${key}]; every item needs its own`)
      bySemanticId.set(key, item.itemId)
    }
    return catalogue
  }

  get size (): number { return this.items.length }

  indexOf (itemId: string): number | undefined { return this.indexById.get(itemId) }

  get (itemId: string): CatalogueItem | undefined {
    const index = this.indexById.get(itemId)
    return index === undefined ? undefined : this.items[index]
  }

  hasCategory (category: string): boolean { return this.itemsByCategory.has(category) }

  /** Item indices in any of the categories (sorted, unique). */
  inCategories (categories: string[]): Int32Array {
    const set = new Set<number>()
    for (const c of categories) for (const i of this.itemsByCategory.get(c) ?? []) set.add(i)
    return Int32Array.from([...set].sort((a, b) => a - b))
  }

  /** Case-insensitive search: every word of the query must occur in the id, title, brand or categories. */
  search (query: string, limit: number, keep: (item: CatalogueItem) => boolean = () => true): CatalogueItem[] {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean)
    const out: CatalogueItem[] = []
    for (let i = 0; i < this.items.length && out.length < limit; i++) {
      if (keep(this.items[i]) && words.every(w => this.searchText[i].includes(w))) out.push(this.items[i])
    }
    return out
  }
}
