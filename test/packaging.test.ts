// What can be checked of the container packaging without a Docker engine: the compose file's
// structure and the Dockerfile's promises (multi-stage, production deps, non-root, healthcheck, model).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { loadConfig } from '../src/config.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

test('docker-compose.yml: the service and Redis 7 with AOF, healthchecks and depends_on', () => {
  const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'))
  const { recommender, redis } = compose.services
  assert.match(redis.image, /^redis:7/)
  assert.ok(redis.command.includes('--appendonly') && redis.command.includes('yes'))
  assert.ok(redis.volumes.some((v: string) => v.endsWith(':/data')))
  assert.equal(recommender.depends_on.redis.condition, 'service_healthy')
  assert.equal(recommender.environment.REDIS_URL, 'redis://redis:6379')
  assert.ok(recommender.healthcheck.test.length > 0 && redis.healthcheck.test.includes('ping'))
})

test('Dockerfile: multi-stage, production dependencies only, non-root, healthcheck, shipped model baked in', () => {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8')
  assert.equal((dockerfile.match(/^FROM /gm) ?? []).length, 2)
  assert.match(dockerfile, /npm prune --omit=dev/)
  assert.match(dockerfile, /^USER node$/m)
  assert.match(dockerfile, /^HEALTHCHECK /m)
  assert.doesNotMatch(dockerfile, /MODEL_DIR=/, 'MODEL_DIR in the image would make MODELS (several models) a configuration error')
  assert.match(dockerfile, /^WORKDIR \/app$/m)
  const model = path.relative(process.cwd(), loadConfig({}).modelDir) // the default, relative to the working directory
  assert.ok(existsSync(path.join(root, model, 'manifest.json')), `${model} must exist for the image`)
  for (const [, sources] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const source of sources.split(' ')) assert.ok(existsSync(path.join(root, source)), `COPY source ${source} is missing`)
  }
})
