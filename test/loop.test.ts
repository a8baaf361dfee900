// The whole loop on small data: events posted through the API -> exported (GET /v1/admin/events) -> the
// pipeline's smoke configuration trains on them (dataset_kind generic) and exports a model -> the running
// service reloads it -> recommendations come from the new model, its version in the response.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ADMIN_ENV, ADMIN_HEADERS, FIXTURE_MODEL, PYTHON, modelCopy, runPipeline, startServer, tempDir } from './helper.js'

test('recorded events train a new model that the running service swaps in', { timeout: 600_000 }, async (t) => {
  assert.ok(existsSync(PYTHON), `the pipeline's Python environment is missing at ${PYTHON}: run bash scripts/venv.sh`)
  const work = tempDir('loop-')
  const loopDir = modelCopy() // the model named "loop" starts as a copy of the fixture and is replaced by the retrained one
  const server = await startServer({ MODELS: `main=${FIXTURE_MODEL},loop=${loopDir}`, MODEL_DIR: '', LOG_LEVEL: 'warn', ...ADMIN_ENV }, t)

  // a small synthetic shop's sessions, recorded through the API as a frontend would
  await runPipeline(['-m', 'gflowgr.synthetic', '--out', path.join(work, 'shop'), '--users', '400', '--items', '120', '--seed', '7'])
  const [, ...lines] = readFileSync(path.join(work, 'shop', 'interactions.csv'), 'utf8').trim().split(/\r?\n/)
  const byUser = new Map<string, Array<{ itemId: string, timestamp: string, type: string }>>()
  for (const line of lines) {
    const [user, itemId, timestamp, type] = line.split(',')
    byUser.set(user, [...(byUser.get(user) ?? []), { itemId, timestamp, type }])
  }
  for (const [user, events] of byUser) {
    for (let at = 0; at < events.length; at += 100) {
      const res = await fetch(`${server.base}/v1/users/${user}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: events.slice(at, at + 100) }) })
      assert.equal(res.status, 200, await res.text())
    }
  }

  const exported = await fetch(`${server.base}/v1/admin/events?format=jsonl`, { headers: ADMIN_HEADERS })
  assert.equal(exported.status, 200)
  const data = path.join(work, 'data')
  mkdirSync(data, { recursive: true })
  writeFileSync(path.join(data, 'interactions.jsonl'), await exported.text())
  assert.equal(readFileSync(path.join(data, 'interactions.jsonl'), 'utf8').trim().split('\n').length, lines.length, 'every recorded event is exported')

  await runPipeline(['-m', 'gflowgr', 'all', '--config', 'configs/smoke-generic.toml', `--dataset_path=${data}`, `--run_dir=${path.join(work, 'run')}`,
    `--export.out_dir=${loopDir}`, '--export.version=loop-1'])

  const reload = await fetch(`${server.base}/v1/admin/models/loop/reload`, { method: 'POST', headers: ADMIN_HEADERS })
  assert.equal(reload.status, 200, await reload.clone().text())
  assert.equal((await reload.json()).model.version, 'loop-1')
  const user = [...byUser.keys()][0]
  const recs = await (await fetch(`${server.base}/v1/users/${user}/recommendations?model=loop&k=5`)).json()
  assert.deepEqual(recs.model, { name: 'loop', version: 'loop-1' })
  assert.equal(recs.items.length, 5)
  assert.ok(recs.items.every((i: { itemId: string }) => /^SKU\d{5}$/.test(i.itemId)), 'items of the new catalogue')
  assert.deepEqual(recs.unknownItemIds, [], 'the new model knows the recorded items')
  const main = await (await fetch(`${server.base}/v1/users/${user}/recommendations?model=main&k=5`)).json()
  assert.equal(main.model.name, 'main', 'the other model keeps serving')
})
