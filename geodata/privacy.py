"""Caller phone numbers are personal data: masked wherever they are shown, hashed for matching
repeat callers, never shown to grid workers."""

from __future__ import annotations

import hashlib
import hmac
import os

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# The key for caller hashes. Set GRIDWATCH_PHONE_KEY on a real installation so that hashes cannot
# be reversed by hashing every possible number; the default only keeps the demo working.
_DEFAULT_KEY = "gridwatch-demo-key"


def normalise_phones(phones: pd.Series) -> pd.Series:
    """Reduce phone numbers to their digits, without a +86/0086 country prefix."""
    text = pa.array(phones.astype("string").array, type=pa.string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    # pyarrow's RE2, vectorised: three times as fast as pandas' str.replace on millions.
    digits = pc.replace_substring_regex(text, pattern=r"\D", replacement="")
    digits = pc.replace_substring_regex(
        digits, pattern=r"^(?:0086|86)(1\d{10})$", replacement=r"\1"
    )
    digits = pc.if_else(pc.equal(digits, ""), pa.scalar(None, pa.string()), digits)
    return pd.Series(pd.array(digits, dtype="string"), index=phones.index, name=phones.name)


def mask_phones(phones: pd.Series) -> pd.Series:
    """Show only the first three and last four digits: 13812341234 -> 138****1234."""
    digits = normalise_phones(phones)
    long_enough = digits.str.len() >= 7
    masked = digits.str[:3] + "****" + digits.str[-4:]
    return masked.where(long_enough, other="****").mask(digits.isna())


def hash_phones(phones: pd.Series, *, key: str | None = None) -> pd.Series:
    """Return a keyed hash (HMAC-SHA256, 16 hex characters) of each normalised phone number.

    The same number written differently (+86 138-1234-1234) gives the same hash.
    """
    secret = (key or os.environ.get("GRIDWATCH_PHONE_KEY") or _DEFAULT_KEY).encode()
    digits = normalise_phones(phones)
    hashes = [
        None if pd.isna(d) else hmac.new(secret, d.encode(), hashlib.sha256).hexdigest()[:16]
        for d in digits
    ]
    return pd.Series(hashes, index=phones.index, dtype="string")
