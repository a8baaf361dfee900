// The typed client (clients/typescript): its types are generated from the committed openapi.json, and it
// talks to the real service with no hand-written HTTP code.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import openapiTS, { astToString } from 'openapi-typescript'
import { createRecommenderClient } from '../../clients/typescript/src/index.js'
// @ts-expect-error: a plain .mjs module shared with scripts/openapi.mjs
import { CLIENT_TYPES_OPTIONS } from '../../../clients/typescript/generate-options.mjs'
import { listen } from '../helper.js'

test('src/schema.ts is what openapi-typescript makes of the committed openapi.json', async () => {
  const root = process.cwd()
  const generated = astToString(await openapiTS(pathToFileURL(path.join(root, 'openapi.json')), CLIENT_TYPES_OPTIONS))
  const committed = readFileSync(path.join(root, 'clients', 'typescript', 'src', 'schema.ts'), 'utf8')
  const strip = (text: string) => text.replace(/^\/\*\*[\s\S]*?\*\/\s*/, '').trim()
  assert.equal(strip(committed), strip(generated), 'the client types are stale: run npm run openapi')
})

test('the client records events, recommends, reads and forgets a history, and surfaces errors typed', async (t) => {
  const { base } = await listen(t, { API_KEYS: '0123456789abcdef0123' })
  const api = createRecommenderClient({ baseUrl: base, apiKey: '0123456789abcdef0123' })
  const recorded = await api.POST('/v1/users/{userId}/events', { params: { path: { userId: 'client-1' } }, body: { events: [{ itemId: '1' }, { itemId: '2', type: 'view' }] } })
  assert.equal(recorded.data?.accepted, 2)
  assert.equal(recorded.data?.eventIds.length, 2)
  const recs = await api.GET('/v1/users/{userId}/recommendations', { params: { path: { userId: 'client-1' }, query: { k: 4, categories: ['Drama', 'Comedy'] } } })
  assert.equal(recs.response.status, 200)
  assert.equal(recs.data?.items.length, 4)
  assert.ok(recs.data!.items.every(i => i.categories.includes('Drama') || i.categories.includes('Comedy')))
  const post = await api.POST('/v1/recommendations', { body: { userId: 'client-1', k: 4, categories: ['Drama', 'Comedy'] } })
  assert.deepEqual(post.data?.items.map(i => i.itemId), recs.data?.items.map(i => i.itemId))
  const bad = await api.POST('/v1/recommendations', { body: { k: 1000 } })
  assert.equal(bad.response.status, 400)
  assert.equal(bad.error?.code, 'validation_error')
  assert.equal(bad.error?.details?.field, 'body.k')
  assert.equal((await api.DELETE('/v1/users/{userId}/history', { params: { path: { userId: 'client-1' } } })).response.status, 204)
  const gone = await api.GET('/v1/users/{userId}/history', { params: { path: { userId: 'client-1' } } })
  assert.equal(gone.error?.code, 'user_not_found')
  const anonymous = createRecommenderClient({ baseUrl: base })
  assert.equal((await anonymous.GET('/v1/model')).error?.code, 'unauthorized')
})

test('npm pack makes an installable package: built JavaScript and types, importable, talking to the service', async (t) => {
  const root = process.cwd()
  const out = path.join(root, 'dist', 'packed-client') // inside the repository, so that openapi-fetch resolves from node_modules
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  execFileSync('npm', ['pack', '--pack-destination', out], { cwd: path.join(root, 'clients', 'typescript'), stdio: 'pipe' })
  const tarball = readdirSync(out).find(f => f.endsWith('.tgz'))!
  execFileSync('tar', ['xzf', tarball], { cwd: out })
  const pkg = path.join(out, 'package')
  for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/schema.d.ts', 'README.md']) assert.ok(existsSync(path.join(pkg, file)), `${file} is not in the package`)
  const { createRecommenderClient: create } = await import(pathToFileURL(path.join(pkg, 'dist', 'index.js')).href)
  const { base } = await listen(t)
  const { data } = await create({ baseUrl: base }).GET('/v1/items/{itemId}', { params: { path: { itemId: '1' } } })
  assert.equal(data.title, 'Toy Story (1995)')
})
