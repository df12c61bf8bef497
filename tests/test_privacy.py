"""Caller phone numbers: masked for display, hashed for matching."""

import pandas as pd

from geodata.privacy import hash_phones, mask_phones


def test_mask_keeps_three_and_four_digits():
    phones = pd.Series(["13812341234", "+86 139-0000-5678", None, "110"])
    assert list(mask_phones(phones)) == ["138****1234", "139****5678", pd.NA, "****"]


def test_hash_matches_the_same_number_written_differently():
    phones = pd.Series(["13812341234", "+86 138 1234 1234", "008613812341234", "13812341235"])
    hashes = hash_phones(phones, key="k")
    assert hashes[0] == hashes[1] == hashes[2] != hashes[3]
    assert len(hashes[0]) == 16 and hashes[0] != "13812341234"
    assert hash_phones(phones, key="other")[0] != hashes[0]
