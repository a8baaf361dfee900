// The README's example responses are the service's real answers on the shipped model.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
// @ts-expect-error: a plain .mjs module shared with `npm run readme-examples`
import { examples, withErrorTable } from '../../scripts/readme-examples.mjs'
import { ERROR_CODES } from '../src/errors.js'
import { SHIPPED_MODELS, build } from './helper.js'

test('every marked README example is what the service answers now (npm run readme-examples regenerates them)', async (t) => {
  const readme = readFileSync(path.resolve(process.cwd(), 'README.md'), 'utf8')
  const { app } = await build(t, { MODEL_DIR: path.join(SHIPPED_MODELS, 'beauty-gflowgr') })
  const found: Array<{ block: string, expected: string }> = await examples(app, readme)
  assert.ok(found.length >= 3, `${found.length} examples`)
  for (const { block, expected } of found) assert.equal(block, expected)
})

test('the README error table lists every code of src/errors.ts (npm run readme-examples regenerates it)', () => {
  const readme = readFileSync(path.resolve(process.cwd(), 'README.md'), 'utf8')
  assert.equal(readme, withErrorTable(readme, ERROR_CODES))
})
