// Several models side by side, A/B split by user, and swapping a model without a restart.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { sha256File } from '../../src/model/manifest.js'
import { ADMIN_ENV, ADMIN_HEADERS, ADMIN_KEY, FIXTURE_MODEL, SHIPPED_MODELS, build, int8Copy, listen, modelCopy, raw, setVersion } from '../helper.js'

const ML100K = path.join(SHIPPED_MODELS, 'ml-100k-gflowgr')

test('A/B: users are split between models in proportion to the weights, always the same model for a user; a request may name its model', async (t) => {
  const { app } = await build(t, { MODELS: `a=${FIXTURE_MODEL},b=${ML100K},c=${FIXTURE_MODEL}`, MODEL_SPLIT: 'a:3,b:1,c:0' })
  const served = async (payload: object) => (await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: ['1', '2'], k: 3, ...payload } })).json().model.name
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 }
  for (let u = 0; u < 800; u++) counts[await served({ userId: `user-${u}` })]++
  assert.equal(counts.c, 0, 'weight 0: never')
  assert.ok(Math.abs(counts.a / 800 - 0.75) < 0.05, JSON.stringify(counts))
  for (let u = 0; u < 20; u++) assert.equal(await served({ userId: `user-${u}` }), await served({ userId: `user-${u}` }), 'stable per user')
  assert.equal(await served({}), 'a', 'anonymous requests go to the default model')
  assert.equal(await served({ userId: 'user-1', model: 'c' }), 'c')
  const viaGet = (await app.inject({ url: '/v1/users/user-1/recommendations?model=b' })).json()
  assert.equal(viaGet.model.name, 'b')
  const unknown = await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { model: 'zzz' } })
  assert.equal(unknown.statusCode, 404)
  assert.equal(unknown.json().code, 'model_not_found')
  const list = (await app.inject({ url: '/v1/models' })).json()
  assert.deepEqual(list.models.map((m: { name: string }) => m.name), ['a', 'b', 'c'])
  assert.deepEqual(list.split, [{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }, { name: 'c', weight: 0 }])
  assert.equal((await app.inject({ url: '/v1/items/50?model=b' })).json().title, 'Star Wars (1977)')
  const metrics = (await app.inject({ url: '/metrics' })).body
  assert.match(metrics, /recommendations_total\{model="b",version="[^"]+",strategy="beam"\} \d+/)
})

test('a reload swaps in the new version after checking it; a model that cannot load or fails parity is refused and the old one keeps serving', async (t) => {
  const dir = modelCopy()
  const { app } = await build(t, { MODELS: `main=${dir}`, ...ADMIN_ENV, API_KEYS: '0123456789abcdef0123' })
  const admin = ADMIN_HEADERS
  const version = async () => (await app.inject({ url: '/v1/model', headers: { 'x-api-key': '0123456789abcdef0123' } })).json().version
  assert.equal(await version(), '0.1.0')

  setVersion(dir, '0.2.0')
  const swapped = await app.inject({ method: 'POST', url: '/v1/admin/models/main/reload', headers: admin })
  assert.equal(swapped.statusCode, 200, swapped.body)
  assert.equal(swapped.json().previousVersion, '0.1.0')
  assert.equal(swapped.json().model.version, '0.2.0')
  assert.ok(swapped.json().parity.requests >= 50 && swapped.json().parity.worstScoreDifference < 1e-3)
  assert.equal(await version(), '0.2.0')

  // a model that does not load (a file changed under its checksum)
  setVersion(dir, '0.3.0')
  writeFileSync(path.join(dir, 'decoder.onnx'), Buffer.concat([readFileSync(path.join(dir, 'decoder.onnx')), Buffer.from([0])]))
  const broken = await app.inject({ method: 'POST', url: '/v1/admin/models/main/reload', headers: admin })
  assert.equal(broken.statusCode, 422)
  assert.equal(broken.json().code, 'model_rejected')
  assert.equal(broken.json().details.reason, 'load')
  assert.equal(await version(), '0.2.0', 'the old model keeps serving')

  // a model that loads but answers differently from its parity vectors
  cpSync(path.join(FIXTURE_MODEL, 'decoder.onnx'), path.join(dir, 'decoder.onnx'))
  const parityFile = path.join(dir, 'parity.jsonl')
  const vectors = readFileSync(parityFile, 'utf8').trim().split('\n').map(l => JSON.parse(l))
  vectors[0].itemIds.reverse()
  writeFileSync(parityFile, vectors.map(v => JSON.stringify(v)).join('\n') + '\n')
  const manifestFile = path.join(dir, 'manifest.json')
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'))
  manifest.parity.sha256 = sha256File(parityFile)
  writeFileSync(manifestFile, JSON.stringify(manifest))
  const differs = await app.inject({ method: 'POST', url: '/v1/admin/models/main/reload', headers: admin })
  assert.equal(differs.statusCode, 422, differs.body)
  assert.equal(differs.json().details.reason, 'parity')
  assert.equal(await version(), '0.2.0')

  assert.equal((await app.inject({ method: 'POST', url: '/v1/admin/models/nope/reload', headers: admin })).json().code, 'model_not_found')
})

test('a model with int8 weights reloads: its parity vectors are checked one request per batch, as they were made', async (t) => {
  const dir = await int8Copy(FIXTURE_MODEL)
  const { app } = await build(t, { MODELS: `main=${dir}`, ...ADMIN_ENV })
  const reloaded = await app.inject({ method: 'POST', url: '/v1/admin/models/main/reload', headers: ADMIN_HEADERS })
  assert.equal(reloaded.statusCode, 200, reloaded.body)
  assert.equal(reloaded.json().model.version, '0.1.0+int8')
})

test('admin routes need an admin key: API keys do not open them, and without ADMIN_API_KEYS they are off', async (t) => {
  const withAdmin = await build(t, { API_KEYS: '0123456789abcdef0123', ...ADMIN_ENV })
  const url = '/v1/admin/events'
  assert.equal((await withAdmin.app.inject({ url })).statusCode, 401)
  assert.equal((await withAdmin.app.inject({ url, headers: { 'x-api-key': '0123456789abcdef0123' } })).statusCode, 401)
  assert.equal((await withAdmin.app.inject({ url, headers: ADMIN_HEADERS })).statusCode, 200)
  assert.equal((await withAdmin.app.inject({ url: '/v1/model', headers: ADMIN_HEADERS })).statusCode, 401, 'an admin key is not an API key')
  const apiOnly = await build(t, { API_KEYS: '0123456789abcdef0123' })
  const off = await apiOnly.app.inject({ url, headers: { 'x-api-key': '0123456789abcdef0123' } })
  assert.equal(off.statusCode, 403)
  assert.equal(off.json().code, 'forbidden')
  const none = await build(t)
  assert.equal((await none.app.inject({ url })).statusCode, 403, 'no keys at all: the rest is open for development, admin routes stay off')
  assert.equal((await none.app.inject({ method: 'PUT', url: '/v1/items/1/availability', payload: { available: false } })).statusCode, 403)
  const adminOnly = await build(t, ADMIN_ENV)
  assert.equal((await adminOnly.app.inject({ url })).statusCode, 401)
  assert.equal((await adminOnly.app.inject({ url, headers: ADMIN_HEADERS })).statusCode, 200)
  assert.equal((await adminOnly.app.inject({ url: '/v1/model' })).statusCode, 200, 'ADMIN_API_KEYS alone does not close the public API')
})

test('ten swaps under load: no request fails, and the answers move to the new versions', async (t) => {
  const dir = modelCopy()
  const { port } = await listen(t, { MODELS: `main=${dir}`, WORKERS: '1', ...ADMIN_ENV })
  let stop = false
  const statuses = new Map<number, number>()
  const versions = new Set<string>()
  const client = async (c: number) => {
    for (let i = 0; !stop; i++) {
      const res = await raw(port, 'POST', '/v1/recommendations', {}, JSON.stringify({ userId: `load-${c}`, history: [String(1 + (i % 50)), '2'], k: 10, beamWidth: 20 }))
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      if (res.status === 200) versions.add(res.json().model.version)
    }
  }
  const load = Array.from({ length: 6 }, async (_, c) => await client(c))
  for (let swap = 1; swap <= 10; swap++) {
    setVersion(dir, `1.0.${swap}`)
    const res = await raw(port, 'POST', '/v1/admin/models/main/reload', ADMIN_HEADERS)
    assert.equal(res.status, 200, res.body)
    assert.equal(res.json().model.version, `1.0.${swap}`)
  }
  await new Promise(resolve => setTimeout(resolve, 200))
  stop = true
  await Promise.all(load)
  t.diagnostic(`statuses ${JSON.stringify(Object.fromEntries(statuses))}, versions ${[...versions].join(' ')}`)
  assert.deepEqual([...statuses.keys()], [200], JSON.stringify(Object.fromEntries(statuses)))
  assert.ok((statuses.get(200) ?? 0) > 100)
  assert.ok(versions.has('1.0.10') && versions.size >= 3, [...versions].join())
})
