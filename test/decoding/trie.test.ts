import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LeafMask, Trie } from '../../src/decoding/trie.js'

// items: 0 (0,0,0) 1 (0,0,1) 2 (0,1,0) 3 (1,2,0) 4 (1,2,1) 5 (1,0,0) 6 (2,1,0)
export const CODES = Int32Array.from([0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 2, 0, 1, 2, 1, 1, 0, 0, 2, 1, 0])

test('the CSR trie has one path per item and children in code order', () => {
  const trie = Trie.fromCodes(CODES, 3)
  assert.equal(trie.levels, 3)
  assert.equal(trie.leavesBelow(0), 7)
  const root = [...trie.b.childCode.subarray(trie.b.firstChild[0], trie.b.firstChild[0] + trie.b.childCount[0])]
  assert.deepEqual(root, [0, 1, 2])
  const one = trie.child(0, 1)
  assert.equal(trie.leavesBelow(one), 3)
  assert.deepEqual([...trie.b.childCode.subarray(trie.b.firstChild[one], trie.b.firstChild[one] + trie.b.childCount[one])], [0, 2])
  assert.equal(trie.child(one, 1), -1)
  for (let item = 0; item < 7; item++) {
    const path = trie.path(item, CODES)
    assert.ok(trie.isLeaf(path[2]))
    assert.equal(trie.item(path[2]), item)
  }
})

test('two items with the same semantic ID are refused', () => {
  assert.throws(() => Trie.fromCodes(Int32Array.from([1, 2, 1, 2]), 2), /share a semantic ID/)
})

test('leaf masks count reachable leaves along paths', () => {
  const trie = Trie.fromCodes(CODES, 3)
  const one = trie.child(0, 1); const oneTwo = trie.child(one, 2)
  const excluded = new LeafMask(trie, CODES, [3, 4, 3], null)
  assert.equal(excluded.alive(0), 5)
  assert.equal(excluded.alive(one), 1)
  assert.equal(excluded.alive(oneTwo), 0) // a dead end: both its items are excluded
  const allowed = new LeafMask(trie, CODES, [0], Int32Array.from([0, 1, 6]))
  assert.equal(allowed.alive(0), 2)
  assert.equal(allowed.alive(one), 0)
  assert.equal(allowed.alive(trie.child(0, 2)), 1)
})

test('a million items fit in tens of MB', () => {
  const levels = 4; const n = 1_000_000
  const codes = new Int32Array(n * levels)
  for (let i = 0; i < n; i++) codes.set([i % 256, (i >> 8) % 256, (i >> 16) % 256, 0], i * levels)
  const trie = Trie.fromCodes(codes, levels)
  const bytes = Object.values(trie.b).reduce((sum: number, v) => sum + (ArrayBuffer.isView(v) ? v.byteLength : 0), 0)
  assert.equal(trie.leavesBelow(0), n)
  assert.ok(bytes < 40 * 1024 * 1024, `trie uses ${(bytes / 1048576).toFixed(1)} MB`)
})
