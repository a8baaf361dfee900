import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Lifecycle } from '../../src/http/lifecycle.js'
import { assertErrorShape, build } from '../helper.js'

test('while draining, new requests get 503 shutting_down in the common shape and readiness turns 503', async (t) => {
  const { app, lifecycle } = await build(t)
  assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200)
  assert.notEqual((await app.inject({ url: '/v1/items/1' })).headers.connection, 'close')
  lifecycle.draining = true
  for (const url of ['/v1/items/1', '/readyz', '/healthz']) {
    const res = await app.inject({ url })
    assert.equal(res.statusCode, 503, url)
    assertErrorShape(503, res.headers, res.json(), url)
    assert.equal(res.json().code, 'shutting_down')
    assert.equal(res.headers['retry-after'], '1')
    assert.equal(res.headers.connection, 'close')
  }
})

test('drained() resolves when the last in-flight request settles, or reports a timeout', async () => {
  const lifecycle = new Lifecycle()
  assert.equal(await lifecycle.drained(10), true)
  lifecycle.inFlight = 2
  const done = lifecycle.drained(1000)
  lifecycle.settle()
  lifecycle.settle()
  assert.equal(await done, true)
  lifecycle.inFlight = 1
  assert.equal(await lifecycle.drained(20), false)
})
