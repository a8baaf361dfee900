"""User id -> user token. FNV-1a (32-bit) over the UTF-8 bytes; src/model/user-hash.ts implements the same."""

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193
NAME = "fnv1a32-utf8-mod"


def fnv1a32(text: str) -> int:
    h = FNV_OFFSET
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return h


def user_bucket(user_id: str | None, buckets: int) -> int:
    """Bucket in [0, buckets); bucket `buckets` is reserved for anonymous requests (no user id)."""
    return buckets if user_id is None else fnv1a32(user_id) % buckets
