"""Reading cell values as users type them: numbers, times, yes/no and text, vectorised over
whole columns. Unreadable values become missing, for the caller to report."""

from __future__ import annotations

import re

import pandas as pd

from geodata.schemas import FALSE_WORDS, TRUE_WORDS

# Full-width digits and punctuation (common in Chinese input) to their ASCII forms.
_FULL_WIDTH = str.maketrans(
    {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {"\u3000": " ", "。": "."}
)


_ID_LIST_SEPARATORS = re.compile(r"[,，、;；\s]+")


def split_ids(text: str) -> list[str]:
    """The ids in a list typed by hand: "G001,G002", "G001、G002", "G001；G002 G003"."""
    return [part for part in _ID_LIST_SEPARATORS.split(text.strip()) if part]


def as_text(values: pd.Series) -> pd.Series:
    """Return values as stripped strings with empty cells as missing (pandas string dtype).

    Whole numbers stored as floats (ids in Shapefiles) lose their ".0".
    """
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if (whole == whole.round()).all():
            values = values.astype("Int64")
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Read numbers written as text, full-width digits and a trailing degree sign included.

    Returns
    -------
    numbers
        float values, NaN where empty or unreadable
    unreadable
        True where a value was given but is not a number
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        return numbers, pd.Series(False, index=values.index)
    text = as_text(values)
    cleaned = text.str.translate(_FULL_WIDTH).str.replace(r"[°度\s]", "", regex=True)
    numbers = pd.to_numeric(cleaned, errors="coerce").astype(float)
    unreadable = text.notna() & numbers.isna()
    return numbers, unreadable.fillna(False).astype(bool)


def parse_booleans(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Read yes/no values (是/否, 1/0, true/false, y/n); returns (booleans, unreadable)."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean"), pd.Series(False, index=values.index)
    text = as_text(values).str.translate(_FULL_WIDTH).str.lower()
    result = pd.Series(pd.NA, index=values.index, dtype="boolean")
    result[text.isin(TRUE_WORDS).fillna(False).astype(bool)] = True
    result[text.isin(FALSE_WORDS).fillna(False).astype(bool)] = False
    unreadable = text.notna() & result.isna()
    return result, unreadable.fillna(False).astype(bool)


# Chinese date words to ISO separators: 2024年5月1日 22时13分05秒 -> 2024-5-1 22:13:05.
_CHINESE_TIME = [
    ("年", "-"),
    ("月", "-"),
    ("日", " "),
    ("号", " "),
    ("时", ":"),
    ("点", ":"),
    ("分", ":"),
    ("秒", ""),
]


def _from_digits(text: pd.Series) -> pd.Series:
    """Times written as bare digits: 20240501221305, 202405012213, 20240501, epoch seconds/ms."""
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ms]")
    for length, fmt in ((14, "%Y%m%d%H%M%S"), (12, "%Y%m%d%H%M"), (8, "%Y%m%d")):
        rows = text.str.len() == length
        if rows.any():
            result[rows] = pd.to_datetime(text[rows], format=fmt, errors="coerce")
    for length, unit in ((10, "s"), (13, "ms")):
        rows = text.str.len() == length
        if rows.any():
            # Epoch numbers are UTC; bring them to naive UTC, the caller treats them as such.
            stamps = pd.to_datetime(text[rows].astype("int64"), unit=unit, utc=True)
            result[rows] = stamps.dt.tz_localize(None)
    return result


def parse_times(values: pd.Series, timezone: str) -> tuple[pd.Series, pd.Series]:
    """Read date-times in the many ways exports write them, as tz-aware times in ``timezone``.

    Naive times are taken as local times in ``timezone``; times with an offset or ``Z`` are
    converted to it. Bare digit strings (20240501221305) and Excel day numbers are read too.

    Returns
    -------
    times
        tz-aware datetime64[ms] values, NaT where empty or unreadable
    unreadable
        True where a value was given but is not a time
    """
    out = pd.Series(pd.NaT, index=values.index, dtype=f"datetime64[ms, {timezone}]")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert(timezone).astype(out.dtype), pd.Series(
            False, index=values.index
        )
    if pd.api.types.is_datetime64_dtype(values):
        local = values.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        return local.astype(out.dtype), pd.Series(False, index=values.index)
    text = as_text(values).str.translate(_FULL_WIDTH)
    # Excel stores days since 1899-12-30; FIELD_TYPES=STRING gives them as "45413.92".
    excel = text.str.fullmatch(r"[1-9]\d{4}(\.\d+)?").fillna(False).astype(bool)
    for word, sep in _CHINESE_TIME:
        text = text.str.replace(word, sep, regex=False)
    text = text.str.replace("/", "-", regex=False)
    text = text.str.replace(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})", r"\1-\2-\3", regex=True)
    text = text.str.strip().str.rstrip(":").str.strip()
    digits = text.str.fullmatch(r"\d{8}|\d{10}|\d{12,14}").fillna(False).astype(bool) & ~excel
    aware = (
        text.str.contains(r"\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|[+-]\d\d:?\d\d)$", regex=True)
        .fillna(False)
        .astype(bool)
    )
    naive = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ms]")
    if digits.any():
        naive[digits] = _from_digits(text[digits])
    if excel.any():
        days = pd.to_numeric(text[excel], errors="coerce")
        naive[excel] = pd.Timestamp("1899-12-30") + pd.to_timedelta(days, unit="D").dt.round("s")
    plain = text.notna() & ~digits & ~excel & ~aware
    if plain.any():
        parsed = pd.to_datetime(text[plain], format="ISO8601", errors="coerce")
        left = parsed.isna()
        if left.any():  # the slow, per-value parser only for what ISO 8601 did not read
            parsed[left] = pd.to_datetime(text[plain][left], format="mixed", errors="coerce")
        naive[plain] = parsed
    out[:] = naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    epoch = digits & text.str.len().isin([10, 13]).fillna(False).astype(bool)
    if epoch.any():
        out[epoch] = naive[epoch].dt.tz_localize("UTC").dt.tz_convert(timezone)
    if aware.any():
        stamps = pd.to_datetime(text[aware], format="mixed", errors="coerce", utc=True)
        out[aware] = stamps.dt.tz_convert(timezone)
    unreadable = text.notna() & out.isna()
    return out, unreadable.fillna(False).astype(bool)
