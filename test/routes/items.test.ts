import { test } from 'node:test'
import assert from 'node:assert/strict'
import { build } from '../helper.js'

test('items can be looked up and searched', async (t) => {
  const { app } = await build(t)
  const item = (await app.inject({ method: 'GET', url: '/v1/items/1' })).json()
  assert.equal(item.title, 'Toy Story (1995)')
  assert.equal(item.semanticId.length, 3)
  const missing = await app.inject({ method: 'GET', url: '/v1/items/nope' })
  assert.equal(missing.statusCode, 404)
  assert.equal(missing.json().code, 'item_not_found')
  const found = (await app.inject({ method: 'GET', url: '/v1/items?q=star%20wars&limit=5' })).json()
  assert.ok(found.items.length >= 1 && found.items.every((i: { title: string }) => /star wars/i.test(i.title)))
  assert.equal(found.total, 1682)
  assert.equal((await app.inject({ method: 'GET', url: '/v1/items?limit=1000' })).statusCode, 400)
})
