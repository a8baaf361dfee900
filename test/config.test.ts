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
    [{ API_KEYS: 'short' }, /API_KEYS: every key must be at least 16/]
  ]
  for (const [env, message] of cases) assert.throws(() => loadConfig(env), (e: Error) => e instanceof ConfigError && message.test(e.message))
})

test('lists are split and trimmed', () => {
  const c = loadConfig({ CORS_ORIGINS: 'https://a.example, https://b.example', API_KEYS: '0123456789abcdef,fedcba9876543210' })
  assert.deepEqual(c.corsOrigins, ['https://a.example', 'https://b.example'])
  assert.equal(c.apiKeys.length, 2)
})
