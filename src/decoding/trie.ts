// Prefix trie of the semantic IDs of real items, in flat typed arrays (CSR).
//
// Nodes are numbered breadth-first: the root is 0 and the child reached through edge e is node e + 1,
// so an edge needs only its code. Internal nodes store their first edge, child count and number of
// leaves below; leaves (depth = levels) come last and map to items. About 25 bytes per item.

export interface TrieBuffers {
  levels: number
  internalNodes: number
  firstChild: Int32Array // per internal node: index of its first edge
  childCount: Int32Array // per internal node
  leavesBelow: Int32Array // per internal node
  childCode: Uint16Array // per edge, ascending within a node
  leafItem: Int32Array // per leaf (node - internalNodes): item index
  itemLeaf: Int32Array // per item: leaf node
}

function shared<T extends Int32Array | Uint16Array> (Kind: { new(buffer: SharedArrayBuffer): T, BYTES_PER_ELEMENT: number }, length: number): T {
  return new Kind(new SharedArrayBuffer(Math.max(1, length) * Kind.BYTES_PER_ELEMENT))
}

export class Trie {
  constructor (readonly b: TrieBuffers) {}

  /** codes: [items * levels] row-major; every item's code tuple must be unique. */
  static fromCodes (codes: Int32Array, levels: number): Trie {
    const n = codes.length / levels
    const order = Array.from({ length: n }, (_, i) => i)
    order.sort((a, b) => {
      for (let l = 0; l < levels; l++) {
        const d = codes[a * levels + l] - codes[b * levels + l]
        if (d !== 0) return d
      }
      return 0
    })
    // breadth-first: groups of `order` that share a prefix of the current depth
    let groups: Array<[number, number]> = [[0, n]]
    const first: number[] = []; const count: number[] = []; const below: number[] = []; const edgeCodes: number[] = []
    for (let depth = 0; depth < levels; depth++) {
      const next: Array<[number, number]> = []
      for (const [start, end] of groups) {
        first.push(edgeCodes.length)
        below.push(end - start)
        let children = 0
        for (let i = start; i < end;) {
          const code = codes[order[i] * levels + depth]
          let j = i + 1
          while (j < end && codes[order[j] * levels + depth] === code) j++
          edgeCodes.push(code)
          next.push([i, j])
          children++
          i = j
        }
        count.push(children)
      }
      groups = next
    }
    if (groups.length !== n) throw new Error(`${n - groups.length} items share a semantic ID with another item`)
    const internal = first.length
    const b: TrieBuffers = {
      levels,
      internalNodes: internal,
      firstChild: shared(Int32Array, internal),
      childCount: shared(Int32Array, internal),
      leavesBelow: shared(Int32Array, internal),
      childCode: shared(Uint16Array, edgeCodes.length),
      leafItem: shared(Int32Array, n),
      itemLeaf: shared(Int32Array, n)
    }
    b.firstChild.set(first); b.childCount.set(count); b.leavesBelow.set(below); b.childCode.set(edgeCodes)
    groups.forEach(([start], leaf) => {
      b.leafItem[leaf] = order[start]
      b.itemLeaf[order[start]] = internal + leaf
    })
    return new Trie(b)
  }

  get levels (): number { return this.b.levels }
  get nodes (): number { return this.b.internalNodes + this.b.leafItem.length }
  isLeaf (node: number): boolean { return node >= this.b.internalNodes }
  item (leaf: number): number { return this.b.leafItem[leaf - this.b.internalNodes] }
  leavesBelow (node: number): number { return node >= this.b.internalNodes ? 1 : this.b.leavesBelow[node] }

  /** Child of `node` through `code`, or -1 (binary search over the node's sorted codes). */
  child (node: number, code: number): number {
    let lo = this.b.firstChild[node]; let hi = lo + this.b.childCount[node] - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const c = this.b.childCode[mid]
      if (c === code) return mid + 1
      if (c < code) lo = mid + 1; else hi = mid - 1
    }
    return -1
  }

  /** The internal nodes and leaf on an item's path, root excluded (one per level). */
  path (item: number, codes: Int32Array): number[] {
    const out: number[] = []
    let node = 0
    for (let l = 0; l < this.b.levels; l++) {
      node = this.child(node, codes[item * this.b.levels + l])
      out.push(node)
    }
    return out
  }
}

/**
 * Items hidden from every request (unavailable): per item a flag, per node the number of hidden leaves
 * below it. Built on the main thread in shared memory and replaced as a whole, never changed in place, so
 * that a search sees one consistent state from its first step to its last.
 */
export interface GlobalMask { hidden: Uint8Array, hiddenBelow: Int32Array, version: number }

/** The mask of `hiddenItems` on this trie. */
export function globalMask (trie: Trie, codes: Int32Array, items: number, hiddenItems: Iterable<number>, version: number): GlobalMask {
  const hidden = new Uint8Array(new SharedArrayBuffer(Math.max(1, items)))
  const hiddenBelow = new Int32Array(new SharedArrayBuffer(Math.max(1, trie.nodes) * 4))
  for (const item of hiddenItems) {
    if (hidden[item] === 1) continue
    hidden[item] = 1
    hiddenBelow[0]++
    for (const node of trie.path(item, codes)) hiddenBelow[node]++
  }
  return { hidden, hiddenBelow, version }
}

/**
 * Which leaves a request may reach: optionally only items of an allow-list, never excluded items, never
 * items the global mask hides. `alive(node)` is the number of reachable leaves below a node; 0 makes a child
 * a dead end.
 */
export class LeafMask {
  private readonly removed = new Map<number, number>()
  private readonly allowed: Map<number, number> | null

  constructor (private readonly trie: Trie, codes: Int32Array, exclude: Iterable<number>, allow: Int32Array | null,
    private readonly global: GlobalMask | null = null) {
    const visible = (item: number) => global === null || global.hidden[item] === 0
    let allowSet: Set<number> | null = null
    if (allow !== null) {
      this.allowed = new Map([[0, 0]])
      allowSet = new Set(allow)
      for (const item of allowSet) if (visible(item)) this.count(this.allowed, item, codes)
    } else {
      this.allowed = null
    }
    for (const item of new Set(exclude)) {
      if ((allowSet === null || allowSet.has(item)) && visible(item)) this.count(this.removed, item, codes)
    }
  }

  private count (counts: Map<number, number>, item: number, codes: Int32Array): void {
    counts.set(0, (counts.get(0) ?? 0) + 1)
    for (const node of this.trie.path(item, codes)) counts.set(node, (counts.get(node) ?? 0) + 1)
  }

  alive (node: number): number {
    const total = this.allowed === null
      ? this.trie.leavesBelow(node) - (this.global?.hiddenBelow[node] ?? 0)
      : (this.allowed.get(node) ?? 0)
    return total - (this.removed.get(node) ?? 0)
  }
}
