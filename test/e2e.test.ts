// End to end: the real server process on a free port, driven through the typed client
// (clients/typescript), and Swagger UI in headless Chromium, served directly and behind a reverse proxy
// that maps /recs/* to the service.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium } from 'playwright-core'
import { createRecommenderClient } from '../clients/typescript/src/index.js'
import { startServer } from './helper.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
let server: Awaited<ReturnType<typeof startServer>>

before(async () => { server = await startServer({ LOG_LEVEL: 'info' }) })
after(async () => {
  server.child.kill('SIGTERM')
  assert.equal(await server.exited, 0)
})

test('the listening server answers the typed client, logs JSON with request ids, and keeps histories', async () => {
  const api = createRecommenderClient({ baseUrl: server.base, headers: { 'x-request-id': 'e2e-1' } })
  const recs = await api.POST('/v1/recommendations', { body: { history: ['1', '2'], k: 3 } })
  assert.equal(recs.response.status, 200)
  assert.equal(recs.response.headers.get('x-request-id'), 'e2e-1')
  assert.equal(recs.data?.items.length, 3)
  let line: string | undefined
  for (let i = 0; i < 50 && line === undefined; i++) { // the access log is written after the response
    line = server.logs.split('\n').find(l => l.includes('"reqId":"e2e-1"'))
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  assert.ok(line !== undefined && JSON.parse(line).level === 30, server.logs.slice(-500))
  assert.match(server.logs, /history store: in-memory/)

  const events = await api.POST('/v1/users/{userId}/events', { params: { path: { userId: 'e2e-user' } }, body: { events: [{ itemId: '50' }, { itemId: '100', type: 'view' }] } })
  assert.equal(events.data?.historyLength, 2)
  const history = await api.GET('/v1/users/{userId}/history', { params: { path: { userId: 'e2e-user' } } })
  assert.deepEqual(history.data?.events.map(e => e.itemId), ['50', '100'])
  const stored = await api.GET('/v1/users/{userId}/recommendations', { params: { path: { userId: 'e2e-user' }, query: { k: 5 } } })
  assert.equal(stored.data?.historySource, 'store')
  assert.ok(!stored.data!.items.some(i => ['50', '100'].includes(i.itemId)))
  const item = await api.GET('/v1/items/{itemId}', { params: { path: { itemId: '50' } } })
  assert.equal(item.data?.title, 'Star Wars (1977)')
  const model = await api.GET('/v1/model')
  assert.equal(model.data?.name, 'smoke')
})

/** A reverse proxy that serves the service under /recs, as an ingress with a path prefix would. */
async function prefixProxy (target: string, prefix: string): Promise<{ base: string, close: () => Promise<void> }> {
  const upstream = new URL(target)
  const proxy = http.createServer((req, res) => {
    if (!req.url!.startsWith(`${prefix}/`) && req.url !== prefix) { res.writeHead(404).end(); return }
    const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url!.slice(prefix.length) || '/', headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    req.pipe(forward)
  })
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
  return { base: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}${prefix}`, close: async () => { await new Promise(resolve => proxy.close(resolve)) } }
}

test('Swagger UI renders every operation in a real browser, directly and behind a path prefix, with or without a trailing slash', async () => {
  const proxy = await prefixProxy(server.base, '/recs')
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  try {
    for (const url of [`${server.base}/docs`, `${server.base}/docs/`, `${proxy.base}/docs`, `${proxy.base}/docs/`]) {
      const page = await browser.newPage()
      const failed: string[] = []
      const loaded: string[] = []
      page.on('response', r => { (r.ok() || r.status() === 302 ? loaded : failed).push(`${r.status()} ${r.url()}`) })
      page.on('requestfailed', r => failed.push(`failed ${r.url()}`))
      await page.goto(url)
      await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 })
      const paths = await page.$$eval('.opblock-summary-path', nodes => nodes.map(n => n.textContent?.replace(/\u200b/g, '').trim()))
      for (const route of ['/v1/recommendations', '/v1/users/{userId}/events', '/v1/users/{userId}/history', '/v1/items/{itemId}', '/v1/model', '/readyz']) {
        assert.ok(paths.includes(route), `${url}: ${route} missing from ${paths.join(',')}`)
      }
      assert.deepEqual(failed, [], url)
      assert.ok(loaded.filter(l => /\/static\//.test(l)).length >= 5, `${url}: ${loaded.join('\n')}`)
      assert.match(await page.title(), /Swagger UI/)
      // "Try it out" sends the request to this service, also behind the prefix
      await page.click('#operations-model-get_v1_model .opblock-summary')
      await page.click('#operations-model-get_v1_model .try-out__btn')
      await page.click('#operations-model-get_v1_model .execute')
      const status = await page.waitForSelector('#operations-model-get_v1_model .live-responses-table tbody .response-col_status', { timeout: 10_000 })
      assert.equal((await status.textContent())?.trim(), '200', url)
      const requestUrl = await page.$eval('#operations-model-get_v1_model .request-url pre', n => n.textContent)
      assert.equal(requestUrl, `${url.replace(/\/docs\/?$/, '')}/v1/model`)
      await page.close()
    }
  } finally {
    await browser.close()
    await proxy.close()
  }
})

test('Swagger UI draws sampled recommendations with "Try it out": POST with its sample example, GET with strategy sample picked', async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] })
  try {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', e => errors.push(String(e)))
    await page.goto(`${server.base}/docs/`)
    await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 })
    const execute = async (op: ReturnType<typeof page.locator>) => {
      await op.locator('button.execute').click()
      const status = op.locator('.live-responses-table tbody .response-col_status').first()
      await status.waitFor({ timeout: 10_000 })
      return { status: (await status.textContent())?.trim(), body: await op.locator('.live-responses-table .microlight').first().textContent() ?? '' }
    }
    const post = page.locator('#operations-recommendations-post_v1_recommendations')
    await post.locator('.opblock-summary').first().click()
    await post.locator('button.try-out__btn').click()
    await post.locator('select:has(option[value="sample"])').first().selectOption('sample')
    assert.match(await post.locator('textarea.body-param__text').inputValue(), /"strategy": "sample"/)
    const posted = await execute(post)
    assert.equal(posted.status, '200', posted.body.slice(0, 300))
    assert.match(posted.body, /"propensity"/)
    // the GET's strategy is a dropdown of both values (an anyOf of consts offered only the first), and a user id
    // with c or s passes the page's own check of the pattern (it read \p{Cc} without the u flag)
    const get = page.locator('#operations-recommendations-get_v1_users__userId__recommendations')
    await get.locator('.opblock-summary').first().click()
    await get.locator('button.try-out__btn').click()
    assert.deepEqual(await get.locator('tr[data-param-name="strategy"] select option').allTextContents(), ['--', 'beam', 'sample'])
    await get.locator('tr[data-param-name="strategy"] select').selectOption('sample')
    await get.locator('tr[data-param-name="userId"] input').fill('specific-customer')
    const got = await execute(get)
    assert.equal(got.status, '200', got.body.slice(0, 300))
    assert.match(got.body, /"propensity"/)
    assert.match(await get.locator('.request-url pre').textContent() ?? '', /\/v1\/users\/specific-customer\/recommendations\?.*strategy=sample.*temperature=1.*seed=7/)
    assert.deepEqual(errors, [])
  } finally {
    await browser.close()
  }
})
