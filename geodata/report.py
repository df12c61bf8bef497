"""The load report: what a loader accepted, repaired and rejected, row by row, with reasons."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

# Reason codes, one per kind of bad input. Rows rejected for one of these are not loaded; rows
# repaired keep their place in the clean layer.
SWAPPED_LON_LAT = "swapped_lon_lat"
ZERO_COORDINATES = "zero_coordinates"
MISSING_COORDINATES = "missing_coordinates"
UNPARSEABLE_NUMBER = "unparseable_number"
COORDINATES_OUT_OF_RANGE = "coordinates_out_of_range"
UNPARSEABLE_TIME = "unparseable_time"
UNPARSEABLE_YES_NO = "unparseable_yes_no"
OUTSIDE_AREA = "outside_area"
MISSING_ID = "missing_id"
MISSING_VALUE = "missing_value"
DUPLICATE_ID = "duplicate_id"
DUPLICATE_RECORD = "duplicate_record"
MISSING_GEOMETRY = "missing_geometry"
WRONG_GEOMETRY_TYPE = "wrong_geometry_type"
INVALID_GEOMETRY = "invalid_geometry"
OVERLAPS_OTHER_CELL = "overlaps_other_cell"
GAP_BETWEEN_CELLS = "gap_between_cells"
UNKNOWN_GRID_ID = "unknown_grid_id"

REASONS: dict[str, str] = {
    SWAPPED_LON_LAT: "longitude and latitude were swapped (repaired by swapping back)",
    ZERO_COORDINATES: "coordinates are (0, 0), a common placeholder for 'unknown'",
    MISSING_COORDINATES: "a coordinate is empty",
    UNPARSEABLE_NUMBER: "a value that should be a number is not one",
    COORDINATES_OUT_OF_RANGE: "coordinates are outside the valid range of their coordinate system",
    UNPARSEABLE_TIME: "a date or time could not be read",
    UNPARSEABLE_YES_NO: "a yes/no value (是/否, 1/0, true/false) could not be read",
    OUTSIDE_AREA: "the place lies outside the area (jurisdiction) given",
    MISSING_ID: "the id is empty",
    MISSING_VALUE: "a required value is empty",
    DUPLICATE_ID: "the id was already used by an earlier row (the first is kept)",
    DUPLICATE_RECORD: "the same record (time, place, category, caller) as an earlier row",
    MISSING_GEOMETRY: "the row has no geometry",
    WRONG_GEOMETRY_TYPE: "the geometry is of the wrong type for this layer",
    INVALID_GEOMETRY: "the geometry is invalid (self-intersecting, unclosed...)",
    OVERLAPS_OTHER_CELL: "the grid cell overlaps another cell (repaired by cutting the overlap)",
    GAP_BETWEEN_CELLS: "a gap lies between grid cells that belongs to no cell",
    UNKNOWN_GRID_ID: "the patrol zone lists a grid cell that is not among the grid cells",
}


@dataclass(frozen=True)
class RowIssue:
    """One finding about one source row.

    ``row`` is the 1-based record number in the source (the header line of a CSV is not counted,
    so record 1 is the second line of the file); ``None`` for findings about the layer as a whole.
    """

    row: int | None
    reason: str
    detail: str = ""

    def to_dict(self) -> dict[str, object]:
        """Return the issue as a plain dict for JSON."""
        return {"row": self.row, "reason": self.reason, "detail": self.detail}


@dataclass
class LoadReport:
    """What happened to every row of one loaded file.

    Every source row is either accepted (possibly repaired) or rejected exactly once, so
    ``rows_in == accepted + len(rejected)``.
    """

    source: str
    kind: str
    rows_in: int = 0
    accepted: int = 0
    rejected: list[RowIssue] = field(default_factory=list)
    repaired: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    source_crs: str = ""
    # The raw values of rejected rows (one row each, plus "row", "reason", "detail"), kept for
    # the store's quarantine layer.
    rejected_records: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def ok(self) -> bool:
        """Whether every row was accepted unrepaired and nothing was found."""
        return not (self.rejected or self.repaired or self.warnings)

    def counts(self) -> dict[str, int]:
        """Return the number of rejected and repaired rows per reason code."""
        tally = Counter(f"rejected:{i.reason}" for i in self.rejected)
        tally.update(f"repaired:{i.reason}" for i in self.repaired)
        tally.update(f"warning:{i.reason}" for i in self.warnings)
        return dict(sorted(tally.items()))

    def to_dict(self) -> dict[str, object]:
        """Return the report as plain data, the shape ``gridwatch check --json`` prints."""
        return {
            "source": self.source,
            "kind": self.kind,
            "rows_in": self.rows_in,
            "accepted": self.accepted,
            "rejected": [i.to_dict() for i in self.rejected],
            "repaired": [i.to_dict() for i in self.repaired],
            "warnings": [i.to_dict() for i in self.warnings],
            "notes": list(self.notes),
            "columns": dict(self.columns),
            "source_crs": self.source_crs,
        }

    def to_json(self) -> str:
        """Return the report as JSON text (Chinese kept readable)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def to_frame(self) -> pd.DataFrame:
        """Return every finding as a table with columns outcome, row, reason, detail."""
        rows = [
            {"outcome": outcome, **issue.to_dict()}
            for outcome, issues in (
                ("rejected", self.rejected),
                ("repaired", self.repaired),
                ("warning", self.warnings),
            )
            for issue in issues
        ]
        frame = pd.DataFrame(rows, columns=["outcome", "row", "reason", "detail"])
        return frame.astype({"row": "Int64"})

    def summary(self) -> str:
        """Return a readable text table: totals, then one line per finding."""
        lines = [
            f"{self.source} as {self.kind}: {self.rows_in} rows in, {self.accepted} accepted, "
            f"{len(self.rejected)} rejected, {len(self.repaired)} repaired",
        ]
        if self.source_crs:
            lines.append(f"coordinates read as {self.source_crs}")
        lines += [f"note: {n}" for n in self.notes]
        counts = self.counts()
        if counts:
            lines.append("")
            lines += [f"  {n:>6}  {k}" for k, n in counts.items()]
        frame = self.to_frame()
        if len(frame):
            lines.append("")
            lines.append(f"  {'outcome':<9} {'row':>7}  {'reason':<22} detail")
            for r in frame.itertuples(index=False):
                row = "-" if pd.isna(r.row) else str(r.row)
                lines.append(f"  {r.outcome:<9} {row:>7}  {r.reason:<22} {r.detail}")
        return "\n".join(lines)
