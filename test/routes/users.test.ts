import { test } from 'node:test'
import assert from 'node:assert/strict'
import { build } from '../helper.js'

test('events append to the history once per eventId', async (t) => {
  const { app } = await build(t)
  const post = async (payload: object) => await app.inject({ method: 'POST', url: '/v1/users/u7/events', payload })
  assert.deepEqual((await post({ itemId: '1', eventId: 'e1', type: 'view' })).json(), { accepted: 1, duplicates: 0, historyLength: 1, eventIds: ['e1'], unknownItemIds: [] })
  const second = (await post({ events: [{ itemId: '1', eventId: 'e1' }, { itemId: 'zzz' }] })).json()
  assert.deepEqual({ ...second, eventIds: undefined }, { accepted: 1, duplicates: 1, historyLength: 2, eventIds: undefined, unknownItemIds: ['zzz'] })
  assert.equal(second.eventIds[0], 'e1')
  assert.match(second.eventIds[1], /^[0-9a-f-]{36}$/, 'the service makes an eventId when the client sends none')
  // a retry with the returned ids is safe
  assert.deepEqual((await post({ events: [{ itemId: 'zzz', eventId: second.eventIds[1] }] })).json().duplicates, 1)
  const history = (await app.inject({ method: 'GET', url: '/v1/users/u7/history' })).json()
  assert.deepEqual(history.events.map((e: { itemId: string }) => e.itemId), ['1', 'zzz'])
  assert.equal(history.events[0].type, 'view')
  assert.equal(history.events[1].type, 'interaction')
  assert.equal(history.events[1].eventId, second.eventIds[1])
  assert.ok(!Number.isNaN(Date.parse(history.events[1].timestamp)))
  const bad = await post({ itemId: '1', timestamp: 'yesterday' })
  assert.equal(bad.statusCode, 400)
})

test('PUT replaces, DELETE forgets, unknown users are 404', async (t) => {
  const { app } = await build(t)
  const put = await app.inject({ method: 'PUT', url: '/v1/users/u8/history', payload: { events: [{ itemId: '3' }, { itemId: '4' }] } })
  assert.equal(put.statusCode, 200)
  assert.deepEqual(put.json().events.map((e: { itemId: string }) => e.itemId), ['3', '4'])
  assert.equal((await app.inject({ method: 'DELETE', url: '/v1/users/u8/history' })).statusCode, 204)
  const missing = await app.inject({ method: 'GET', url: '/v1/users/u8/history' })
  assert.equal(missing.statusCode, 404)
  assert.equal(missing.json().code, 'user_not_found')
  assert.equal((await app.inject({ method: 'DELETE', url: '/v1/users/u8/history' })).statusCode, 404)
})
