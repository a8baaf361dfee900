// The server process: graceful shutdown on SIGTERM.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { SHIPPED_MODELS, modelCopy, setVersion, startServer } from './helper.js'

const BEAUTY = path.join(SHIPPED_MODELS, 'beauty-gflowgr')

test('SIGTERM answers the requests in flight, closes a slow client instead of waiting for it, and exits 0', async (t) => {
  const server = await startServer({ MODEL_DIR: BEAUTY, WORKERS: '1', SHUTDOWN_TIMEOUT_MS: '10000', REQUEST_TIMEOUT_MS: '60000' }, t)
  const history = readFileSync(path.join(BEAUTY, 'items.jsonl'), 'utf8').split('\n').slice(0, 3).map(l => JSON.parse(l).itemId as string)
  // a client that sends half a body and then nothing
  const slow = net.connect(server.port, '127.0.0.1')
  await new Promise(resolve => slow.once('connect', resolve))
  slow.write('POST /v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"history": [')
  const slowClosed = new Promise(resolve => { slow.once('close', resolve); slow.on('error', () => {}) })
  await new Promise(resolve => setTimeout(resolve, 100))
  // requests in flight when the signal arrives: heavy searches on the Beauty model, queued behind each other
  const inFlight = Array.from({ length: 8 }, async () => await fetch(`${server.base}/v1/recommendations`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ history, k: 100, beamWidth: 64 })
  }).then(async r => ({ status: r.status, body: await r.json() }), (e: Error) => ({ status: 0, body: e.message })))
  await new Promise(resolve => setTimeout(resolve, 150))
  const started = Date.now()
  server.child.kill('SIGTERM')
  await new Promise(resolve => setTimeout(resolve, 20))
  server.child.kill('SIGTERM') // an impatient orchestrator: a second signal must not kill the drain
  const code = await server.exited
  const elapsed = Date.now() - started
  assert.equal(code, 0, server.logs.slice(-2000))
  assert.ok(elapsed < 5000, `shutdown took ${elapsed} ms`)
  await slowClosed
  const results = await Promise.all(inFlight)
  for (const result of results) { // every request gets a whole answer: served, or refused in the error shape (draining, or admission)
    assert.ok(result.status === 200 || (result.status === 503 && ['shutting_down', 'overloaded'].includes(result.body.code)), JSON.stringify(result).slice(0, 300))
  }
  assert.ok(results.some(r => r.status === 200), 'the requests in flight were answered')
})

test('batches that outlive INFERENCE_TIMEOUT_MS answer 503 inference_timeout and the process stays up and ready', async (t) => {
  // beam 1024: every search takes several times 20 ms, however quiet the machine (beam 64 and even 256 sometimes
  // finished within 20 ms on a quiet one)
  const server = await startServer({ MODEL_DIR: BEAUTY, WORKERS: '2', INFERENCE_TIMEOUT_MS: '20', MAX_BEAM_WIDTH: '1024' }, t)
  const history = readFileSync(path.join(BEAUTY, 'items.jsonl'), 'utf8').split('\n').slice(0, 3).map(l => JSON.parse(l).itemId as string)
  const post = async () => await fetch(`${server.base}/v1/recommendations`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ history, k: 100, beamWidth: 1024 })
  })
  const infinite = async () => await fetch(`${server.base}/v1/users/u1/recommendations?k=100&beamWidth=Infinity`)
  const codes = new Set<string>()
  for (let round = 0; round < 3; round++) {
    const responses = await Promise.all([...Array.from({ length: 4 }, post), ...Array.from({ length: 8 }, infinite)])
    for (const res of responses) {
      const body = await res.json()
      assert.ok([200, 400, 503].includes(res.status), `${res.status} ${JSON.stringify(body)}`)
      if (res.status === 503) codes.add(body.code)
      if (res.status === 400) assert.equal(body.details.field, 'query.beamWidth')
    }
  }
  assert.ok(codes.has('inference_timeout'), [...codes].join())
  assert.ok([...codes].every(c => c === 'inference_timeout' || c === 'overloaded'), [...codes].join())
  assert.equal(server.child.exitCode, null, server.logs.slice(-2000))
  assert.equal((await fetch(`${server.base}/readyz`)).status, 200)
  assert.doesNotMatch(server.logs, /terminate called|Napi::Error/)
})

test('SIGHUP reloads the models from their directories without a restart', async (t) => {
  const dir = modelCopy()
  const server = await startServer({ MODELS: `main=${dir}`, MODEL_DIR: '' }, t)
  assert.equal((await (await fetch(`${server.base}/v1/model`)).json()).version, '0.1.0')
  setVersion(dir, '0.9.0')
  server.child.kill('SIGHUP')
  let version = ''
  for (let i = 0; i < 100 && version !== '0.9.0'; i++) {
    await new Promise(resolve => setTimeout(resolve, 100))
    version = (await (await fetch(`${server.base}/v1/model`)).json()).version
  }
  assert.equal(version, '0.9.0')
  assert.equal(server.child.exitCode, null)
  assert.match(server.logs, /model reloaded/)
})
