import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../src/config.js'

test('defaults are complete and the embedded store is the default', () => {
  const c = loadConfig({})
  assert.equal(c.port, 8080)
  assert.equal(c.redis, null)
  assert.equal(c.apiKeys.length, 0)
  assert.ok(c.modelDir.endsWith('models/beauty-gflowgr'))
})

test('bad values are refused with the variable named', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'http' }, /PORT must be an integer/],
    [{ PORT: '70000' }, /PORT must be between 0 and 65535/],
    [{ WORKERS: '0' }, /WORKERS must be between 1/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL must start with redis:\/\//],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ API_KEYS: 'short' }, /API_KEYS: every key must be at least 16/],
    [{ INFERENCE_TIMEOUT_MS: '2147483648' }, /INFERENCE_TIMEOUT_MS must be between 10 and 600000/],
    [{ SHUTDOWN_TIMEOUT_MS: '2147483648' }, /SHUTDOWN_TIMEOUT_MS must be between 0 and 600000/],
    [{ REQUEST_TIMEOUT_MS: '99999999999' }, /REQUEST_TIMEOUT_MS must be between/],
    [{ BODY_LIMIT_BYTES: '65536' }, /BODY_LIMIT_BYTES \(65536\) is smaller than the largest request/],
    [{ MAX_QUEUE_WAIT_MS: '6000' }, /MAX_QUEUE_WAIT_MS \(6000\) must not exceed INFERENCE_TIMEOUT_MS/],
    [{ REDIS_URL: 'redis+cluster://host' }, /REDIS_URL: "host" is not host:port/],
    [{ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'b:2' }, /not both/]
  ]
  for (const [env, message] of cases) assert.throws(() => loadConfig(env), (e: Error) => e instanceof ConfigError && message.test(e.message))
})

test('lists are split and trimmed', () => {
  const c = loadConfig({ CORS_ORIGINS: 'https://a.example, https://b.example', API_KEYS: '0123456789abcdef,fedcba9876543210' })
  assert.deepEqual(c.corsOrigins, ['https://a.example', 'https://b.example'])
  assert.equal(c.apiKeys.length, 2)
})

test('Redis targets: one server, or a cluster by URL or by node list', () => {
  assert.deepEqual(loadConfig({ REDIS_URL: 'redis://10.0.0.1:6379' }).redis, { mode: 'single', url: 'redis://10.0.0.1:6379' })
  assert.deepEqual(loadConfig({ REDIS_URL: 'rediss+cluster://user:p%40ss@a:7000,b:7001' }).redis,
    { mode: 'cluster', nodes: [{ host: 'a', port: 7000 }, { host: 'b', port: 7001 }], username: 'user', password: 'p@ss', tls: true })
  assert.deepEqual(loadConfig({ REDIS_CLUSTER_NODES: 'a:7000, b:7001' }).redis, { mode: 'cluster', nodes: [{ host: 'a', port: 7000 }, { host: 'b', port: 7001 }], tls: false })
})
