// A new item's semantic ID from its text must be the one the Python tokenizer's reference gives: the test
// vectors the export wrote (tokenizer_parity.jsonl), with the nearest catalogue items the collaborative
// half came from.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { ContentEncoder, itemText } from '../../src/catalogue/content-encoder.js'
import { Catalogue } from '../../src/model/catalogue.js'
import { loadManifest } from '../../src/model/manifest.js'
import { FIXTURE_MODEL, SHIPPED_MODELS } from '../helper.js'

const models = [FIXTURE_MODEL, ...readdirSync(SHIPPED_MODELS).map(name => path.join(SHIPPED_MODELS, name))]

for (const dir of models) {
  test(`the content encoder of ${path.basename(dir)} reproduces the exporter's test vectors: codes and nearest neighbours`, () => {
    checkVectors(dir)
  })
}

function checkVectors (dir: string) {
  const files = loadManifest(dir)
  assert.ok(files.tokenizer !== undefined, `${dir} has a content encoder`)
  const m = files.manifest
  const catalogue = Catalogue.load(files.catalogue, m.semanticIds.levels, m.catalogue.items, m.semanticIds.codebookSizes)
  const encoder = ContentEncoder.load(files.tokenizer.json, files.tokenizer.arrays)
  const vectors: Array<{ text: string, codes: number[], neighbours: string[] }> = readFileSync(files.tokenizer.parity, 'utf8').trim().split('\n').map(l => JSON.parse(l))
  assert.ok(vectors.length >= 40)
  for (const v of vectors) {
    const { neighbours } = encoder.embed(v.text)
    assert.deepEqual(neighbours.map(i => catalogue.items[i].itemId), v.neighbours, `neighbours of ${JSON.stringify(v.text)}`)
    assert.deepEqual(encoder.encode(v.text), v.codes, `codes of ${JSON.stringify(v.text)}`)
  }
}

test('the text of an item joins title, brand, categories and description as the tokenizer does', () => {
  assert.equal(itemText({ title: 'Red Lipstick', brand: null, categories: ['Makeup', 'Lips'], description: 'Long-lasting' }), 'Red Lipstick Makeup Lips Long-lasting')
  assert.equal(itemText({}), '')
})
