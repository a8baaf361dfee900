import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { SHIPPED_MODELS, build } from '../helper.js'

const HISTORY = ['1', '2', '3', '50', '100']

test('POST /v1/recommendations returns ranked real items with display fields', async (t) => {
  const { app, recommender } = await build(t)
  const res = await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: [...HISTORY, 'no-such-item'], k: 5 } })
  assert.equal(res.statusCode, 200)
  const body = res.json()
  assert.match(body.recommendationId, /^[0-9a-f-]{36}$/)
  assert.deepEqual(body.model, { name: 'smoke', version: '0.1.0' })
  assert.deepEqual(body.unknownItemIds, ['no-such-item'])
  assert.equal(body.historyLength, 5)
  assert.equal(body.historyReceived, 6)
  assert.equal(body.items.length, 5)
  for (const [i, item] of body.items.entries()) {
    assert.equal(item.rank, i + 1)
    assert.ok(!HISTORY.includes(item.itemId), 'excludeSeen is the default')
    assert.deepEqual(item.semanticId, recommender.catalogue.get(item.itemId)!.semanticId)
    assert.ok(Math.abs(item.probability - Math.exp(item.score)) < 1e-12)
    if (i > 0) assert.ok(item.score <= body.items[i - 1].score)
  }
})

test('exclude, excludeSeen=false and category filters shape the result', async (t) => {
  const { app } = await build(t)
  const post = async (payload: object) => (await app.inject({ method: 'POST', url: '/v1/recommendations', payload })).json()
  const base = await post({ history: HISTORY, k: 10, excludeSeen: false })
  const excluded = await post({ history: HISTORY, k: 10, excludeSeen: false, exclude: [base.items[0].itemId, base.items[1].itemId] })
  assert.ok(!excluded.items.some((i: { itemId: string }) => [base.items[0].itemId, base.items[1].itemId].includes(i.itemId)))
  const horror = await post({ history: HISTORY, k: 10, categories: ['Horror'] })
  assert.equal(horror.items.length, 10)
  assert.ok(horror.items.every((i: { categories: string[] }) => i.categories.includes('Horror')))
  const res = await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: HISTORY, categories: ['Nope'] } })
  assert.equal(res.statusCode, 400)
  assert.equal(res.json().details.field, 'body.categories')
})

test('a userId without history uses the stored history; anonymous requests work too', async (t) => {
  const { app } = await build(t)
  await app.inject({ method: 'PUT', url: '/v1/users/u1/history', payload: { events: HISTORY.map(itemId => ({ itemId })) } })
  const stored = (await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { userId: 'u1', k: 3 } })).json()
  assert.equal(stored.historySource, 'store')
  assert.equal(stored.historyLength, 5)
  const given = (await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { userId: 'u1', history: HISTORY, k: 3 } })).json()
  assert.deepEqual(given.items, stored.items)
  const viaGet = (await app.inject({ method: 'GET', url: '/v1/users/u1/recommendations?k=3' })).json()
  assert.deepEqual(viaGet.items, stored.items)
  const anonymous = (await app.inject({ method: 'POST', url: '/v1/recommendations', payload: {} })).json()
  assert.equal(anonymous.historySource, 'none')
  assert.equal(anonymous.items.length, 10)
})

test('bounds on k, beam width, history length and ids are enforced with the field named', async (t) => {
  const { app } = await build(t, { MAX_K: '20', MAX_HISTORY_ITEMS: '3', MAX_ID_LENGTH: '8' })
  const cases: Array<[object, string]> = [
    [{ k: 21 }, 'body.k'],
    [{ k: 0 }, 'body.k'],
    [{ beamWidth: 1000 }, 'body.beamWidth'],
    [{ history: ['1', '2', '3', '4'] }, 'body.history'],
    [{ history: ['123456789'] }, 'body.history.0'],
    [{ userId: '' }, 'body.userId'],
    [{ surprise: true }, 'body.surprise'],
    [{ excludeSeen: 'maybe' }, 'body.excludeSeen']
  ]
  for (const [payload, field] of cases) {
    const res = await app.inject({ method: 'POST', url: '/v1/recommendations', payload })
    assert.equal(res.statusCode, 400, JSON.stringify(payload))
    const body = res.json()
    assert.equal(body.code, 'validation_error')
    assert.equal(body.details.field, field, JSON.stringify(payload))
    assert.equal(body.requestId, res.headers['x-request-id'])
  }
})

test('concurrent requests are micro-batched and a full queue answers 503 with Retry-After', async (t) => {
  const { app } = await build(t, { MAX_QUEUE: '2', MAX_BATCH_SIZE: '2' })
  const responses = await Promise.all(Array.from({ length: 40 }, async () =>
    await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: HISTORY, beamWidth: 64, k: 10 } })))
  const codes = responses.map(r => r.statusCode)
  assert.ok(codes.includes(200))
  const rejected = responses.filter(r => r.statusCode === 503)
  assert.ok(rejected.length > 0, `expected some 503s, got ${codes.join(',')}`)
  assert.equal(rejected[0].json().code, 'overloaded')
  assert.ok(Number(rejected[0].headers['retry-after']) >= 1)
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  assert.match(metrics, /inference_batch_size_count\{model="smoke"\} \d+/)
})

for (const model of ['beauty-gflowgr', 'ml1m-gflowgr']) {
  test(`GET and POST agree on every category of the shipped ${model} catalogue (repeated query parameters, commas and all)`, async (t) => {
    const { app, recommender } = await build(t, { MODEL_DIR: path.join(SHIPPED_MODELS, model) })
    const categories = [...new Set(recommender.catalogue.items.flatMap(i => i.categories))].sort()
    assert.ok(categories.length >= 18)
    const history = recommender.catalogue.items.slice(0, 3).map(i => i.itemId)
    await app.inject({ method: 'PUT', url: '/v1/users/shopper/history', payload: { events: history.map(itemId => ({ itemId })) } })
    const exclude = recommender.catalogue.items.slice(3, 5).map(i => i.itemId)
    const query = (list: string[]) => list.map(c => `categories=${encodeURIComponent(c)}`).join('&') + exclude.map(e => `&exclude=${encodeURIComponent(e)}`).join('')
    const pairs: string[][] = [...categories.map(c => [c]), [categories[0], categories[1]]]
    for (const list of pairs) {
      const post = await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { userId: 'shopper', k: 5, beamWidth: 10, categories: list, exclude } })
      const get = await app.inject({ url: `/v1/users/shopper/recommendations?k=5&beamWidth=10&${query(list)}` })
      assert.equal(get.statusCode, post.statusCode, `${list.join(' | ')}: ${get.body.slice(0, 200)}`)
      assert.equal(post.statusCode, 200, `${list.join(' | ')}: ${post.body.slice(0, 200)}`)
      const items = post.json().items as Array<{ itemId: string, categories: string[] }>
      assert.deepEqual(get.json().items.map((i: { itemId: string }) => i.itemId), items.map(i => i.itemId), list.join(' | '))
      assert.ok(items.every(i => list.some(c => i.categories.includes(c)) && !exclude.includes(i.itemId)), list.join(' | '))
    }
  })
}

// At T 0.01-0.02 the first item's q rounds to 1 for this history: a denominator of 1 - sum q_j would be 0 and
// make every later propensity 1, although those items have q of 1e-35 and less.
test('strategy sample on the shipped Beauty model: propensities stay exact when the first item takes all of q', async (t) => {
  const { app } = await build(t, { MODEL_DIR: path.join(SHIPPED_MODELS, 'beauty-gflowgr') })
  for (const temperature of [0.01, 0.02]) {
    const res = await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: ['B00150LT40', 'B000142FVW', 'B0069FDR96'], k: 100, strategy: 'sample', seed: 1, temperature } })
    assert.equal(res.statusCode, 200)
    const items: Array<{ probability: number, propensity: number }> = res.json().items
    assert.equal(items.length, 100)
    assert.equal(items[0].probability, 1)
    assert.ok(items.every(i => i.propensity > 0 && i.propensity <= 1))
    assert.ok(items.slice(1).some(i => i.propensity < 0.5), `T ${temperature}: later ranks are not all certain`)
    // the mass left before rank r is q_r / propensity_r, and it shrinks by exactly q_r from one rank to the next
    // (checked where the subtraction keeps its digits: q_r at most half of what is left)
    const left = items.map(i => i.probability / i.propensity)
    for (let r = 1; r + 1 < items.length; r++) {
      if (items[r].probability > 0 && items[r].probability <= left[r] / 2) {
        assert.ok(Math.abs(left[r + 1] / (left[r] - items[r].probability) - 1) < 1e-6, `T ${temperature}, rank ${r + 1}: ${left[r + 1]} vs ${left[r] - items[r].probability}`)
      }
    }
  }
  // a filter that leaves fewer items than k: all of them are drawn, and the last one for certain (exactly 1)
  const few = await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: ['B00150LT40', 'B000142FVW', 'B0069FDR96'], k: 100, strategy: 'sample', temperature: 0.3, seed: 1, categories: ['Concealer', 'Temporary Tattoos', 'Body Paint'] } })
  const drawn: Array<{ propensity: number }> = few.json().items
  assert.ok(drawn.length > 1 && drawn.length < 100, `${drawn.length}`)
  assert.equal(drawn[drawn.length - 1].propensity, 1)
})

test('strategy sample: k distinct allowed items with probabilities and propensities, reproducible by seed, on POST and GET alike', async (t) => {
  const { app } = await build(t)
  await app.inject({ method: 'PUT', url: '/v1/users/s1/history', payload: { events: HISTORY.map(itemId => ({ itemId })) } })
  const post = async (payload: object) => await app.inject({ method: 'POST', url: '/v1/recommendations', payload })
  const first = (await post({ userId: 's1', k: 8, strategy: 'sample', seed: 12345, temperature: 1.5 })).json()
  assert.equal(first.strategy, 'sample')
  assert.equal(first.seed, 12345)
  assert.equal(first.temperature, 1.5)
  assert.equal(first.items.length, 8)
  assert.equal(new Set(first.items.map((i: { itemId: string }) => i.itemId)).size, 8)
  assert.ok(first.items.every((i: { itemId: string }) => !HISTORY.includes(i.itemId)), 'excludeSeen holds for sampling too')
  let taken = 0
  for (const item of first.items) {
    assert.ok(item.probability > 0 && item.probability <= 1)
    assert.ok(Math.abs(item.propensity - item.probability / (1 - taken)) < 1e-9)
    taken += item.probability
  }
  const again = (await post({ userId: 's1', k: 8, strategy: 'sample', seed: 12345, temperature: 1.5 })).json()
  assert.deepEqual(again.items, first.items)
  const viaGet = (await app.inject({ url: '/v1/users/s1/recommendations?k=8&strategy=sample&seed=12345&temperature=1.5' })).json()
  assert.deepEqual(viaGet.items, first.items)
  const unseeded = (await post({ userId: 's1', k: 8, strategy: 'sample' })).json()
  assert.ok(Number.isInteger(unseeded.seed), 'a random seed is returned, so that the answer can be reproduced')
  const replay = (await post({ userId: 's1', k: 8, strategy: 'sample', seed: unseeded.seed })).json()
  assert.deepEqual(replay.items, unseeded.items)
  const beam = (await post({ userId: 's1', k: 8 })).json()
  assert.equal(beam.strategy, 'beam')
  assert.equal(beam.seed, undefined)
  assert.ok(beam.items.every((i: { propensity?: number }) => i.propensity === undefined))
  const refused: Array<[object, string]> = [
    [{ strategy: 'sample', beamWidth: 10 }, 'body.beamWidth'],
    [{ temperature: 0.5 }, 'body.temperature'],
    [{ seed: 3 }, 'body.seed'],
    [{ strategy: 'sample', temperature: 0 }, 'body.temperature'],
    [{ strategy: 'sample', temperature: 11 }, 'body.temperature'],
    [{ strategy: 'sample', seed: -1 }, 'body.seed'],
    [{ strategy: 'sample', seed: 2 ** 32 }, 'body.seed'],
    [{ strategy: 'greedy' }, 'body.strategy']
  ]
  for (const [payload, field] of refused) {
    const res = await post(payload)
    assert.equal(res.statusCode, 400, JSON.stringify(payload))
    assert.equal(res.json().details.field, field, JSON.stringify(payload))
  }
  // query numbers are plain decimals only (README, Types are strict)
  for (const temperature of ['Infinity', '.5', '1.', '1e-1', '0x1', '+1', '1,5']) {
    const res = await app.inject({ url: `/v1/users/s1/recommendations?strategy=sample&temperature=${encodeURIComponent(temperature)}` })
    assert.equal(res.statusCode, 400, temperature)
    assert.equal(res.json().details.field, 'query.temperature', temperature)
  }
  const half = await app.inject({ url: '/v1/users/s1/recommendations?strategy=sample&temperature=0.5&seed=1' })
  assert.equal(half.statusCode, 200)
  assert.equal(half.json().temperature, 0.5)
})
