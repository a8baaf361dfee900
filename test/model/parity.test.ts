// The TypeScript decoder over onnxruntime-node must reproduce the exporter's reference decoder.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { beamSearch } from '../../src/decoding/beam-search.js'
import { Trie } from '../../src/decoding/trie.js'
import { Catalogue } from '../../src/model/catalogue.js'
import { loadManifest, policyDims, tokenLayout } from '../../src/model/manifest.js'
import { OnnxPolicy } from '../../src/model/onnx-policy.js'
import { userToken } from '../../src/model/user-hash.js'
import { FIXTURE_MODEL, SHIPPED_MODELS, int8Copy } from '../helper.js'

interface Vector { userId: string | null, history: string[], excludeSeen: boolean, beamWidth: number, k: number, userToken: number, itemIds: string[], scores: number[] }

const shipped = existsSync(SHIPPED_MODELS) ? readdirSync(SHIPPED_MODELS).map(d => path.join(SHIPPED_MODELS, d)) : []
const models = [FIXTURE_MODEL, ...shipped]

/**
 * The TypeScript decoder over onnxruntime-node returns the model's parity vectors: same items, scores within 1e-4.
 * oneByOne: a request per batch, as the vectors were made (int8 graphs quantise activations per call, so their
 * answers depend on the batch).
 */
async function checkParity (dir: string, oneByOne = false): Promise<void> {
  const { manifest: m, encoder, decoder, catalogue: file, parity } = loadManifest(dir)
  const catalogue = Catalogue.load(file, m.semanticIds.levels, m.catalogue.items, m.semanticIds.codebookSizes)
  const trie = Trie.fromCodes(catalogue.codes, m.semanticIds.levels)
  const policy = await OnnxPolicy.load(encoder, decoder, 1, policyDims(m))
  const layout = tokenLayout(m)
  const vectors: Vector[] = readFileSync(parity, 'utf8').trim().split('\n').map(l => JSON.parse(l))
  assert.ok(vectors.length >= 50)
  const requests = vectors.map(v => {
    const history = Int32Array.from(v.history.map(id => catalogue.indexOf(id)!))
    const token = userToken(v.userId ?? undefined, m.tokens.userOffset, m.tokens.userBuckets)
    assert.equal(token, v.userToken, `user token of ${v.userId}`)
    return { history, userToken: token, strategy: 'beam' as const, beamWidth: v.beamWidth, k: v.k, temperature: 1, seed: 0, exclude: v.excludeSeen ? history : new Int32Array(), allow: null, snapshot: 0 }
  })
  const results = []
  if (oneByOne) for (const r of requests) results.push(...await beamSearch(policy, trie, catalogue.codes, layout, [r]))
  else results.push(...await beamSearch(policy, trie, catalogue.codes, layout, requests)) // one batch: left padding must not matter
  let worst = 0
  results.forEach((r, i) => {
    assert.deepEqual(r.items.map(index => catalogue.items[index].itemId), vectors[i].itemIds, `request ${i}`)
    r.scores.forEach((s, j) => { worst = Math.max(worst, Math.abs(s - vectors[i].scores[j])) })
  })
  assert.ok(worst <= 1e-4, `largest score difference ${worst}`)
  await policy.release()
}

for (const dir of models) {
  test(`parity with the exporter: ${path.basename(dir)}`, async () => { await checkParity(dir) })
}

test('the fixture (format 2) re-exported in format 3 with int8 weights: the decoder returns what the quantised graphs answer', async () => {
  const out = await int8Copy(FIXTURE_MODEL)
  const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'))
  assert.equal(m.formatVersion, 3)
  assert.equal(m.weights.dtype, 'int8')
  await checkParity(out, true)
})

// A shipped model is committed to git and baked into the image: every file it needs, and small.
const MAX_MODEL_BYTES = 25 * 1024 * 1024
for (const dir of shipped) {
  test(`shipped model is complete and at most 25 MB: ${path.basename(dir)}`, () => {
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter(f => f.isFile())
    const bytes = files.reduce((sum, f) => sum + statSync(path.join(f.parentPath, f.name)).size, 0)
    assert.ok(bytes <= MAX_MODEL_BYTES, `${bytes} bytes`)
    const card = readFileSync(path.join(dir, 'MODEL_CARD.md'), 'utf8')
    assert.match(card, /python -m gflowgr all --config configs\/\S+\.toml/) // how to regenerate it
    for (const [, picture] of card.matchAll(/\]\((figures\/[^)]+)\)/g)) assert.ok(existsSync(path.join(dir, picture)), picture)
  })
}
