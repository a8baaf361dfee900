import { test } from 'node:test'
import assert from 'node:assert/strict'
import { build } from '../helper.js'

test('GET /v1/model summarises the manifest and its metrics', async (t) => {
  const { app } = await build(t)
  const body = (await app.inject({ method: 'GET', url: '/v1/model' })).json()
  assert.equal(body.name, 'smoke')
  assert.equal(body.items, 1682)
  assert.deepEqual(body.semanticIds.codebookSizes.length, 3)
  assert.ok('gflowgr' in body.metrics)
})
