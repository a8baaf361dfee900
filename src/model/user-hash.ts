// User id -> user token. FNV-1a 32-bit over the UTF-8 bytes, the same as training/gflowgr/userhash.py.
export const USER_HASH_NAME = 'fnv1a32-utf8-mod'

const encoder = new TextEncoder()

export function fnv1a32 (text: string): number {
  let hash = 0x811c9dc5
  for (const byte of encoder.encode(text)) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash >>> 0
}

export function userToken (userId: string | undefined, userOffset: number, buckets: number): number {
  return userOffset + (userId === undefined ? buckets : fnv1a32(userId) % buckets)
}
