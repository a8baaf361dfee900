// A new item's semantic ID from its text must be the one the Python tokenizer's reference gives: the test
// vectors the export wrote (tokenizer_parity.jsonl), with the nearest catalogue items the collaborative
// half came from.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ContentEncoder, itemText } from '../../src/catalogue/content-encoder.js'
import { Catalogue } from '../../src/model/catalogue.js'
import { loadManifest } from '../../src/model/manifest.js'
import { FIXTURE_MODEL } from '../helper.js'

test('the content encoder reproduces the exporter\'s test vectors: codes and nearest neighbours', () => {
  const files = loadManifest(FIXTURE_MODEL)
  assert.ok(files.tokenizer !== undefined)
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
})

test('the text of an item joins title, brand, categories and description as the tokenizer does', () => {
  assert.equal(itemText({ title: 'Red Lipstick', brand: null, categories: ['Makeup', 'Lips'], description: 'Long-lasting' }), 'Red Lipstick Makeup Lips Long-lasting')
  assert.equal(itemText({}), '')
})
