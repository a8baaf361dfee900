// A new item's semantic ID from its content, the way the tokenizer made the catalogue's
// (training/gflowgr/tokenizer.py, ContentEncoder, whose test vectors this must reproduce):
//   text (title, brand, categories, description) -> TF-IDF (lowercase, tokens of \w, sublinear tf, idf,
//   l2) -> the SVD projection -> l2; the collaborative half, which a new item does not have, is the mean of
//   the collaborative embeddings of the 10 catalogue items nearest by text -> l2; the two halves weighted
//   and joined; then residual quantisation: the nearest centre of each level, subtracted before the next.
// The last code of the ID, which makes it unique, is chosen by the catalogue (the first free one).
import { readFileSync } from 'node:fs'
import { ModelLoadError } from '../errors.js'

interface Layout {
  vocabulary: string[]
  textWeight: number
  cmWeight: number
  neighbours: number
  levels: number
  arrays: Array<{ name: string, shape: number[], offset: number }>
}

interface Matrix { data: Float32Array, rows: number, cols: number }

// Python's \w (re, Unicode): letters, digits and the underscore
const TOKEN = /[\p{L}\p{N}_]+/gu

export interface ItemContent { title?: string | null, brand?: string | null, categories?: string[], description?: string | null }

/** A new item's possible prefixes: `head` followed by each code of `last`, best first. */
export interface Candidates { head: number[], last: Uint32Array }

/** How many codes of the last quantised level a new item may try before it is refused as prefix_full. */
export const ALTERNATIVES = 32

/** The text the tokenizer reads for an item: title, brand, categories and description, joined by spaces. */
export function itemText (item: ItemContent): string {
  return [item.title, item.brand, ...(item.categories ?? []), item.description].filter(x => x !== null && x !== undefined && x !== '').join(' ')
}

export class ContentEncoder {
  private readonly index = new Map<string, number>()

  private constructor (private readonly layout: Layout, private readonly idf: Float32Array, private readonly components: Matrix,
    private readonly text: Matrix, private readonly collaborative: Matrix, private readonly centres: Matrix[]) {
    layout.vocabulary.forEach((term, i) => this.index.set(term, i))
  }

  static load (jsonFile: string, arraysFile: string): ContentEncoder {
    let layout: Layout
    try {
      layout = JSON.parse(readFileSync(jsonFile, 'utf8'))
    } catch (e) {
      throw new ModelLoadError(jsonFile, `not valid JSON (${(e as Error).message})`)
    }
    const bytes = readFileSync(arraysFile)
    const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
    const get = (name: string): Matrix => {
      const entry = layout.arrays.find(a => a.name === name)
      if (entry === undefined) throw new ModelLoadError(jsonFile, `the array "${name}" is missing`)
      const [rows, cols = 1] = entry.shape
      if (entry.offset + rows * cols > floats.length) throw new ModelLoadError(arraysFile, `the array "${name}" runs past the end of the file`)
      return { data: floats.subarray(entry.offset, entry.offset + rows * cols), rows, cols }
    }
    const idf = get('idf').data
    const components = get('components')
    if (idf.length !== layout.vocabulary.length || components.cols !== idf.length) throw new ModelLoadError(jsonFile, 'the vocabulary, idf and projection disagree in size')
    const centres = Array.from({ length: layout.levels }, (_, l) => get(`centres${l}`))
    return new ContentEncoder(layout, idf, components, get('text'), get('collaborative'), centres)
  }

  /** sklearn's TfidfVectorizer.transform of one text, as a sparse map term index -> weight. */
  private tfidf (text: string): Map<number, number> {
    const counts = new Map<number, number>()
    for (const token of text.toLowerCase().match(TOKEN) ?? []) {
      const i = this.index.get(token)
      if (i !== undefined) counts.set(i, (counts.get(i) ?? 0) + 1)
    }
    let norm = 0
    for (const [i, c] of counts) {
      const w = (1 + Math.log(c)) * this.idf[i]
      counts.set(i, w)
      norm += w * w
    }
    norm = Math.sqrt(norm)
    if (norm > 0) for (const [i, w] of counts) counts.set(i, w / norm)
    return counts
  }

  /** The fused embedding of a new item, and the catalogue rows its collaborative half comes from. */
  embed (text: string): { x: Float64Array, neighbours: number[] } {
    return this.embedTerms(this.tfidf(text))
  }

  private embedTerms (sparse: Map<number, number>): { x: Float64Array, neighbours: number[] } {
    const { components: p, text: t, collaborative: c } = this
    const v = new Float64Array(p.rows)
    for (let r = 0; r < p.rows; r++) {
      let sum = 0
      for (const [i, w] of sparse) sum += p.data[r * p.cols + i] * w
      v[r] = sum
    }
    const norm = Math.max(Math.hypot(...v), 1e-12)
    for (let r = 0; r < v.length; r++) v[r] /= norm
    const similarity = Array.from({ length: t.rows }, (_, row) => {
      let sum = 0
      for (let k = 0; k < t.cols; k++) sum += t.data[row * t.cols + k] * v[k]
      return sum
    })
    // the most similar first; equal similarities keep catalogue order (numpy's stable argsort)
    const neighbours = similarity.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, this.layout.neighbours).map(([, i]) => i)
    const x = new Float64Array(v.length + c.cols)
    for (let k = 0; k < v.length; k++) x[k] = this.layout.textWeight * v[k]
    if (c.cols > 0) {
      const mean = new Float64Array(c.cols)
      for (const row of neighbours) for (let k = 0; k < c.cols; k++) mean[k] += c.data[row * c.cols + k] / neighbours.length
      const m = Math.max(Math.hypot(...mean), 1e-12)
      for (let k = 0; k < c.cols; k++) x[v.length + k] = this.layout.cmWeight * mean[k] / m
    }
    return { x, neighbours }
  }

  /** The first `levels` codes of a new item's semantic ID: the nearest centre of each level, on the residual. */
  encode (text: string): number[] {
    return this.quantise(this.embed(text).x)[0]
  }

  /**
   * Where a new item may go, best first: encode()'s codes, then the same prefix with the next nearest codes of
   * the last level (at most ALTERNATIVES in all; used when a prefix has no free last code). null when no word
   * of the text is in the vocabulary: such an item would land wherever an empty text does.
   */
  candidates (text: string): Candidates | null {
    const sparse = this.tfidf(text)
    if (sparse.size === 0) return null
    const [codes, lastDistances] = this.quantise(this.embedTerms(sparse).x)
    const order = lastDistances.map((d, code) => [d, code] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1])
    return { head: codes.slice(0, -1), last: Uint32Array.from(order.slice(0, ALTERNATIVES), ([, code]) => code) }
  }

  /** Residual quantisation of x (changed in place): the codes, and the distances to every centre of the last level. */
  private quantise (x: Float64Array): [number[], number[]] {
    let distances: number[] = []
    const codes = this.centres.map(({ data, rows, cols }) => {
      distances = new Array<number>(rows)
      let best = 0
      for (let r = 0; r < rows; r++) {
        let d = 0
        for (let k = 0; k < cols; k++) { const diff = data[r * cols + k] - x[k]; d += diff * diff }
        distances[r] = d
        if (d < distances[best]) best = r
      }
      for (let k = 0; k < cols; k++) x[k] -= data[best * cols + k]
      return best
    })
    return [codes, distances]
  }
}
