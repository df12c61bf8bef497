"""Layer schemas: the columns each of gridwatch's seven layers holds, their types and the headers
real exports use for them (Chinese and English)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Field types. "id" is a non-empty string unique within the layer.
ID, STRING, INTEGER, NUMBER, BOOLEAN, DATETIME, DATE = (
    "id",
    "string",
    "integer",
    "number",
    "boolean",
    "datetime",
    "date",
)

POINT, POLYGON, POINT_OR_POLYGON = "point", "polygon", "point_or_polygon"

DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Field:
    """One column of a layer: its canonical name, type, whether rows need it, and its aliases."""

    name: str
    type: str
    required: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class LayerSchema:
    """The columns and geometry of one kind of layer."""

    kind: str
    label_zh: str
    geometry: str
    fields: tuple[Field, ...]
    id_field: str = field(init=False)

    def __post_init__(self) -> None:
        ids = [f.name for f in self.fields if f.type == ID]
        if len(ids) != 1:
            raise ValueError(f"layer {self.kind} must have exactly one id field, has {ids}")
        object.__setattr__(self, "id_field", ids[0])

    @property
    def columns(self) -> list[str]:
        """Canonical column names in order, without the geometry."""
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        """Return the field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"layer {self.kind} has no field {name!r}")


# Headers for coordinates in plain tables (CSV, XLSX). Earlier aliases win when several are
# present, so explicit longitude/latitude beats a generic x/y.
LON_ALIASES = (
    "lon",
    "经度",
    "jd",
    "lng",
    "long",
    "longitude",
    "gps_x",
    "x",
    "x坐标",
    "横坐标",
    "point_x",
)
LAT_ALIASES = ("lat", "纬度", "wd", "latitude", "gps_y", "y", "y坐标", "纵坐标", "point_y")
# A geometry written as text (WKT or GeoJSON) in a plain table.
WKT_ALIASES = ("geometry", "wkt", "geom", "the_geom", "几何", "空间信息")

_ADDRESS = (
    "address",
    "地址",
    "详细地址",
    "afdz",
    "sfdd",
    "案发地址",
    "事发地点",
    "事发地址",
    "location",
)
_NAME = ("name", "名称", "mc")
_GRID_ID = ("grid_id", "网格编号", "网格id", "网格代码", "wgbh", "grid")


def _f(name: str, type_: str, required: bool = False, *aliases: str) -> Field:
    return Field(name, type_, required, (name, *aliases))


GRID_CELLS = LayerSchema(
    "grid_cells",
    "网格",
    POLYGON,
    (
        _f("grid_id", ID, True, *_GRID_ID[1:]),
        _f("name", STRING, False, "网格名称", "wgmc", *_NAME[1:]),
        _f("grid_workers", STRING, False, "网格员", "wgy", "workers"),
        _f("population", INTEGER, False, "人口", "户籍人口", "常住人口", "rks", "residents"),
        _f("floating_population", INTEGER, False, "流动人口", "ldrk", "floating"),
    ),
)

RENTAL_PROPERTIES = LayerSchema(
    "rental_properties",
    "出租房",
    POINT,
    (
        _f("property_id", ID, True, "房屋编号", "出租房编号", "fwbh", "id"),
        _f("address", STRING, False, *_ADDRESS[1:]),
        _f("tenants", INTEGER, False, "租住人数", "承租人数", "居住人数", "zzrs"),
        _f("group_rental", BOOLEAN, False, "群租房", "是否群租", "sfqz", "is_group_rental"),
        _f("last_inspection", DATE, False, "最近检查日期", "上次检查日期", "检查日期", "jcrq"),
        _f(
            "inspection_interval_days",
            INTEGER,
            False,
            "检查周期",
            "检查周期天",
            "jczq",
            "interval_days",
        ),
        _f("grid_id", STRING, False, *_GRID_ID[1:]),
    ),
)

KEY_SITES = LayerSchema(
    "key_sites",
    "重点单位",
    POINT_OR_POLYGON,
    (
        _f("site_id", ID, True, "单位编号", "dwbh", "id"),
        _f("name", STRING, False, "单位名称", "dwmc", *_NAME[1:]),
        _f("category", STRING, False, "类别", "单位类别", "类型", "dwlb", "type"),
        _f("address", STRING, False, *_ADDRESS[1:]),
    ),
)

INCIDENTS = LayerSchema(
    "incidents",
    "警情",
    POINT,
    (
        _f("incident_id", ID, True, "接警单编号", "警情编号", "jjdbh", "jqbh", "id", "case_id"),
        _f(
            "reported_at",
            DATETIME,
            True,
            "报警时间",
            "bjsj",
            "接警时间",
            "jjsj",
            "datetime",
            "date_time",
            "time",
            "date",
            "日期",
            "时间",
        ),
        _f(
            "category",
            STRING,
            False,
            "警情类别",
            "bjlbdm",
            "报警类别",
            "jqlb",
            "警情类型",
            "类别",
            "type",
        ),
        _f("address", STRING, False, *_ADDRESS[1:]),
        _f(
            "caller_phone",
            STRING,
            False,
            "报警电话",
            "bjdh",
            "报警人电话",
            "联系电话",
            "phone",
            "caller",
        ),
        _f("status", STRING, False, "处理状态", "状态", "clzt", "处警状态"),
    ),
)

PATROL_ZONES = LayerSchema(
    "patrol_zones",
    "巡区",
    POLYGON,
    (
        _f("zone_id", ID, True, "巡区编号", "xqbh", "id", "beat", "beat_num"),
        _f("name", STRING, False, "巡区名称", "xqmc", *_NAME[1:]),
        _f("team", STRING, False, "巡逻队", "责任队", "班组"),
        _f("shift_hours", STRING, False, "巡逻时段", "班次", "shift"),
        _f("grid_ids", STRING, False, "网格", "包含网格", "网格列表"),
    ),
)

DEVICES = LayerSchema(
    "devices",
    "天网地网设备",
    POINT,
    (
        _f("device_id", ID, True, "设备编号", "sbbh", "id"),
        _f("kind", STRING, True, "设备类型", "类型", "sblx", "type"),
        _f("name", STRING, False, "设备名称", "sbmc", *_NAME[1:]),
    ),
)

RESPONDERS = LayerSchema(
    "responders",
    "警力",
    POINT,
    (
        _f("responder_id", ID, True, "人员编号", "警号", "编号", "id"),
        _f("kind", STRING, True, "类型", "人员类型", "身份", "type"),
        _f("name", STRING, False, "姓名", "xm", *_NAME[1:]),
        _f("radio", STRING, False, "对讲机", "电台", "呼号", "channel"),
        _f("on_duty", BOOLEAN, False, "在岗", "是否在岗", "zg"),
        _f("last_seen", DATETIME, False, "最后定位时间", "定位时间", "dwsj", "updated_at"),
    ),
)

SCHEMAS: dict[str, LayerSchema] = {
    s.kind: s
    for s in (
        GRID_CELLS,
        RENTAL_PROPERTIES,
        KEY_SITES,
        INCIDENTS,
        PATROL_ZONES,
        DEVICES,
        RESPONDERS,
    )
}
LAYER_KINDS = tuple(SCHEMAS)

# Values read as true / false in boolean columns (compared after strip and lower-case).
TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "是", "有", "√", "在岗", "群租"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "否", "无", "×", "不在岗", "离岗", ""})


def get_schema(kind: str) -> LayerSchema:
    """Return the schema of a layer kind, or raise a ValueError naming the kinds there are."""
    try:
        return SCHEMAS[kind]
    except KeyError:
        raise ValueError(
            f"unknown layer kind {kind!r}; use one of: {', '.join(LAYER_KINDS)}"
        ) from None


def normalise_header(header: object) -> str:
    """Fold a column header for matching: lower case, no spaces, underscores or hyphens."""
    text = str(header).strip().lower()
    for ch in " _-\u3000()（）":
        text = text.replace(ch, "")
    return text


def _first_present(headers: list[str], aliases: tuple[str, ...], taken: set[str]) -> str | None:
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(normalise_header(h), h)
    for alias in aliases:
        found = by_norm.get(normalise_header(alias))
        if found is not None and found not in taken:
            return found
    return None


def match_columns(headers: list[str], schema: LayerSchema) -> dict[str, str]:
    """Map each canonical field of ``schema`` to the source header that holds it.

    Headers are matched case-, space- and underscore-insensitively against each field's aliases,
    in the order the aliases are listed; a header serves one field only. Fields with no header
    are left out of the result.
    """
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for f in schema.fields:
        found = _first_present(headers, f.aliases, taken)
        if found is not None:
            mapping[f.name] = found
            taken.add(found)
    return mapping


def match_coordinates(headers: list[str], taken: set[str] = frozenset()) -> dict[str, str]:
    """Find the longitude/latitude (or x/y) columns, or a WKT geometry column, in a table.

    Returns a dict with keys ``lon`` and ``lat``, or ``wkt``, or nothing when the table has none.
    """
    lon = _first_present(headers, LON_ALIASES, set(taken))
    lat = _first_present(headers, LAT_ALIASES, set(taken) | {lon} if lon else set(taken))
    if lon and lat:
        return {"lon": lon, "lat": lat}
    wkt = _first_present(headers, WKT_ALIASES, set(taken))
    return {"wkt": wkt} if wkt else {}


def describe_aliases(schema: LayerSchema, name: str) -> str:
    """Name the headers accepted for a field, for error messages."""
    return ", ".join(schema.field(name).aliases)
