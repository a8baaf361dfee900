import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ModelLoadError } from '../../src/errors.js'
import { spawn } from 'node:child_process'
import { loadManifest, sha256File } from '../../src/model/manifest.js'
import { Catalogue } from '../../src/model/catalogue.js'
import { FIXTURE_MODEL, SERVER_ENTRY, tempDir } from '../helper.js'

function copyModel (): string {
  const dir = tempDir('model-')
  cpSync(FIXTURE_MODEL, dir, { recursive: true })
  return dir
}

function editManifest (dir: string, edit: (m: any) => void): void {
  const file = path.join(dir, 'manifest.json')
  const m = JSON.parse(readFileSync(file, 'utf8'))
  edit(m)
  writeFileSync(file, JSON.stringify(m))
}

function refuses (dir: string, file: string, message: RegExp): void {
  assert.throws(() => loadManifest(dir), (e: Error) => e instanceof ModelLoadError && e.file === path.join(dir, file) && message.test(e.message))
}

test('the fixture model loads and describes its interface', () => {
  const files = loadManifest(FIXTURE_MODEL)
  assert.equal(files.manifest.formatVersion, 2)
  assert.ok(files.tokenizer !== undefined, 'the fixture has a content encoder')
  assert.equal(files.manifest.onnx.decoder.inputs.length, 6)
})

test('a changed ONNX file is refused, naming the file', () => {
  const dir = copyModel()
  appendFileSync(path.join(dir, 'decoder.onnx'), Buffer.from([0]))
  refuses(dir, 'decoder.onnx', /checksum mismatch/)
})

test('a changed catalogue is refused, naming the file', () => {
  const dir = copyModel()
  appendFileSync(path.join(dir, 'items.jsonl'), '{"itemId":"new","semanticId":[0,0,0]}\n')
  refuses(dir, 'items.jsonl', /checksum mismatch/)
})

test('an unknown format version, user hash or interface is refused', () => {
  let dir = copyModel()
  editManifest(dir, m => { m.formatVersion = 4 })
  refuses(dir, 'manifest.json', /formatVersion 4 is not supported/)
  dir = copyModel() // format 3 promises an encoder that also runs the first decoder step
  editManifest(dir, m => { m.formatVersion = 3 })
  refuses(dir, 'manifest.json', /onnx.encoder has inputs \[history_tokens,user_token\] and outputs \[cross_kv,memory_bias\]; this service understands .* outputs \[cross_kv,memory_bias,logits,present\]/)
  dir = copyModel()
  editManifest(dir, m => { m.userHash.name = 'murmur3' })
  refuses(dir, 'manifest.json', /userHash.name "murmur3" is not supported/)
  dir = copyModel()
  editManifest(dir, m => { m.onnx.decoder.inputs.pop() })
  refuses(dir, 'manifest.json', /onnx.decoder has inputs/)
  dir = copyModel()
  writeFileSync(path.join(dir, 'manifest.json'), '{not json')
  refuses(dir, 'manifest.json', /not valid JSON/)
})

test('a missing model directory is refused with a hint', () => {
  refuses(path.join(os.tmpdir(), 'no-such-model'), 'manifest.json', /not found \(MODEL_DIR or MODELS must name a model directory/)
})

test('catalogue lines with codes outside the codebooks are refused', () => {
  const dir = copyModel()
  const file = path.join(dir, 'items.jsonl')
  writeFileSync(file, '{"itemId":"a","semanticId":[0,0,999]}\n')
  assert.throws(() => Catalogue.load(file, 3, 1, [16, 16, 17]), /line 1: expected itemId and a semanticId of 3 codes/)
})

test('two items with one semantic ID are refused at start-up, naming the file and the items: exit 3, no stack trace', async () => {
  const dir = copyModel()
  const file = path.join(dir, 'items.jsonl')
  const lines = readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l))
  lines[1].semanticId = lines[0].semanticId
  writeFileSync(file, lines.map(l => JSON.stringify(l)).join('\n') + '\n')
  editManifest(dir, m => { m.catalogue.sha256 = sha256File(file) })
  assert.throws(() => Catalogue.load(file, 3, lines.length, [64, 64, 64]),
    (e: Error) => e instanceof ModelLoadError && e.file === file && e.message.includes(`"${String(lines[0].itemId)}" and "${String(lines[1].itemId)}" share the semantic ID`))
  const child = spawn(process.execPath, [SERVER_ENTRY], { env: { ...process.env, MODEL_DIR: dir, PORT: '0', LOG_LEVEL: 'info' } })
  let output = ''
  child.stdout.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr.on('data', (d: Buffer) => { output += d.toString() })
  const code = await new Promise(resolve => child.once('exit', resolve))
  assert.equal(code, 3, output)
  assert.match(output, /cannot load the model: .*items\.jsonl: items \\"1\\" and \\"2\\" share the semantic ID/)
  assert.doesNotMatch(output, /\n\s+at /, 'no stack trace')
})
