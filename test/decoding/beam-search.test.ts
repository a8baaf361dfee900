import { test } from 'node:test'
import assert from 'node:assert/strict'
import { beamSearch, historyTokens, type DecodeRequest } from '../../src/decoding/beam-search.js'
import { Trie, globalMask } from '../../src/decoding/trie.js'
import { CODES, FakePolicy, LAYOUT, N, request } from './fake-policy.js'

/** log P(item) of every item by walking every path, normalising over the trie's children at each node. */
async function exhaustive (policy: FakePolicy, trie: Trie, r: DecodeRequest): Promise<number[]> {
  const { tokens, length } = historyTokens([r], CODES, LAYOUT)
  const { seeds: [seed] } = await policy.encode(tokens, 1, length, BigInt64Array.of(BigInt(r.userToken)))
  return Array.from({ length: N }, (_, item) => {
    let node = 0; let logp = 0; const prefix = [LAYOUT.bos]
    for (let l = 0; l < 3; l++) {
      const logits = Float32Array.from(policy.logits(seed, prefix))
      const children = Array.from(trie.b.childCode.subarray(trie.b.firstChild[node], trie.b.firstChild[node] + trie.b.childCount[node]))
      const code = CODES[item * 3 + l]
      const logZ = Math.log(children.reduce((s, c) => s + Math.exp(logits[c]), 0))
      logp += logits[code] - logZ
      node = trie.child(node, code)
      prefix.push(code + LAYOUT.levelOffsets[l])
    }
    return logp
  })
}

const ranked = (scores: number[], skip: Set<number> = new Set()) =>
  scores.map((s, i) => [s, i] as const).filter(([, i]) => !skip.has(i)).sort((a, b) => b[0] - a[0])

test('a beam as wide as the catalogue returns the exact top-k', async () => {
  const trie = Trie.fromCodes(CODES, 3); const policy = new FakePolicy()
  for (const history of [[], [1, 4, 7], [0, 1, 2, 3, 4, 5, 6]]) {
    const r = request(history, { k: 5 })
    const exact = await exhaustive(policy, trie, r)
    assert.ok(Math.abs(exact.reduce((s, x) => s + Math.exp(x), 0) - 1) < 1e-6) // a distribution over real items only
    const [result] = await beamSearch(policy, trie, CODES, LAYOUT, [r])
    const top = ranked(exact).slice(0, 5)
    assert.deepEqual(result.items, top.map(([, i]) => i))
    result.scores.forEach((s, i) => assert.ok(Math.abs(s - top[i][0]) < 1e-6))
  }
})

test('exclusions and category allow-lists are applied during decoding and dead beams are dropped', async () => {
  const trie = Trie.fromCodes(CODES, 3); const policy = new FakePolicy()
  const exclude = [0, 1, 2, 3] // the whole subtree under code 0 is dead
  const r = request([5, 6], { exclude: Int32Array.from(exclude) })
  const exact = await exhaustive(policy, trie, r)
  const [result] = await beamSearch(policy, trie, CODES, LAYOUT, [r])
  assert.deepEqual(result.items, ranked(exact, new Set(exclude)).map(([, i]) => i))
  const [filtered] = await beamSearch(policy, trie, CODES, LAYOUT, [request([5], { allow: Int32Array.from([2, 9, 11]), exclude: Int32Array.from([9]) })])
  assert.deepEqual([...filtered.items].sort(), [11, 2])
  const [none] = await beamSearch(policy, trie, CODES, LAYOUT, [request([], { allow: Int32Array.from([3]), exclude: Int32Array.from([3]) })])
  assert.deepEqual(none.items, [])
})

test('a narrow beam returns beamWidth items with scores in descending order', async () => {
  const trie = Trie.fromCodes(CODES, 3)
  const [result] = await beamSearch(new FakePolicy(), trie, CODES, LAYOUT, [request([3], { beamWidth: 2, k: 2 })])
  assert.equal(result.items.length, 2)
  assert.ok(result.scores[0] >= result.scores[1])
})

test('requests of a batch are independent of each other', async () => {
  const trie = Trie.fromCodes(CODES, 3); const policy = new FakePolicy()
  const rs = [request([1, 2, 3, 4, 5, 6], { beamWidth: 3, k: 3 }), request([], { userToken: 4, beamWidth: 5, k: 4 }), request([7], { exclude: Int32Array.from([8]) })]
  const batch = await beamSearch(policy, trie, CODES, LAYOUT, rs)
  for (const [i, r] of rs.entries()) assert.deepEqual(batch[i], (await beamSearch(policy, trie, CODES, LAYOUT, [r]))[0])
})

test('history tokens keep the most recent maxHistory items, left-padded', () => {
  const { tokens, length } = historyTokens([request([0, 1, 2, 3, 4, 5]), request([7])], CODES, LAYOUT)
  assert.equal(length, 4)
  assert.deepEqual(Array.from(tokens.subarray(0, 3), Number), [0 + 2, 1 + 5, 0 + 8]) // item 2 = (0,1,0)
  assert.deepEqual(Array.from(tokens.subarray(12, 21), Number), [0, 0, 0, 0, 0, 0, 0, 0, 0])
  assert.deepEqual(Array.from(tokens.subarray(21, 24), Number), [2 + 2, 0 + 5, 0 + 8]) // item 7 = (2,0,0)
})

test('a global mask hides items from every request, together with its own exclusions and allow-list', async () => {
  const trie = Trie.fromCodes(CODES, 3); const policy = new FakePolicy()
  const hidden = globalMask(trie, CODES, N, [0, 1, 5], 1)
  const r = request([4], { exclude: Int32Array.from([1, 2, 4]) }) // 1 is hidden and excluded: counted once
  const exact = await exhaustive(policy, trie, r)
  const [result] = await beamSearch(policy, trie, CODES, LAYOUT, [r], Infinity, hidden)
  assert.deepEqual(result.items, ranked(exact, new Set([0, 1, 2, 4, 5])).map(([, i]) => i), 'the exact ranking of the rest, scores unchanged')
  const [allowed] = await beamSearch(policy, trie, CODES, LAYOUT, [request([], { allow: Int32Array.from([0, 5, 7, 9]), exclude: Int32Array.from([9]) })], Infinity, hidden)
  assert.deepEqual(allowed.items, [7])
  const everything = globalMask(trie, CODES, N, Array.from({ length: N }, (_, i) => i), 2)
  assert.deepEqual((await beamSearch(policy, trie, CODES, LAYOUT, [request([])], Infinity, everything))[0].items, [])
})
