import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fnv1a32, userToken } from '../../src/model/user-hash.js'

// The same published FNV-1a vectors as training/tests/test_userhash.py.
test('fnv1a32 matches the reference vectors', () => {
  assert.equal(fnv1a32(''), 0x811c9dc5)
  assert.equal(fnv1a32('a'), 0xe40c292c)
  assert.equal(fnv1a32('foobar'), 0xbf9cf968)
})

test('user tokens hash UTF-8 bytes and reserve a token for anonymous requests', () => {
  assert.equal(fnv1a32('é'), fnv1a32('\u00e9'))
  assert.notEqual(fnv1a32('é'), fnv1a32('e\u0301'))
  assert.equal(userToken('foobar', 100, 2000), 100 + (0xbf9cf968 % 2000))
  assert.equal(userToken(undefined, 100, 2000), 2100)
})
