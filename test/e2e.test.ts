// End to end: the real server process on a free port, its OpenAPI document, and the Swagger UI page
// rendering its operations in headless Chromium.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { FIXTURE_MODEL, freePort } from './helper.js'

const server = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'server.js')
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
let child: ChildProcess
let base: string
let logs = ''

before(async () => {
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  child = spawn(process.execPath, [server], { env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', MODEL_DIR: FIXTURE_MODEL, WORKERS: '1', REDIS_URL: '' } })
  child.stdout!.on('data', (d: Buffer) => { logs += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { logs += d.toString() })
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return
    } catch {}
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`server did not become ready:\n${logs}`)
})

after(async () => {
  await new Promise<void>(resolve => { child.once('exit', () => resolve()); child.kill('SIGTERM') })
})

test('the listening server answers, logs JSON with request ids, and shuts down gracefully', async () => {
  const res = await fetch(`${base}/v1/recommendations`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'e2e-1' }, body: JSON.stringify({ history: ['1', '2'], k: 3 }) })
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('x-request-id'), 'e2e-1')
  assert.equal((await res.json()).items.length, 3)
  const line = logs.split('\n').find(l => l.includes('"reqId":"e2e-1"'))
  assert.ok(line !== undefined && JSON.parse(line).level >= 30)
  assert.match(logs, /history store: in-memory/)
})

test('the OpenAPI document describes every route with schemas', async () => {
  const doc = await (await fetch(`${base}/docs/json`)).json()
  assert.equal(doc.openapi, '3.0.3')
  for (const route of ['/v1/recommendations', '/v1/users/{userId}/recommendations', '/v1/users/{userId}/events', '/v1/users/{userId}/history',
    '/v1/items/{itemId}', '/v1/items', '/v1/model', '/healthz', '/readyz', '/metrics']) {
    assert.ok(route in doc.paths, `${route} missing`)
  }
  const post = doc.paths['/v1/recommendations'].post
  assert.deepEqual(post.tags, ['recommendations'])
  assert.ok(post.requestBody.content['application/json'].schema.properties.k)
  assert.ok(post.responses['200'] && post.responses['400'] && post.responses['503'])
})

test('Swagger UI renders the operations in a real browser', async () => {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  try {
    const page = await browser.newPage()
    await page.goto(`${base}/docs`)
    await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 })
    const paths = await page.$$eval('.opblock-summary-path', nodes => nodes.map(n => n.textContent?.replace(/\u200b/g, '').trim()))
    assert.ok(paths.includes('/v1/recommendations'), paths.join(','))
    assert.ok(paths.includes('/v1/users/{userId}/events'))
    assert.match(await page.title(), /Swagger UI/)
  } finally {
    await browser.close()
  }
})
