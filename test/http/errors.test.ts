// Every response with status >= 400, whoever raised it (router, body parser, HTTP parser, plugins,
// handlers), is { code, message, requestId, details? }; every code is in the README and in the OpenAPI
// document; internals never leak.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { ERROR_CODES } from '../../src/errors.js'
import { toHttpError } from '../../src/http/errors.js'
import { assertErrorShape, build, listen, raw } from '../helper.js'

test('router and body parser errors come in the common shape', async (t) => {
  const { port } = await listen(t, { MAX_ID_LENGTH: '128' })
  const cases: Array<[string, string, string | undefined, Record<string, string>, number, string]> = [
    ['GET', '/v1/users/bad%zz/history', undefined, {}, 400, 'bad_request'],
    ['GET', '/v1/items/%E0%A4%A', undefined, {}, 400, 'bad_request'],
    ['POST', '/v1/recommendations', '{"k":', {}, 400, 'bad_request'],
    ['POST', '/v1/recommendations', '', { 'content-type': 'application/json' }, 400, 'bad_request'],
    ['POST', '/v1/recommendations', '{"__proto__":{"x":1}}', {}, 400, 'bad_request'],
    ['POST', '/v1/recommendations', 'k=1', { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'unsupported_media_type'],
    ['POST', '/v1/recommendations', 'hello', { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
    ['GET', `/v1/users/${'a'.repeat(129)}/history`, undefined, {}, 400, 'validation_error'],
    ['GET', `/v1/users/${'a'.repeat(128 * 12 + 1)}/history`, undefined, {}, 414, 'uri_too_long'],
    ['GET', '/v2/nothing', undefined, {}, 404, 'route_not_found'],
    ['POST', '/v1/recommendations', '{}', { 'content-encoding': 'gzip' }, 415, 'unsupported_media_type'],
    ['GET', '/v1/items/1', undefined, { expect: '200-ok' }, 417, 'expectation_failed'],
    ['PATCH', '/v1/items/1', '{}', {}, 404, 'route_not_found']
  ]
  for (const [method, url, body, headers, status, code] of cases) {
    const res = await raw(port, method, url, headers, body)
    assert.equal(res.status, status, `${method} ${url.slice(0, 60)}: ${res.body}`)
    assertErrorShape(res.status, res.headers, res.json(), url)
    assert.equal(res.json().code, code, url)
  }
  // ids of 101 to 128 characters are within MAX_ID_LENGTH: the router must not answer 414 (its default limit is 100)
  for (const length of [100, 101, 128]) {
    const res = await raw(port, 'GET', `/v1/users/${'b'.repeat(length)}/history`)
    assert.equal(res.status, 404, `id of ${length}: ${res.body}`)
    assert.equal(res.json().code, 'user_not_found')
  }
  const encoded = await raw(port, 'GET', `/v1/users/${encodeURIComponent('é'.repeat(128))}/history`)
  assert.equal(encoded.json().code, 'user_not_found')
  // clients that send content-type: application/json on every request, body or not
  for (const method of ['GET', 'DELETE']) {
    const res = await raw(port, method, '/v1/users/nobody/history', { 'content-type': 'application/json', 'content-length': '0' })
    assert.equal(res.json().code, 'user_not_found', `${method}: ${res.body}`)
  }
})

test('errors the router answers on its own still carry the security headers, and CORS for an allowed origin', async (t) => {
  const { port } = await listen(t, { CORS_ORIGINS: 'https://shop.example' })
  for (const path of ['/v1/users/%ZZ/history', `/v1/users/${'a'.repeat(2000)}/history`]) {
    const res = await raw(port, 'GET', path, { origin: 'https://shop.example' })
    assert.ok(res.status === 400 || res.status === 414)
    assert.equal(res.headers['x-content-type-options'], 'nosniff')
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.equal(res.headers['access-control-allow-origin'], 'https://shop.example')
  }
  const preflightWithoutOrigin = await raw(port, 'OPTIONS', '/v1/model')
  assert.ok(preflightWithoutOrigin.status < 400, `${preflightWithoutOrigin.status} ${preflightWithoutOrigin.body}`)
})

async function rawSocket (port: number, request: string, waitMs = 5000): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request))
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { text += chunk })
    socket.on('close', () => resolve(text))
    socket.on('error', reject)
    setTimeout(() => { socket.destroy(); resolve(text) }, waitMs).unref()
  })
}

function parseRaw (text: string): { status: number, headers: Record<string, string>, body: unknown } {
  const [head, body] = text.split('\r\n\r\n')
  const [statusLine, ...lines] = head.split('\r\n')
  const headers = Object.fromEntries(lines.map(l => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) }
}

test('HTTP parser errors (431, 400, 408) are answered on the socket in the common shape', async (t) => {
  const { port } = await listen(t, { REQUEST_TIMEOUT_MS: '500' })
  const huge = parseRaw(await rawSocket(port, `GET /v1/items HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`))
  assert.equal(huge.status, 431)
  assertErrorShape(431, huge.headers, huge.body)
  assert.equal((huge.body as { code: string }).code, 'headers_too_large')
  const garbage = parseRaw(await rawSocket(port, 'NOT HTTP AT ALL\r\n\r\n'))
  assert.equal(garbage.status, 400)
  assertErrorShape(400, garbage.headers, garbage.body)
  const started = Date.now()
  const slow = parseRaw(await rawSocket(port, 'POST /v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"k":'))
  assert.equal(slow.status, 408)
  assertErrorShape(408, slow.headers, slow.body)
  assert.equal((slow.body as { code: string }).code, 'request_timeout')
  assert.ok(Date.now() - started < 3000, 'a slow client is cut after REQUEST_TIMEOUT_MS')
})

test('an oversized body is 413 in the common shape; the default limit holds the largest request the bounds allow', async (t) => {
  const { app } = await build(t, { BODY_LIMIT_BYTES: '32768', MAX_HISTORY_ITEMS: '5', MAX_ID_LENGTH: '16' })
  const res = await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { exclude: Array.from({ length: 10_000 }, (_, i) => String(i)) } })
  assert.equal(res.statusCode, 413)
  assertErrorShape(413, res.headers, res.json())
  assert.equal(res.json().code, 'payload_too_large')

  const defaults = await build(t)
  const id = (i: number) => String(i).padStart(128, 'x')
  const history = Array.from({ length: 500 }, (_, i) => id(i))
  const recs = await defaults.app.inject({ method: 'POST', url: '/v1/recommendations', payload: { history, exclude: history, k: 1 } })
  assert.equal(recs.statusCode, 200, recs.body.slice(0, 200))
  const events = history.map((itemId, i) => ({ itemId, eventId: id(i + 1000), type: 'a'.repeat(32), timestamp: '2026-01-31T12:00:00.000+01:00' }))
  const put = await defaults.app.inject({ method: 'PUT', url: '/v1/users/big/history', payload: { events } })
  assert.equal(put.statusCode, 200, put.body.slice(0, 200))
  // ids in any script (3 bytes a character in UTF-8), sent pretty-printed
  const cjk = (i: number) => String(i).padStart(128, '\u4e2d')
  const wide = history.map((_, i) => ({ itemId: cjk(i), eventId: cjk(i + 1000), type: 'a'.repeat(32), timestamp: '2026-01-31T12:00:00.000+01:00' }))
  const pretty = await defaults.app.inject({ method: 'PUT', url: '/v1/users/wide/history', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ events: wide }, null, 2) })
  assert.equal(pretty.statusCode, 200, pretty.body.slice(0, 200))
})

test('every error code is in the README error table and in the OpenAPI responses', async (t) => {
  const readme = readFileSync(path.resolve(process.cwd(), 'README.md'), 'utf8')
  const { app } = await build(t)
  await app.ready()
  const doc = JSON.stringify(app.swagger())
  for (const [code, { status }] of Object.entries(ERROR_CODES)) {
    assert.match(readme, new RegExp(`\\| ${status} \\|[^\\n]*\`${code}\``), `README error table lacks ${status} ${code}`)
    assert.ok(doc.includes(`\`${code}\``), `OpenAPI responses lack ${code}`)
  }
})

test('internal errors never leak their message', () => {
  const internal = toHttpError(new Error('password=hunter2 at /etc/secret'))
  assert.equal(internal.statusCode, 500)
  assert.equal(internal.message, 'internal error')
})
