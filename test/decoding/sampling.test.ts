// Sampling without replacement by stochastic beam search: with a fake policy whose item probabilities are
// known exactly (every path walked), 20,000 seeded draws must follow them, and the propensities must be
// the Plackett-Luce values.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { beamSearch, historyTokens, type DecodeRequest } from '../../src/decoding/beam-search.js'
import { Trie, LeafMask } from '../../src/decoding/trie.js'
import { conditionalGumbel, createRng, propensities } from '../../src/decoding/sampling.js'
import { CODES, FakePolicy, LAYOUT, N, request } from './fake-policy.js'

const trie = Trie.fromCodes(CODES, 3)
const policy = new FakePolicy()

const sample = (more: Partial<DecodeRequest> = {}) => request([1, 4, 7], { strategy: 'sample', k: 3, beamWidth: 3, temperature: 1, seed: 1, ...more })

/** log q(item): the sum over levels of log softmax(logits / T) over the children with an allowed item below. */
async function exactLog (r: DecodeRequest): Promise<number[]> {
  const { tokens, length } = historyTokens([r], CODES, LAYOUT)
  const { seeds: [seed] } = await policy.encode(tokens, 1, length, BigInt64Array.of(BigInt(r.userToken)))
  const mask = new LeafMask(trie, CODES, r.exclude, r.allow)
  return Array.from({ length: N }, (_, item) => {
    let node = 0; let q = 0; const prefix = [LAYOUT.bos]
    for (let l = 0; l < 3; l++) {
      const logits = policy.logits(seed, prefix)
      const first = trie.b.firstChild[node]
      const alive = Array.from({ length: trie.b.childCount[node] }, (_, i) => first + i).filter(e => mask.alive(e + 1) > 0)
      const code = CODES[item * 3 + l]
      const child = trie.child(node, code)
      if (!alive.includes(child - 1)) return -Infinity
      const scaled = alive.map(e => Math.fround(logits[trie.b.childCode[e]]) / r.temperature)
      const max = Math.max(...scaled)
      q += Math.fround(logits[code]) / r.temperature - max - Math.log(scaled.reduce((s, x) => s + Math.exp(x - max), 0))
      node = child
      prefix.push(code + LAYOUT.levelOffsets[l])
    }
    return q
  })
}

const exact = async (r: DecodeRequest): Promise<number[]> => (await exactLog(r)).map(Math.exp)

/**
 * The Plackett-Luce propensities of a draw, in log space: log q_r minus the log of the summed q of the items
 * not drawn above it (positive terms only, so exact however close to 1 the first draws' q are).
 */
function exactLogPropensities (items: number[], logq: number[]): number[] {
  return items.map((item, rank) => {
    const left = logq.filter((_, i) => !items.slice(0, rank).includes(i) && logq[i] > -Infinity)
    const max = Math.max(...left)
    return logq[item] - max - Math.log(left.reduce((s, x) => s + Math.exp(x - max), 0))
  })
}

/** Pearson's statistic over bins (bins with small expectations merged) and its 99.9% critical value (Wilson-Hilferty). */
function chiSquare (observed: number[], expected: number[]): { statistic: number, critical: number } {
  const bins: Array<[number, number]> = []
  let o = 0; let e = 0
  for (let i = 0; i < observed.length; i++) {
    o += observed[i]; e += expected[i]
    if (e >= 10) { bins.push([o, e]); o = 0; e = 0 }
  }
  if (e > 0) bins[bins.length - 1] = [bins[bins.length - 1][0] + o, bins[bins.length - 1][1] + e]
  const statistic = bins.reduce((s, [obs, exp]) => s + (obs - exp) ** 2 / exp, 0)
  const df = bins.length - 1
  const z = 3.090 // the 99.9% quantile of the standard normal
  return { statistic, critical: df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3 }
}

async function draws (base: DecodeRequest, count: number): Promise<Array<{ items: number[], probabilities: number[], propensities: number[] }>> {
  const out = []
  for (let start = 0; start < count; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - start) }, (_, i) => ({ ...base, seed: 20261130 + start + i }))
    for (const r of await beamSearch(policy, trie, CODES, LAYOUT, batch)) out.push(r as { items: number[], probabilities: number[], propensities: number[] })
  }
  return out
}

test('samples are k distinct real items, allowed ones only, reproducible by seed', async () => {
  const exclude = Int32Array.from([0, 1, 2, 3])
  const results = await draws(sample({ k: 5, exclude }), 500)
  for (const r of results) {
    assert.equal(r.items.length, 5)
    assert.equal(new Set(r.items).size, 5)
    assert.ok(r.items.every(i => i >= 0 && i < N && !exclude.includes(i)))
  }
  const [a] = await beamSearch(policy, trie, CODES, LAYOUT, [sample({ seed: 42 })])
  const [b] = await beamSearch(policy, trie, CODES, LAYOUT, [request([0], { k: 2 }), sample({ seed: 42 })]).then(r => r.slice(1))
  assert.deepEqual(a, b, 'the same request and seed give the same items, whatever else is in the batch')
  assert.ok(new Set(results.map(r => r.items.join())).size > 20, 'different seeds draw different items')
  const [few] = await beamSearch(policy, trie, CODES, LAYOUT, [sample({ k: 5, allow: Int32Array.from([2, 9, 11]) })])
  assert.deepEqual([...few.items].sort((x, y) => x - y), [2, 9, 11], 'fewer allowed items than k: all of them, no filler')
})

for (const temperature of [1, 0.5, 2]) {
  test(`20,000 seeded draws at temperature ${temperature}: first ranks follow q, pairs follow Plackett-Luce, propensities are exact`, async () => {
    const base = sample({ temperature, exclude: Int32Array.from([5]) })
    const q = await exact(base)
    assert.ok(Math.abs(q.reduce((s, x) => s + x, 0) - 1) < 1e-9, 'q is a distribution over the allowed items')
    assert.equal(q[5], 0)
    const results = await draws(base, 20_000)
    const first = new Array(N).fill(0)
    for (const r of results) first[r.items[0]]++
    const ranks = chiSquare(first, q.map(p => p * results.length))
    assert.ok(ranks.statistic < ranks.critical, `first ranks: chi-square ${ranks.statistic.toFixed(1)} >= ${ranks.critical.toFixed(1)}`)
    // (first, second) pairs: P(i then j) = q_i q_j / (1 - q_i)
    const pairs = new Array(N * N).fill(0)
    for (const r of results) pairs[r.items[0] * N + r.items[1]]++
    const expected = pairs.map((_, ij) => { const i = Math.floor(ij / N); const j = ij % N; return i === j ? 0 : q[i] * q[j] / (1 - q[i]) * results.length })
    const joint = chiSquare(pairs, expected)
    assert.ok(joint.statistic < joint.critical, `pairs: chi-square ${joint.statistic.toFixed(1)} >= ${joint.critical.toFixed(1)}`)
    for (const r of results.slice(0, 200)) {
      const expectedQ = r.items.map(i => q[i])
      r.probabilities.forEach((p, rank) => assert.ok(Math.abs(p - expectedQ[rank]) < 1e-6, `probability ${p} vs ${expectedQ[rank]}`))
      const expectedP = exactLogPropensities(r.items, q.map(Math.log)).map(Math.exp)
      r.propensities.forEach((p, rank) => assert.ok(Math.abs(p - expectedP[rank]) < 1e-6, `propensity ${p} vs ${expectedP[rank]}`))
    }
  })
}

// At the lowest temperatures the first draw's q rounds to 1, and 1 - q to 0: the later ranks' propensities
// must still be q_r over the mass left, not 1 (the bug the old 1 - sum q_j formula had).
for (const temperature of [0.01, 0.02]) {
  test(`temperature ${temperature}: every rank's propensity is exact when the first item's q rounds to 1`, async () => {
    const base = sample({ temperature, k: N - 1, beamWidth: N - 1, exclude: Int32Array.from([5]) })
    const logq = await exactLog(base)
    const results = await draws(base, 50)
    assert.ok(results.some(r => r.probabilities[0] === 1), 'the test needs a first draw whose q rounds to 1')
    for (const r of results) {
      assert.equal(new Set(r.items).size, N - 1)
      const expected = exactLogPropensities(r.items, logq)
      r.propensities.forEach((p, rank) => {
        if (expected[rank] < -700) assert.ok(p < 1e-300, `rank ${rank + 1}: propensity ${p}, expected exp(${expected[rank]})`)
        else assert.ok(Math.abs(Math.log(p) - expected[rank]) < 1e-6, `rank ${rank + 1}: log propensity ${Math.log(p)} vs ${expected[rank]}`)
      })
      assert.equal(r.propensities[N - 2], 1, 'the last item left is drawn for certain')
    }
  })
}

test('the conditional Gumbel keeps the maximum at the parent and the order of the samples', () => {
  assert.equal(conditionalGumbel(1.5, 3, 3), 1.5)
  const values = [-1, 0.5, 2].map(g => conditionalGumbel(0.2, g, 2))
  assert.ok(values[0] < values[1] && values[1] < values[2] && values[2] === 0.2)
  const rng = createRng(7)
  const xs = Array.from({ length: 10_000 }, rng)
  assert.ok(xs.every(x => x > 0 && x < 1))
  assert.ok(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5) < 0.01)
})

test('propensities: q_r over the mass left off the drawn paths, exact when 1 - sum q_j would round to 0', () => {
  // root -> a (q 1 - e^-50) and b (e^-50); a -> leaves a0 (q ~1) and a1 (e^-60); b -> leaves b0, b1 (halves)
  const root = { logq: 0, children: Float64Array.of(Math.log1p(-Math.exp(-50)), -50) }
  const a = { logq: root.children[0], children: Float64Array.of(root.children[0] + Math.log1p(-Math.exp(-60)), -60) }
  const b = { logq: -50, children: Float64Array.of(-50 - Math.LN2, -50 - Math.LN2) }
  const draw = (top: number, node: typeof a, leaf: number) => ({ logq: node.children[leaf], path: [{ expansion: root, child: top }, { expansion: node, child: leaf }] })
  const p = propensities([draw(0, a, 0), draw(0, a, 1), draw(1, b, 0), draw(1, b, 1)])
  assert.equal(p[0], 1)
  assert.ok(Math.abs(p[1] / (Math.exp(-60) / (Math.exp(-60) + Math.exp(-50))) - 1) < 1e-12, `rank 2: ${p[1]}`)
  assert.ok(Math.abs(p[2] - 0.5) < 1e-12 && Math.abs(p[3] - 1) < 1e-12, `ranks 3 and 4: ${p[2]}, ${p[3]}`)
  // masses below float64's range (e^-800): what is left is summed in log space, not as 0
  const deep = { logq: 0, children: Float64Array.of(0, -800, -800) }
  const tiny = propensities([0, 1, 2].map(child => ({ logq: deep.children[child], path: [{ expansion: deep, child }] })))
  assert.ok(Math.abs(tiny[1] - 0.5) < 1e-12 && Math.abs(tiny[2] - 1) < 1e-12, `${tiny.join()}`)
  const flat = { logq: 0, children: Float64Array.from([0.5, 0.25, 0.25], Math.log) }
  const even = propensities([0, 1, 2].map(child => ({ logq: flat.children[child], path: [{ expansion: flat, child }] })))
  even.forEach((x, i) => assert.ok(Math.abs(x - [0.5, 0.5, 1][i]) < 1e-12, `${x}`))
})

test('propensities stay exact through many draws from one node, largest first (what low temperatures draw)', () => {
  // each subtraction's rounding error is amplified by 1 / (1 - share); unchecked over 40 halvings it grew to 1.5e-5,
  // and over 200 draws of spread masses to 0.14 in log propensity
  const check = (logq: number[]) => {
    const root = { logq: 0, children: Float64Array.from(logq) }
    const p = propensities(logq.map((x, child) => ({ logq: x, path: [{ expansion: root, child }] })))
    return Math.max(...p.map((x, r) => {
      const rest = logq.slice(r); const m = Math.max(...rest)
      return Math.abs(Math.log(x) - (logq[r] - m - Math.log(rest.reduce((t, y) => t + Math.exp(y - m), 0))))
    }))
  }
  const halves = Array.from({ length: 40 }, (_, i) => -Math.LN2 * Math.min(i + 1, 39)) // 1/2, 1/4, ..., 2^-39, 2^-39
  assert.ok(check(halves) < 1e-12, `halves: ${check(halves)}`)
  const rng = createRng(7)
  const raw = Array.from({ length: 200 }, () => 30 * rng()).sort((a, b) => b - a)
  const z = raw[0] + Math.log(raw.reduce((t, x) => t + Math.exp(x - raw[0]), 0))
  const spread = raw.map(x => x - z)
  assert.ok(check(spread) < 1e-12, `spread: ${check(spread)}`)
})
