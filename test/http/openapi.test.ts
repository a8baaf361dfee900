// The OpenAPI document's last touches: \p{..} classes rewritten for regex engines without the u flag.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { portablePattern } from '../../src/http/openapi.js'

test('portablePattern rewrites \\p{Name} inside a class as BMP ranges and refuses the forms it cannot rewrite', () => {
  assert.equal(portablePattern('^[^\\p{Cc}]*$'), '^[^\\u0000-\\u001F\\u007F-\\u009F]*$')
  assert.equal(portablePattern('^[^\\p{Cs}x]+$'), '^[^x]+$', 'surrogates are left out')
  assert.equal(portablePattern('^[a-z]+$'), '^[a-z]+$')
  for (const pattern of ['^\\p{L}+$', '^[a-z]\\p{Cc}$', '^[^\\P{Cc}]+$', '^[^\\p{Script=Latin}]+$']) {
    assert.throws(() => portablePattern(pattern), /only \\p\{Name\} inside a character class/, pattern)
  }
})
