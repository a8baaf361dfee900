from gflowgr.userhash import fnv1a32, user_bucket

# Published FNV-1a 32-bit test vectors (Fowler/Noll/Vo reference), plus a multi-byte UTF-8 id.
VECTORS = {"": 0x811C9DC5, "a": 0xE40C292C, "foobar": 0xBF9CF968}


def test_fnv1a32_matches_reference_vectors():
    for text, expected in VECTORS.items():
        assert fnv1a32(text) == expected


def test_user_bucket_hashes_utf8_bytes_and_reserves_anonymous():
    assert fnv1a32("é") == fnv1a32("\u00e9") != fnv1a32("e\u0301")
    assert user_bucket("foobar", 2000) == 0xBF9CF968 % 2000
    assert user_bucket(None, 2000) == 2000
