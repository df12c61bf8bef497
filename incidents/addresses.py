"""Addresses as call takers write them, reduced to one form per place: 万户新村 １２栋 and
万户新村十二幢 are both 万户新村12幢."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["address_codes", "drop_addresses", "normalise_addresses"]

_CN_DIGITS = {c: int(d) for c, d in zip("零〇一二两三四五六七八九", "001223456789", strict=True)}
# Chinese numbers directly before the words that number a building, entrance, floor or room
# (not before 路: 建军二路 is a name).
_CN_NUMBER = r"([零〇一二两三四五六七八九十百]+)(幢|单元|室|层|楼|号)"


def normalise_addresses(addresses: pd.Series) -> pd.Series:
    """
    Reduce addresses to a form in which one place written differently compares equal.

    Full-width characters become half-width (NFKC) and letters upper case; 栋, 号楼, 栋楼 become
    幢; Chinese numerals before 幢/单元/层/楼/室/号 become digits (十二幢 → 12幢); spaces and
    punctuation are dropped, dashes kept as ``-``. Empty results are ``<NA>``.

    Examples
    --------
    >>> spelt = pd.Series(["万户新村 １２栋3单元502室", "万户新村十二幢3单元502室"])
    >>> normalise_addresses(spelt).tolist()
    ['万户新村12幢3单元502室', '万户新村12幢3单元502室']
    """
    codes, normal = address_codes(addresses)
    values = pd.array(normal.to_pylist(), dtype="string").take(codes, allow_fill=True)
    return pd.Series(values, index=addresses.index, name=addresses.name)


def drop_addresses(incidents: pd.DataFrame, addresses: Iterable[str]) -> pd.DataFrame:
    """
    Leave out the incidents at some addresses (compared normalised), such as a records
    system's default location for incidents it cannot place (San Francisco's "800 Block of
    BRYANT ST", the Hall of Justice), which would otherwise show as a hotspot or a repeat place.

    Returns
    -------
    The incidents not at those addresses (a copy's view: the input is not changed).
    """
    if isinstance(addresses, str):  # one address, not its characters
        addresses = [addresses]
    excluded = pd.Series([a for a in addresses if a], dtype="string")
    if not len(excluded):
        return incidents
    if "address" not in incidents.columns:
        raise ValueError("leaving out addresses needs an address column in the incidents")
    drop = set(normalise_addresses(excluded).dropna())
    keep = ~normalise_addresses(incidents["address"]).isin(drop).fillna(False).to_numpy(bool)
    return incidents[keep]


def address_codes(addresses: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Code of each address's normalised form (-1 for none), and the normalised forms."""
    raw = pa.array(addresses.astype("string").array, type=pa.string())
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    encoded = pc.dictionary_encode(raw)
    normal = pc.dictionary_encode(_normalise_unique(encoded.dictionary))
    codes = pc.fill_null(normal.indices, -1).to_numpy().astype(np.int64)
    raw_codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    codes = np.append(codes, -1)  # raw code -1 (no address) looks up the last entry: none
    result = codes[raw_codes]
    return result, normal.dictionary


def _normalise_unique(text: pa.Array) -> pa.Array:
    """The normalisation of :func:`normalise_addresses`, vectorised (RE2 via pyarrow)."""
    text = pc.utf8_upper(pc.utf8_normalize(text, "NFKC"))
    text = pc.replace_substring_regex(text, pattern=r"[‐‑‒–—―﹣~～]", replacement="-")
    text = pc.replace_substring_regex(text, pattern="号楼|栋楼|幢楼|栋", replacement="幢")
    numbered = pc.fill_null(pc.match_substring_regex(text, pattern=_CN_NUMBER), False)
    if pc.any(numbered).as_py():
        values = text.to_pylist()
        for k in np.flatnonzero(numbered.to_numpy(zero_copy_only=False)):
            values[k] = _digits_for_numerals(values[k])
        text = pa.array(values, type=pa.string())
    text = pc.replace_substring_regex(text, pattern=r"[^\p{L}\p{N}\-]", replacement="")
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _digits_for_numerals(address: str) -> str:
    return re.sub(_CN_NUMBER, lambda m: f"{_chinese_number(m.group(1))}{m.group(2)}", address)


def _chinese_number(text: str) -> int:
    """十二 → 12, 一百零五 → 105, 三零二 → 302 (digit by digit when there is no 十 or 百)."""
    if "十" not in text and "百" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total, digit = 0, 0
    for char in text:
        if char in "百十":
            total += (digit or 1) * (100 if char == "百" else 10)
            digit = 0
        else:
            digit = _CN_DIGITS[char]
    return total + digit
