"""Personal data in message text: find it and mask it.

Kinds and the token that replaces each (``TOKENS``):

========== ============ ==============================================================================
kind       token        what is found
========== ============ ==============================================================================
mobile     [手机号]     11-digit mobile numbers (1[3-9]…), also ``+86``/``0086``, spaced, dashed,
                        full-width, and partly masked ones that still show digits (``177****5612``)
landline   [电话]       numbers with an area code (``0731-84567890``, ``(020)87654321``, extension
                        ``转801``/``-801``) and 7–8 digit numbers right after 电话/座机/号码/热线
id_number  [身份证号]   18-digit resident ID numbers with a valid birth date and check digit; after
                        身份证/证件号 also a wrong check digit or a partly masked number
bank_card  [银行卡号]   16–19 digits passing the Luhn check, with a card-issuer prefix (62, 60, 4,
                        51–55, 22–27, 35, 9) or after 卡/账号/账户
email      [邮箱]       e-mail addresses (also partly masked local parts and a full-width ＠)
plate      [车牌号]     licence plates: province + letter + 5 or 6 characters (湘A12345, 湘A·F1234,
                        粤BD12345, 湘A1234学)
name       [姓名]       a surname (+ one or two characters) before an honorific (王先生 → [姓名]先生,
                        李秀英女士, 刘老师, 周书记) and the name after 我叫/本人/姓名：/联系人：
========== ============ ==============================================================================

Kept as they are: dates, times, amounts, house numbers (68号, 3-2-1606), case and document numbers, postcodes,
service numbers (12345, 110, 400/800/955xx lines) and numbers that an order/waybill/serial-number label
introduces (订单号, 单号, 编号, 流水号 …; an ID number with a valid check digit is masked even there).
Numbers the data already masked completely (``0000-00000000``, ``*****************``) hold nothing personal and
are kept; a partly masked one that still shows digits is masked. Names without an honorific or one of the
patterns (a bare 潘光霞) are not found, nor are QQ/WeChat ids.

Matching runs on a same-length folded copy of the text (full-width digits, letters and punctuation to ASCII), so
offsets are those of the original text.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from classifier.text import tag

KINDS = ("mobile", "landline", "id_number", "bank_card", "email", "plate", "name")
TOKENS = {
    "mobile": "[手机号]",
    "landline": "[电话]",
    "id_number": "[身份证号]",
    "bank_card": "[银行卡号]",
    "email": "[邮箱]",
    "plate": "[车牌号]",
    "name": "[姓名]",
}
_PRIORITY = {
    kind: i for i, kind in enumerate(("email", "id_number", "bank_card", "mobile", "landline", "plate", "name"))
}

_FOLD = str.maketrans({chr(0xFF01 + i): chr(0x21 + i) for i in range(0x5E)} | {"\u3000": " ", "—": "-"})
_FOLDABLE = re.compile("[０-９Ａ-Ｚａ-ｚ＠＊－（）＋．\u3000—]+")
"""What matters to the patterns among the full-width forms (，：！ do not: they are cheaper left alone)."""
_HAN = r"\u4e00-\u9fff"
_HAN_CHAR = re.compile(f"[{_HAN}]")

# -- numbers --------------------------------------------------------------------------------------------------
_MOBILE = re.compile(
    r"(?<![0-9A-Za-z])(?:(?:\+|00)86[ -]?|86[ -])?"
    r"1[3-9][0-9](?:[ -]?[0-9]{4}[ -]?[0-9]{4}|[ -]?[*×xX]{4}[ -]?[0-9]{4})(?![0-9]|\.[0-9])"
)
_LANDLINE = re.compile(
    r"(?<![0-9A-Za-z])(?:\(0[1-9][0-9]{1,2}\)|0[1-9][0-9]{1,2})[ -]?[2-9][0-9]{2,3}[ -]?[0-9]{4}"
    r"(?:(?:转|分机|-|ext\.?)[0-9]{1,5})?(?![0-9])"
)
_LOCAL_NUMBER = re.compile(
    r"(?:电话|座机|固话|号码|热线|[Tt][Ee][Ll])[^0-9\n]{0,5}?(?<![0-9])([2-9][0-9]{6,7})(?![0-9])"
)
_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9][0-9]{5} ?(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]) ?[0-9]{3}[0-9Xx]"
    r"(?![0-9A-Za-z])"
)
_MASKED_ID = re.compile(r"(?<![0-9A-Za-z*×])[0-9][0-9*×]{16}[0-9Xx*×](?![0-9A-Za-z*×])")
_CARD = re.compile(r"(?<![0-9A-Za-z])[0-9]{4}(?:[ -]?[0-9]{4}){3}(?:[ -]?[0-9]{1,3})?(?![0-9])")
_CARD_PREFIX = re.compile(r"62|60|4|5[1-5]|2[2-7]|35|9")
_NUMBER_RUN = re.compile(r"[0-9*×][0-9*×xX ().+-]{5,}")
_LABEL_WIDTH = 12
_EXTENSION_WIDTH = 8
"""Characters before a number that may hold its label (电话：, 身份证号码为) or its ``+86``; after it, an extension."""
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

_ID_CONTEXT = re.compile(r"(?:身份证|证件|身份号码)[号码]*[^0-9]{0,4}$")
_CARD_CONTEXT = re.compile(r"(?:卡|账号|帐号|账户|帐户|转账|汇入|打到|退到)[号码]*[^0-9]{0,6}$")
_NOT_PERSONAL = re.compile(
    r"(?:订单|单号|编号|流水|批次|批号|序号|序列号|条码|代码|发票|合同号|案号|文号|索引号)[号码]*[^0-9]{0,4}$"
)

# -- e-mail and plates ----------------------------------------------------------------------------------------
_EMAIL = re.compile(r"[A-Za-z0-9._%+*-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PLATE_CHARS = "A-HJ-NP-Za-hj-np-z0-9"
_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Za-hj-np-z][ ·•・.-]?"
    rf"(?:[{_PLATE_CHARS}]{{4,5}}[挂学警港澳领]|[{_PLATE_CHARS}]{{5,6}}(?![A-Za-z0-9]))"
)

# -- names ----------------------------------------------------------------------------------------------------
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊"
    "葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆"
    "蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农卓古吉缪简车项连芦麦褚娄窦戚岑景宫费卜冷晏席卫米柏宗瞿桂全"
    "佟应臧闵苟邬边卞姬仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池查麻苑迟邝"
)
_COMPOUND_SURNAMES = frozenset(
    ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "司徒", "夏侯", "长孙", "宇文")
)
_HONORIFICS = (
    "先生", "女士", "小姐", "同志", "师傅", "老师", "阿姨", "叔叔", "大爷", "大妈", "大姐", "大哥", "奶奶", "爷爷",
    "老板", "经理", "主任", "书记", "局长", "科长", "所长", "站长", "队长", "村长", "镇长", "乡长", "县长", "区长",
    "校长", "院长", "医生", "护士", "律师", "警官", "会计",
)  # fmt: skip
_HONORIFIC = re.compile("(?:副|代|常务副?)?(?:" + "|".join(_HONORIFICS) + ")")
"""An honorific, with the 副 of 刘副院长 (the name ends before it)."""
_NAME_CONTEXT = 12
"""Characters before an honorific segmented to judge the name in front of it."""
_NUMERALS = frozenset("一二三四五六七八九十")
_NOT_GIVEN = frozenset("的了是在和与及等们这那个位名些姓氏跟给对找请问被把让叫省市县区乡镇村局厂所站队院校城路街司")
"""Characters that end a name rather than belong to it: function words (时跟范书记), places (江管区书记)."""
_FUNCTION_TAGS = ("p", "c", "u", "d", "v")
"""Tags of a one-character token that is more often a preposition, conjunction … than a surname (于, 向, 和)."""
_BEFORE_NAME = frozenset("给找问请跟与和是叫向把被让的及、")
_NAME_TAGS = ("nr", "nrt", "nrfg")
_NAME_CHARS = frozenset(ch for ch in map(chr, range(0x4E00, 0xA000)) if ch not in _NOT_GIVEN)
_SURNAME_ALT = "|".join(_COMPOUND_SURNAMES) + "|[" + "".join(sorted(_SURNAMES)) + "]"
_INTRODUCED = re.compile(
    rf"(?:我叫|我的名字(?:是|叫)|名字叫|本人(?:叫|名叫|姓名)?|姓名|联系人)[:： ]?(?P<name>(?:{_SURNAME_ALT})[{_HAN}]{{1,2}}?)"
    r"(?=[\s，,。.、；;：:！!？?()（）]|是|今年|家住|住在|现住|男|女|来自|现年|身份证|电话|手机|联系|$)"
)


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind and where it is in the text (``text[start:end]``)."""

    kind: str
    start: int
    end: int


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit() or ch in "Xx").upper()


def id_checksum_ok(number: str) -> bool:
    """True when an 18-character resident ID number has a real birth date and the right check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return "10X98765432"[sum(int(c) * w for c, w in zip(number, _ID_WEIGHTS)) % 11] == number[17].upper()


def luhn_ok(number: str) -> bool:
    """True when a string of digits passes the Luhn check (bank card numbers)."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 else d
    return total % 10 == 0


def _shows_something(email: str) -> bool:
    """False for an address the data already masked completely (``0000-********@qq.com``)."""
    return any(ch not in "0-*._" for ch in email.split("@")[0])


def _before(text: str, start: int, width: int = 12) -> str:
    return text[max(0, start - width) : start]


def _windows(folded: str) -> list[tuple[int, int]]:
    """Stretches of the text around its runs of 6+ digit-like characters, with room for a label before them."""
    windows: list[tuple[int, int]] = []
    for m in _NUMBER_RUN.finditer(folded):
        start, end = max(0, m.start() - _LABEL_WIDTH), min(len(folded), m.end() + _EXTENSION_WIDTH)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def _numbers(folded: str) -> Iterable[Finding]:
    for pos, endpos in _windows(folded):
        for m in _ID.finditer(folded, pos, endpos):
            number = _digits(m.group())
            if id_checksum_ok(number) or _ID_CONTEXT.search(_before(folded, m.start())):
                yield Finding("id_number", m.start(), m.end())
        for m in _MASKED_ID.finditer(folded, pos, endpos):
            shown = sum(ch.isdigit() for ch in m.group())
            if 6 <= shown < 18 and _ID_CONTEXT.search(_before(folded, m.start())):
                yield Finding("id_number", m.start(), m.end())
        for m in _CARD.finditer(folded, pos, endpos):
            number, before = _digits(m.group()), _before(folded, m.start())
            if 16 <= len(number) <= 19 and luhn_ok(number) and not _NOT_PERSONAL.search(before):
                if _CARD_PREFIX.match(number) or _CARD_CONTEXT.search(before):
                    yield Finding("bank_card", m.start(), m.end())
        for m in _MOBILE.finditer(folded, pos, endpos):
            if not _NOT_PERSONAL.search(_before(folded, m.start())):
                yield Finding("mobile", m.start(), m.end())
        for m in _LANDLINE.finditer(folded, pos, endpos):
            if not _NOT_PERSONAL.search(_before(folded, m.start())):
                yield Finding("landline", m.start(), m.end())
        for m in _LOCAL_NUMBER.finditer(folded, pos, endpos):
            if not _NOT_PERSONAL.search(_before(folded, m.start())):
                yield Finding("landline", m.start(1), m.end(1))


class _Tokens:
    """Word boundaries and part-of-speech tags (jieba dictionary) of ``text[start:end]``, to judge name candidates.

    When the stretch starts inside a run of Chinese characters, its first word may be cut: no name starts in it.
    """

    def __init__(self, text: str, start: int, end: int):
        self.starts, self.words, self.tags, position = [], [], [], start
        for word, flag in tag(text[start:end]):
            self.starts.append(position)
            self.words.append(word)
            self.tags.append(flag)
            position += len(word)
        cut = start > 0 and _HAN_CHAR.match(text[start - 1]) is not None
        self.first_start = self.starts[1] if cut and len(self.starts) > 1 else start

    def at(self, position: int) -> int:
        """Index of the token holding ``position``."""
        return bisect.bisect_right(self.starts, position) - 1

    def is_start(self, position: int) -> bool:
        i = self.at(position)
        return position >= self.first_start and i >= 0 and self.starts[i] == position

    def plausible_name(self, text: str, start: int, end: int) -> bool:
        """``text[start:end]`` can be a name: it starts a word, and is not one common word or a function word."""
        if not self.is_start(start):
            return False
        first = self.at(start)
        if self.starts[first] + len(self.words[first]) > end:  # one word runs past the name: 王先生/nr is a name
            return self.tags[first].startswith(_NAME_TAGS)
        last = self.at(end - 1)
        if first == last and len(self.words[first]) >= 2:
            return self.tags[first].startswith(_NAME_TAGS)
        if first == last and self.tags[first].startswith(_FUNCTION_TAGS):
            return start == 0 or not _HAN_CHAR.match(text[start - 1]) or text[start - 1] in _BEFORE_NAME
        if len(self.words[first]) > 1:
            return self.words[first] in _COMPOUND_SURNAMES  # 谢谢/nr + 周 is no name
        return not self.tags[first].startswith(_FUNCTION_TAGS)  # 向 + 黄峰 is no name


def _surname_at(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` is a surname followed by at most two given-name characters."""
    if text[start : start + 2] in _COMPOUND_SURNAMES:
        return 0 <= end - start - 2 <= 2 and _given_ok(text[start + 2 : end])
    return text[start] in _SURNAMES and end - start <= 3 and _given_ok(text[start + 1 : end])


def _given_ok(given: str) -> bool:
    if given in _NUMERALS:
        return False  # 高二老师, 初三; 张三 is a placeholder
    return all(ch in _NAME_CHARS for ch in given) and not _HONORIFIC.match(given)


def _names(text: str) -> Iterable[Finding]:
    for m in _HONORIFIC.finditer(text):
        end = m.start()
        if end == 0 or text[end - 1] not in _NAME_CHARS:
            continue
        tokens = _Tokens(text, max(0, end - _NAME_CONTEXT), m.end() + 2)
        for start in range(max(0, end - 4), end):  # the longest plausible name first
            if _surname_at(text, start, end) and tokens.plausible_name(text, start, end):
                yield Finding("name", start, end)
                break
    for m in _INTRODUCED.finditer(text):
        start, end = m.span("name")
        if _surname_at(text, start, end):  # 联系人：唐先生 is found above, as 唐
            if _Tokens(text, max(0, start - _NAME_CONTEXT), end + 2).plausible_name(text, start, end):  # not 本人查阅
                yield Finding("name", start, end)


def find_pii(text: str) -> list[Finding]:
    """The personal data in ``text``, in order, without overlaps (see the module docstring for the kinds)."""
    if not isinstance(text, str) or not text:
        return []
    folded = _FOLDABLE.sub(lambda m: m.group().translate(_FOLD), text)
    found: list[Finding] = []
    if "@" in folded:
        found += [Finding("email", m.start(), m.end()) for m in _EMAIL.finditer(folded) if _shows_something(m.group())]
    found += _numbers(folded)
    found += [Finding("plate", m.start(), m.end()) for m in _PLATE.finditer(folded)]
    found += _names(folded)
    chosen: list[Finding] = []
    for finding in sorted(found, key=lambda f: (_PRIORITY[f.kind], f.start)):
        if all(finding.end <= c.start or finding.start >= c.end for c in chosen):
            chosen.append(finding)
    return sorted(chosen, key=lambda f: f.start)


def mask_text(text: str) -> tuple[str, Counter]:
    """``text`` with each piece of personal data replaced by its kind's token, and the count per kind."""
    findings = find_pii(text)
    if not findings:
        return text, Counter()
    parts, position = [], 0
    for finding in findings:
        parts += [text[position : finding.start], TOKENS[finding.kind]]
        position = finding.end
    parts.append(text[position:])
    return "".join(parts), Counter(f.kind for f in findings)


def mask_frame(frame: pd.DataFrame, columns: Iterable[str]) -> tuple[pd.DataFrame, Counter]:
    """A copy of ``frame`` whose ``columns`` (those present; text cells only) are masked, and the count per kind."""
    counts: Counter = Counter()
    out = frame.copy()
    for column in columns:
        if column not in out.columns:
            continue
        masked = []
        for value in out[column].tolist():
            if isinstance(value, str):
                value, found = mask_text(value)
                counts.update(found)
            masked.append(value)
        out[column] = pd.Series(masked, index=out.index, dtype=out[column].dtype)
    return out, counts


_MARK = re.compile(r"\[\[(\w+):(.*?)\]\]")


def parse_marked(marked: str) -> tuple[str, list[Finding]]:
    """Plain text and its personal data from text marked as ``[[kind:value]]`` (the test corpus' format)."""
    parts, findings, position, length = [], [], 0, 0
    for m in _MARK.finditer(marked):
        plain = marked[position : m.start()]
        parts.append(plain)
        length += len(plain)
        kind, value = m.group(1), m.group(2)
        if kind not in TOKENS:
            raise ValueError(f"Unknown kind {kind!r} in {marked!r}; expected one of {', '.join(KINDS)}.")
        findings.append(Finding(kind, length, length + len(value)))
        parts.append(value)
        length += len(value)
        position = m.end()
    parts.append(marked[position:])
    return "".join(parts), findings


def score(examples: Iterable[tuple[str, list[Finding]]]) -> dict[str, dict[str, float]]:
    """Precision, recall and counts per kind of ``find_pii`` against expected findings (exact spans count)."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for text, expected in examples:
        found = set(find_pii(text))
        wanted = set(expected)
        for f in found & wanted:
            tp[f.kind] += 1
        for f in found - wanted:
            fp[f.kind] += 1
        for f in wanted - found:
            fn[f.kind] += 1
    result = {}
    for kind in KINDS:
        result[kind] = {
            "expected": tp[kind] + fn[kind],
            "found": tp[kind] + fp[kind],
            "precision": round(tp[kind] / (tp[kind] + fp[kind]), 4) if tp[kind] + fp[kind] else 1.0,
            "recall": round(tp[kind] / (tp[kind] + fn[kind]), 4) if tp[kind] + fn[kind] else 1.0,
        }
    return result
