"""gridwatch's ground floor: layer schemas, reading and checking files, coordinate systems,
the GeoPackage store and the demo community."""

from geodata.crs import WGS84, local_metric_crs, parse_crs
from geodata.load import read_area, read_layer
from geodata.read import ReadError
from geodata.report import LoadReport, RowIssue
from geodata.schemas import LAYER_KINDS, SCHEMAS, get_schema
from geodata.validate import LayerError

__all__ = [
    "LAYER_KINDS",
    "SCHEMAS",
    "WGS84",
    "LayerError",
    "LoadReport",
    "ReadError",
    "RowIssue",
    "get_schema",
    "local_metric_crs",
    "parse_crs",
    "read_area",
    "read_layer",
]
