// The living catalogue. Hiding and restoring items: never recommended while hidden (beam search and
// sampling), applied while decoding so that k items still come back. Adding items: a semantic ID from their
// content, in the trie at once. Both persisted in the store and shared by every replica.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { ContentEncoder, itemText } from '../../src/catalogue/content-encoder.js'
import { ADMIN_ENV, ADMIN_HEADERS, ADMIN_KEY, RedisServer, build, connectRedisStore, freePort, listen, raw, startServer } from '../helper.js'

const HISTORY = ['1', '2', '3']

test('a hidden item is never recommended, by either strategy, and k items still come back; restoring it brings it back', async (t) => {
  const { app } = await build(t, ADMIN_ENV)
  const recommend = async (more: object = {}) => (await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: HISTORY, k: 10, ...more } })).json()
  const before = await recommend()
  const top = before.items.slice(0, 3).map((i: { itemId: string }) => i.itemId)
  for (const itemId of top) {
    const res = await app.inject({ method: 'PUT', headers: ADMIN_HEADERS, url: `/v1/items/${itemId}/availability`, payload: { available: false } })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().available, false)
  }
  assert.equal((await app.inject({ url: `/v1/items/${top[0]}` })).json().available, false)
  const after = await recommend()
  assert.equal(after.items.length, 10, 'the mask is applied while decoding: no gap in the result')
  assert.ok(!after.items.some((i: { itemId: string }) => top.includes(i.itemId)))
  assert.deepEqual(after.items.slice(0, 7).map((i: { itemId: string }) => i.itemId), before.items.slice(3).map((i: { itemId: string }) => i.itemId),
    'the other items keep their order and scores')
  for (let seed = 0; seed < 30; seed++) {
    const sampled = await recommend({ strategy: 'sample', seed, temperature: 2 })
    assert.ok(!sampled.items.some((i: { itemId: string }) => top.includes(i.itemId)), 'sampling never draws a hidden item')
  }
  const category = (await app.inject({ url: `/v1/items/${top[0]}` })).json().categories[0]
  const filtered = await recommend({ categories: [category], k: 50 })
  assert.ok(!filtered.items.some((i: { itemId: string }) => top.includes(i.itemId)), 'with a category filter too')
  const model = (await app.inject({ url: '/v1/model' })).json()
  assert.equal(model.catalogue.unavailable, 3)
  const bulk = await app.inject({ method: 'PUT', headers: ADMIN_HEADERS, url: '/v1/items/availability', payload: { items: [...top.map((itemId: string) => ({ itemId, available: true })), { itemId: 'nope', available: false }] } })
  assert.equal(bulk.statusCode, 200, bulk.body)
  assert.deepEqual({ updated: bulk.json().updated, unknownItemIds: bulk.json().unknownItemIds }, { updated: 3, unknownItemIds: ['nope'] })
  assert.ok(bulk.json().catalogueVersion > model.catalogue.version)
  assert.deepEqual((await recommend()).items.map((i: { itemId: string }) => i.itemId), before.items.map((i: { itemId: string }) => i.itemId))
  const metrics = (await app.inject({ url: '/metrics' })).body
  assert.match(metrics, /catalogue_items\{model="smoke",state="unavailable"\} 0/)
  assert.match(metrics, /catalogue_items\{model="smoke",state="available"\} 1682/)
  assert.equal((await app.inject({ method: 'PUT', headers: ADMIN_HEADERS, url: '/v1/items/nope/availability', payload: { available: false } })).statusCode, 404)
})

test('when fewer allowed items remain than k, all of them and nothing else', async (t) => {
  const { app } = await build(t, ADMIN_ENV)
  const drama = (await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: HISTORY, k: 100, categories: ['Film-Noir'] } })).json().items
  const keep = drama.slice(0, 2).map((i: { itemId: string }) => i.itemId)
  const hide = drama.slice(2).map((i: { itemId: string }) => ({ itemId: i.itemId, available: false }))
  assert.equal((await app.inject({ method: 'PUT', headers: ADMIN_HEADERS, url: '/v1/items/availability', payload: { items: hide } })).statusCode, 200)
  const left = (await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: HISTORY, k: 10, categories: ['Film-Noir'] } })).json().items
  assert.deepEqual(left.map((i: { itemId: string }) => i.itemId).sort(), [...keep].sort())
})

test('writes need an admin key once keys are configured', async (t) => {
  const { app } = await build(t, { API_KEYS: '0123456789abcdef0123', ...ADMIN_ENV })
  const put = async (headers: Record<string, string>) => await app.inject({ method: 'PUT', url: '/v1/items/1/availability', payload: { available: false }, headers })
  assert.equal((await put({ 'x-api-key': '0123456789abcdef0123' })).statusCode, 401)
  assert.equal((await put({ 'x-api-key': ADMIN_KEY })).statusCode, 200)
})

test('two service processes on one Redis: a change made through one applies on the other within a second, and survives restarts', async (t) => {
  const redis = new RedisServer(await freePort())
  await redis.start()
  t.after(async () => { await redis.stop() })
  const env = { REDIS_URL: redis.url, LOG_LEVEL: 'warn', ...ADMIN_ENV }
  const [a, b] = await Promise.all([startServer(env, t), startServer(env, t)])
  const recommend = async (base: string) => (await (await fetch(`${base}/v1/recommendations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ history: HISTORY, k: 5 }) })).json()).items.map((i: { itemId: string }) => i.itemId)
  const top = (await recommend(b.base))[0]
  const started = Date.now()
  const res = await fetch(`${a.base}/v1/items/${top}/availability`, { method: 'PUT', headers: { 'content-type': 'application/json', ...ADMIN_HEADERS }, body: JSON.stringify({ available: false }) })
  assert.equal(res.status, 200)
  assert.ok(!(await recommend(a.base)).includes(top), 'at once on the replica that made the change')
  let seenAfter = -1
  while (Date.now() - started < 3000) {
    if (!(await recommend(b.base)).includes(top)) { seenAfter = Date.now() - started; break }
    await sleep(50)
  }
  t.diagnostic(`applied on the other replica after ${seenAfter} ms`)
  assert.ok(seenAfter >= 0 && seenAfter <= 1000, `the other replica applied it after ${seenAfter} ms`)
  const c = await startServer(env, t)
  assert.equal((await (await fetch(`${c.base}/v1/items/${top}`)).json()).available, false, 'a new replica starts with the shared state')
  assert.ok(!(await recommend(c.base)).includes(top))
  // a new item added through one replica: recommendable on the other within a second, and on a new replica at start-up
  const post = await fetch(`${a.base}/v1/items`, { method: 'POST', headers: { 'content-type': 'application/json', ...ADMIN_HEADERS }, body: JSON.stringify({ itemId: 'shared-new', title: 'A Film Nobody Has Seen', categories: ['Only-Here'] }) })
  assert.equal(post.status, 201)
  const only = async (base: string) => (await (await fetch(`${base}/v1/recommendations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ history: HISTORY, k: 3, categories: ['Only-Here'] }) })).json())
  const addedAt = Date.now()
  let seen = false
  while (!seen && Date.now() - addedAt < 3000) { seen = (await only(b.base)).items?.[0]?.itemId === 'shared-new'; if (!seen) await sleep(50) }
  assert.ok(seen && Date.now() - addedAt <= 1000, `the other replica added it after ${Date.now() - addedAt} ms`)
  const d = await startServer(env, t)
  assert.equal((await (await fetch(`${d.base}/v1/items/shared-new`)).json()).source, 'added')
  const store = await connectRedisStore(redis.url)
  t.after(async () => { await store.close() })
  const state = await store.catalogueState()
  assert.deepEqual(state.hidden, [top])
  assert.deepEqual(state.added.map(i => i.itemId), ['shared-new'])
})

test('a new item gets the semantic ID its content gives, is recommendable at once, and can be changed and removed', async (t) => {
  const { app, recommender } = await build(t, ADMIN_ENV)
  const encoder = ContentEncoder.load(recommender.files.tokenizer!.json, recommender.files.tokenizer!.arrays)
  const content = { title: 'Space Cowboys Return (2026)', categories: ['Sci-Fi', 'Western', 'Brand-New Genre'] }
  const added = await app.inject({ method: 'POST', headers: ADMIN_HEADERS, url: '/v1/items', payload: { itemId: 'new-1', ...content } })
  assert.equal(added.statusCode, 201, added.body)
  const [placed] = added.json().models
  const prefix = encoder.encode(itemText(content))
  assert.deepEqual(placed.semanticId.slice(0, -1), prefix)
  const item = (await app.inject({ url: '/v1/items/new-1' })).json()
  assert.deepEqual({ source: item.source, available: item.available, semanticId: item.semanticId }, { source: 'added', available: true, semanticId: placed.semanticId })
  assert.deepEqual((await app.inject({ url: '/v1/items?source=added' })).json().items.map((i: { itemId: string }) => i.itemId), ['new-1'])
  const recs = (await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: HISTORY, k: 5, categories: ['Brand-New Genre'] } })).json()
  assert.deepEqual(recs.items.map((i: { itemId: string, source: string }) => [i.itemId, i.source]), [['new-1', 'added']], 'in the trie, and the only item of its category')
  const sampled = (await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: HISTORY, k: 5, strategy: 'sample', categories: ['Brand-New Genre'] } })).json()
  assert.deepEqual(sampled.items.map((i: { itemId: string }) => i.itemId), ['new-1'])
  assert.equal((await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: ['new-1'], k: 3 } })).json().historyLength, 1, 'known in histories too')

  // the same content again: the same prefix, the next free last code
  const twin = (await app.inject({ method: 'POST', headers: ADMIN_HEADERS, url: '/v1/items', payload: { itemId: 'new-2', ...content } })).json()
  assert.deepEqual(twin.models[0].semanticId.slice(0, -1), prefix)
  assert.notEqual(twin.models[0].semanticId.at(-1), placed.semanticId.at(-1))

  assert.equal((await app.inject({ method: 'POST', headers: ADMIN_HEADERS, url: '/v1/items', payload: { itemId: 'new-1', title: 'again' } })).json().code, 'item_exists')
  assert.equal((await app.inject({ method: 'POST', headers: ADMIN_HEADERS, url: '/v1/items', payload: { itemId: '1', title: 'Toy Story' } })).json().code, 'item_exists')
  assert.equal((await app.inject({ method: 'DELETE', headers: ADMIN_HEADERS, url: '/v1/items/1' })).json().code, 'item_exists')

  const changed = await app.inject({ method: 'PUT', headers: ADMIN_HEADERS, url: '/v1/items/new-1', payload: { title: 'A Quiet Documentary About Bees', categories: ['Documentary'] } })
  assert.equal(changed.statusCode, 200, changed.body)
  assert.deepEqual(changed.json().models[0].semanticId.slice(0, -1), encoder.encode('A Quiet Documentary About Bees Documentary'))
  assert.deepEqual((await app.inject({ url: '/v1/items/new-1' })).json().categories, ['Documentary'])
  assert.equal((await app.inject({ method: 'DELETE', headers: ADMIN_HEADERS, url: '/v1/items/new-1' })).statusCode, 204)
  assert.equal((await app.inject({ url: '/v1/items/new-1' })).statusCode, 404)
  assert.equal((await app.inject({ method: 'DELETE', headers: ADMIN_HEADERS, url: '/v1/items/new-1' })).statusCode, 404)
  assert.equal((await app.inject({ method: 'PUT', headers: ADMIN_HEADERS, url: '/v1/items/new-1', payload: { title: 'x' } })).statusCode, 404)
})

test('when a prefix has no free last code, a new item takes the nearest prefix with one; refused when none is left', async (t) => {
  const { app, recommender } = await build(t, ADMIN_ENV)
  const content = { title: 'Toy Story (1995)', categories: ['Animation', "Children's", 'Comedy'] }
  const encoder = ContentEncoder.load(recommender.files.tokenizer!.json, recommender.files.tokenizer!.arrays)
  const candidates = encoder.candidates(itemText(content))!
  const levels = recommender.manifest.semanticIds.levels
  const placed: number[][] = []
  let refused
  for (let i = 0; i < 2000 && refused === undefined; i++) {
    const res = await app.inject({ method: 'POST', headers: ADMIN_HEADERS, url: '/v1/items', payload: { itemId: `same-${i}`, ...content } })
    if (res.statusCode === 201) placed.push(res.json().models[0].semanticId)
    else refused = res
  }
  assert.ok(refused !== undefined, 'the candidate prefixes never filled up')
  assert.equal(refused.statusCode, 409)
  assert.equal(refused.json().code, 'item_not_placed')
  assert.deepEqual(refused.json().details.models, { smoke: 'prefix_full' })
  // the encoder's own prefix first, then the others in the encoder's order, each filled before the next
  const prefixes = [...new Set(placed.map(id => id.slice(0, levels - 1).join(',')))]
  const expected = [...candidates.last].map(code => [...candidates.head, code].join(','))
  assert.deepEqual(prefixes, expected.filter(p => prefixes.includes(p)))
  assert.equal(prefixes[0], encoder.encode(itemText(content)).join(','))
  assert.ok(prefixes.length > 1, 'items spilled over to the next prefix')
  const free = expected.reduce((n, p) => n + recommender.manifest.semanticIds.codebookSizes.at(-1)! -
    recommender.exported.items.filter(item => item.semanticId.slice(0, levels - 1).join(',') === p).length, 0)
  assert.equal(placed.length, free, 'every free last code of every candidate prefix was used')
})

test('an item without a word the content encoder knows is refused (it would land wherever an empty text does), and so is the id of the bulk route', async (t) => {
  const { app } = await build(t, ADMIN_ENV)
  const reserved = await app.inject({ method: 'POST', headers: ADMIN_HEADERS, url: '/v1/items', payload: { itemId: 'availability', title: 'Toy Story' } })
  assert.equal(reserved.statusCode, 400, 'the id of the bulk route cannot be an added item')
  assert.equal(reserved.json().details.field, 'body.itemId')
  for (const payload of [{ itemId: 'empty' }, { itemId: 'blank', title: '   ' }, { itemId: 'unknown', title: 'zzqx qqzv' }]) {
    const res = await app.inject({ method: 'POST', headers: ADMIN_HEADERS, url: '/v1/items', payload })
    assert.equal(res.statusCode, 409, res.body)
    assert.deepEqual(res.json().details.models, { smoke: 'no_known_words' }, payload.itemId)
  }
})

test('adding items under load drops no request', async (t) => {
  const { port } = await listen(t, ADMIN_ENV)
  let stop = false
  const statuses = new Map<number, number>()
  const load = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const res = await raw(port, 'POST', '/v1/recommendations', {}, JSON.stringify({ history: HISTORY, k: 10 }))
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    }
  })
  const genres = ['Action', 'Adventure', 'Animation', 'Comedy', 'Crime', 'Documentary', 'Drama', 'Fantasy', 'Film-Noir', 'Horror', 'Musical', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller']
  for (let i = 0; i < 15; i++) {
    const res = await raw(port, 'POST', '/v1/items', ADMIN_HEADERS, JSON.stringify({ itemId: `live-${i}`, title: `${genres[i]} ${genres[(i + 5) % 15]} Story`, categories: [genres[i]] }))
    assert.equal(res.status, 201, res.body)
    assert.equal((await raw(port, 'PUT', `/v1/items/live-${i}/availability`, ADMIN_HEADERS, JSON.stringify({ available: i % 2 === 0 }))).status, 200)
  }
  stop = true
  await Promise.all(load)
  assert.deepEqual([...statuses.keys()], [200], JSON.stringify(Object.fromEntries(statuses)))
})

test('every shipped model places a new item (the README\'s for Beauty), which a category filter then finds', async (t) => {
  const film = { itemId: 'NEW-0001', title: 'Toy Story 3 (2010)', categories: ['Animation', "Children's", 'Comedy'] }
  const items = {
    'beauty-gflowgr': { itemId: 'NEW-0001', title: 'Matte Liquid Lipstick, Berry', brand: 'Acme', categories: ['Makeup', 'Lips', 'Lipstick'] },
    'ml1m-gflowgr': film,
    'ml-100k-gflowgr': film
  }
  for (const [name, item] of Object.entries(items)) {
    const { app } = await build(t, { ...ADMIN_ENV, MODEL_DIR: `models/${name}` })
    const res = await app.inject({ method: 'POST', url: '/v1/items', headers: ADMIN_HEADERS, payload: item })
    assert.equal(res.statusCode, 201, `${name}: ${res.body}`)
    assert.equal(res.json().models[0].semanticId.length, (await app.inject({ url: '/v1/model' })).json().semanticIds.levels)
    const added = (await app.inject({ url: '/v1/items?source=added' })).json()
    assert.deepEqual(added.items.map((i: { itemId: string }) => i.itemId), ['NEW-0001'])
  }
  const { app } = await build(t, { ...ADMIN_ENV, MODEL_DIR: 'models/beauty-gflowgr' })
  await app.inject({ method: 'POST', url: '/v1/items', headers: ADMIN_HEADERS, payload: { itemId: 'NEW-0001', title: 'Acme Berry', categories: ['Acme Only'] } })
  const found = (await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: ['B00150LT40'], k: 5, categories: ['Acme Only'] } })).json()
  assert.deepEqual(found.items.map((i: { itemId: string }) => i.itemId), ['NEW-0001'], 'the only item of its category is reachable in the trie')
})
