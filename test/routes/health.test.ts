import { test } from 'node:test'
import assert from 'node:assert/strict'
import { build } from '../helper.js'

test('health, readiness and metrics', async (t) => {
  const { app } = await build(t)
  assert.deepEqual((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' })
  const ready = (await app.inject({ method: 'GET', url: '/readyz' })).json()
  assert.equal(ready.status, 'ready')
  assert.equal(ready.checks['model:smoke'], '0.1.0, workers 1/1')
  assert.equal(ready.checks.historyStore, 'memory: ok')
  await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history: ['1'] } })
  const metrics = await app.inject({ method: 'GET', url: '/metrics' })
  assert.match(metrics.headers['content-type'] as string, /text\/plain/)
  assert.match(metrics.body, /http_request_duration_seconds_count\{method="POST",route="\/v1\/recommendations",status="200"\} 1/)
  assert.match(metrics.body, /inference_queue_depth\{model="smoke"\} 0/)
  assert.match(metrics.body, /recommendations_total\{model="smoke",version="0.1.0",strategy="beam"\} 1/)
})
