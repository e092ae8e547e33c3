"""National standards as pure functions: ID numbers, phones, masking, code tables.

No Flask application or database here: models, importers, the seed and tests all call
these. Problems raise :class:`StandardError`, whose ``message`` is a lazy msgid with its
parameters bound (translated when rendered).

* GB 11643-1999 citizen ID numbers: ISO 7064 MOD 11-2 check character, birth date and
  sex derived from the number, 15-digit numbers of the first generation upgraded.
* Phones: mobile numbers and landlines with their area codes, in one canonical form.
* PIPL masking of ID numbers, phones and names.
* Code tables (GB/T 2261.1, GB/T 3304, GB/T 4762, GB/T 4761) as ordered (code, label)
  lists; the labels are data (the 字典), not msgids.
"""
from __future__ import annotations

import datetime
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from app import clock

__all__ = [
    "StandardError", "normalize_text",
    "id_check_char", "normalize_id_number", "id_birth_date", "id_sex", "id_region",
    "normalize_phone", "mask_id_number", "mask_phone", "mask_name", "age_on",
    "SEX_CODES", "ETHNICITY_CODES", "POLITICAL_STATUS_CODES", "HOUSEHOLD_RELATION_CODES",
]


class StandardError(ValueError):
    """A value does not meet its standard.

    ``message`` is the lazy, translatable message (parameters bound); ``msgid`` and
    ``params`` are the untranslated parts, for tests and logs.
    """

    def __init__(self, msgid: str, **params):
        self.msgid = msgid
        self.params = params
        self.message = _l(msgid, **params)
        super().__init__(msgid, params)

    def __str__(self) -> str:
        return str(self.message)


# --- messages (msgids) ---------------------------------------------------------------


def N_(msgid: str) -> str:
    """Marks a msgid for extraction (``pybabel -k N_``); translated where it is raised."""
    return msgid


MSG_ID_LENGTH = N_("An ID number has 18 characters (or 15 for old ones).")
MSG_ID_DATE = N_("The birth date %(date)s in the ID number is not a real date.")
MSG_ID_CHECK = N_("The check character should be %(expected)s, not %(actual)s.")
MSG_ID_EXCEL = N_("Excel stored this ID number as a number and lost its last digits; "
                  "format the column as text and enter it again.")
MSG_PHONE = N_("Enter a mobile number of 11 digits or a landline with its area code, "
               "e.g. 0712-2345678.")


# --- text ------------------------------------------------------------------------------

#: zero-width characters that pasted text carries and NFKC keeps
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_SPACES = re.compile(r"\s+")


def normalize_text(value) -> str | None:
    """NFKC (full-width digits, letters and spaces → ASCII), strip, collapse inner
    whitespace to one space; None and blank → None."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value)).translate(_INVISIBLE)
    text = _SPACES.sub(" ", text).strip()
    return text or None


# --- ID numbers (GB 11643-1999) --------------------------------------------------------------

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"  # indexed by the weighted sum mod 11
EARLIEST_BIRTH = datetime.date(1900, 1, 1)

#: spaces, hyphens and dashes people type or paste inside numbers (after NFKC)
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?E\+?\d+")


def id_check_char(first17: str) -> str:
    """The MOD 11-2 check character of the first 17 digits."""
    if not (isinstance(first17, str) and len(first17) == 17 and first17.isascii()
            and first17.isdigit()):
        raise StandardError(MSG_ID_LENGTH)
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]


def _number_digits(value) -> str | None:
    """The decimal digits of an integral number as Excel delivers it, else None.

    A float is read through its shortest repr (4.20902198001011e+17 →
    "420902198001011000"): the digits Excel kept, never "repaired"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0 or not value.is_integer():
            return None
        return str(int(Decimal(repr(value))))
    if isinstance(value, Decimal):
        try:
            if value.is_finite() and value >= 0 and value == value.to_integral_value():
                return str(int(value))
        except InvalidOperation:
            pass
        return None
    return None


def _birth_date(digits8: str, today: datetime.date) -> datetime.date:
    shown = f"{digits8[:4]}-{digits8[4:6]}-{digits8[6:]}"
    try:
        born = datetime.date(int(digits8[:4]), int(digits8[4:6]), int(digits8[6:]))
    except ValueError:
        raise StandardError(MSG_ID_DATE, date=shown) from None
    if not EARLIEST_BIRTH <= born <= today:
        raise StandardError(MSG_ID_DATE, date=shown)
    return born


def _excel_rounded(raw, digits: str) -> bool:
    """Whether an 18-digit number came through Excel's 15 significant digits.

    Every 18-digit float ends in a 0 (a float holds at most 17 significant digits);
    an int from Excel ends in 000."""
    if isinstance(raw, float):
        return digits.endswith("0")
    return digits.endswith("000")


def normalize_id_number(raw, *, today: datetime.date | None = None) -> str:
    """The canonical 18-character ID number, or StandardError.

    Accepts str, int, float and Decimal as spreadsheets deliver them; full-width
    characters, spaces, hyphens and a lower-case x are tolerated. A 15-digit number of
    the first generation (YYMMDD, 19xx) is upgraded to 18 characters. ``today`` bounds
    the birth date (default: the current date).
    """
    today = today or clock.today()
    from_number = raw is not None and not isinstance(raw, str)
    if from_number:
        digits = _number_digits(raw)
        if digits is None:
            raise StandardError(MSG_ID_LENGTH)
        value = digits
    else:
        value = unicodedata.normalize("NFKC", raw or "").translate(_INVISIBLE)
        value = _SEPARATORS.sub("", value).lstrip("'").upper()
        if _SCIENTIFIC.fullmatch(value):  # "4.20902198001011E+17" from a CSV export
            raise StandardError(MSG_ID_EXCEL)

    if not value.isascii():
        raise StandardError(MSG_ID_LENGTH)
    if len(value) == 15:
        if not value.isdigit():
            raise StandardError(MSG_ID_LENGTH)
        first17 = value[:6] + "19" + value[6:]
        _birth_date(first17[6:14], today)
        return first17 + id_check_char(first17)
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X":
        raise StandardError(MSG_ID_LENGTH)
    _birth_date(value[6:14], today)
    expected = id_check_char(value[:17])
    if value[17] != expected:
        if from_number and _excel_rounded(raw, value):
            raise StandardError(MSG_ID_EXCEL)
        raise StandardError(MSG_ID_CHECK, expected=expected, actual=value[17])
    return value


def id_birth_date(id18) -> datetime.date:
    """The birth date encoded in an ID number (validated and normalised first)."""
    value = normalize_id_number(id18)
    return datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def id_sex(id18) -> str:
    """GB/T 2261.1 sex code from the 17th character: "1" male (odd), "2" female (even)."""
    value = normalize_id_number(id18)
    return "1" if int(value[16]) % 2 else "2"


def id_region(id18) -> str:
    """The GB/T 2260 administrative region code of registration (first 6 digits)."""
    return normalize_id_number(id18)[:6]


# --- phones -------------------------------------------------------------------------------

_PHONE_DROP = re.compile(r"[\s()\[\]{}（）【】]+")
_HYPHENS = re.compile(r"[\-\u2010-\u2015\u2212]+")
_MOBILE = re.compile(r"(?:\+?86|0086)?(1[3-9]\d{9})")
# area codes: 010 and 020–029 (their numbers have 8 digits); 0300–0999 (7 or 8 digits)
_LANDLINE = re.compile(
    r"(?P<area>0(?:10|2\d)|0[3-9]\d\d)-?(?P<number>[2-9]\d{6,7})(?:[-转](?P<ext>\d{1,5}))?")
_LOCAL = re.compile(r"[2-9]\d{6,7}")
_EXTENSION = re.compile(r"\d{1,5}")


def normalize_phone(raw, *, allow_local: bool = False) -> str:
    """The canonical phone number, or StandardError.

    Mobile "13812345678" (a +86 / 86 / 0086 prefix is dropped); landline
    "0712-2345678", with an extension "0712-2345678-123" (typed as -123 or 转123);
    with ``allow_local``, a 7–8 digit number without area code ("2345678").
    """
    digits = _number_digits(raw) if not isinstance(raw, str) and raw is not None else None
    text = digits if digits is not None else normalize_text(raw) or ""
    text = _HYPHENS.sub("-", _PHONE_DROP.sub("", text)).strip("-")
    mobile = _MOBILE.fullmatch(text.replace("-", ""))
    if mobile:
        return mobile.group(1)
    landline = _LANDLINE.fullmatch(text)
    if landline:
        area, number, ext = landline.group("area", "number", "ext")
        if len(area) == 4 or len(number) == 8:  # 3-digit area codes have 8-digit numbers
            return f"{area}-{number}" + (f"-{ext}" if ext else "")
    if allow_local:
        number, sep, ext = text.partition("转")
        local = _LOCAL.fullmatch(number.replace("-", ""))
        if local and (not sep or _EXTENSION.fullmatch(ext)):
            return local.group() + (f"-{ext}" if sep else "")
    raise StandardError(MSG_PHONE)


# --- masking (PIPL: minimum necessary) ---------------------------------------------------

def mask_id_number(id18) -> str:
    """First 4 and last 4 characters shown: "4209**********123X"."""
    text = normalize_text(id18)
    if not text:
        return ""
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


_MASKED_MOBILE = re.compile(r"1\d{10}")
_MASKED_LANDLINE = re.compile(r"(0\d{2,3})-(\d{7,8})(?:-(\d+))?")


def _mask_tail(text: str, keep: int) -> str:
    """All but the last ``keep`` characters masked (everything if the text is short)."""
    if len(text) <= keep:
        return "*" * len(text)
    return "*" * (len(text) - keep) + text[-keep:]


def mask_phone(phone) -> str:
    """Mobile "138****1234"; landline keeps its area code and last 2 digits
    ("0712-*****78"); anything else keeps its last 2 characters."""
    text = normalize_text(phone)
    if not text:
        return ""
    try:
        text = normalize_phone(text, allow_local=True)
    except StandardError:
        return _mask_tail(text, 2)
    if _MASKED_MOBILE.fullmatch(text):
        return text[:3] + "****" + text[-4:]
    landline = _MASKED_LANDLINE.fullmatch(text)
    if landline:
        area, number, ext = landline.groups()
        return f"{area}-{_mask_tail(number, 2)}" + (f"-{'*' * len(ext)}" if ext else "")
    number, _, ext = text.partition("-")  # a local number
    return _mask_tail(number, 2) + (f"-{'*' * len(ext)}" if ext else "")


#: compound surnames (复姓), kept whole when the name is longer than the surname
COMPOUND_SURNAMES = frozenset("""
欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 司空 夏侯 轩辕 令狐 钟离 端木
独孤 南宫 西门 百里 呼延 澹台 公冶 太史 申屠 万俟 闻人 赫连 拓跋 左丘 东郭 南门 羊舌 微生
公羊 梁丘 公良 乐正 漆雕 壤驷 谷梁 宰父 夹谷 拓拔 第五 仲孙 叔孙 单于 濮阳 淳于 太叔 公西
""".split())


def mask_name(name) -> str:
    """The surname shown, one "*" per other character: "张*", "欧阳**" (a compound
    surname is kept whole when the name is longer)."""
    text = normalize_text(name)
    if not text:
        return ""
    keep = 2 if len(text) > 2 and text[:2] in COMPOUND_SURNAMES else 1
    return text[:keep] + "*" * (len(text) - keep)


# --- ages ---------------------------------------------------------------------------------

def age_on(birth_date: datetime.date, on_date: datetime.date) -> int:
    """Full years (周岁) reached on ``on_date``; a 29 February birthday is reached on
    1 March in common years. Raises ValueError if ``on_date`` is before the birth."""
    if isinstance(birth_date, datetime.datetime):
        birth_date = birth_date.date()
    if isinstance(on_date, datetime.datetime):
        on_date = on_date.date()
    if on_date < birth_date:
        raise ValueError("on_date is before birth_date")
    years = on_date.year - birth_date.year
    if (on_date.month, on_date.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


# --- code tables ------------------------------------------------------------------------------

#: GB/T 2261.1-2003 人的性别代码
SEX_CODES: list[tuple[str, str]] = [
    ("0", "未知的性别"), ("1", "男"), ("2", "女"), ("9", "未说明的性别"),
]

#: GB/T 3304-1991 中国各民族名称的罗马字母拼写法和代码 (the standard's order)
ETHNICITY_CODES: list[tuple[str, str]] = [
    ("01", "汉族"), ("02", "蒙古族"), ("03", "回族"), ("04", "藏族"), ("05", "维吾尔族"),
    ("06", "苗族"), ("07", "彝族"), ("08", "壮族"), ("09", "布依族"), ("10", "朝鲜族"),
    ("11", "满族"), ("12", "侗族"), ("13", "瑶族"), ("14", "白族"), ("15", "土家族"),
    ("16", "哈尼族"), ("17", "哈萨克族"), ("18", "傣族"), ("19", "黎族"), ("20", "傈僳族"),
    ("21", "佤族"), ("22", "畲族"), ("23", "高山族"), ("24", "拉祜族"), ("25", "水族"),
    ("26", "东乡族"), ("27", "纳西族"), ("28", "景颇族"), ("29", "柯尔克孜族"), ("30", "土族"),
    ("31", "达斡尔族"), ("32", "仫佬族"), ("33", "羌族"), ("34", "布朗族"), ("35", "撒拉族"),
    ("36", "毛南族"), ("37", "仡佬族"), ("38", "锡伯族"), ("39", "阿昌族"), ("40", "普米族"),
    ("41", "塔吉克族"), ("42", "怒族"), ("43", "乌孜别克族"), ("44", "俄罗斯族"), ("45", "鄂温克族"),
    ("46", "德昂族"), ("47", "保安族"), ("48", "裕固族"), ("49", "京族"), ("50", "塔塔尔族"),
    ("51", "独龙族"), ("52", "鄂伦春族"), ("53", "赫哲族"), ("54", "门巴族"), ("55", "珞巴族"),
    ("56", "基诺族"), ("97", "其他"), ("98", "外国血统中国籍人士"),
]

#: GB/T 4762-1984 政治面貌代码 (as revised; the standard's short names)
POLITICAL_STATUS_CODES: list[tuple[str, str]] = [
    ("01", "中共党员"), ("02", "中共预备党员"), ("03", "共青团员"), ("04", "民革党员"),
    ("05", "民盟盟员"), ("06", "民建会员"), ("07", "民进会员"), ("08", "农工党党员"),
    ("09", "致公党党员"), ("10", "九三学社社员"), ("11", "台盟盟员"), ("12", "无党派人士"),
    ("13", "群众"),
]

#: GB/T 4761-2008 家庭关系代码
HOUSEHOLD_RELATION_CODES: list[tuple[str, str]] = [
    ("01", "本人"), ("02", "户主"),
    ("10", "配偶"), ("11", "夫"), ("12", "妻"),
    ("20", "子"), ("21", "独生子"), ("22", "长子"), ("23", "次子"), ("24", "三子"),
    ("25", "四子"), ("26", "五子"), ("27", "养子或继子"), ("28", "女婿"), ("29", "其他儿子"),
    ("30", "女"), ("31", "独生女"), ("32", "长女"), ("33", "次女"), ("34", "三女"),
    ("35", "四女"), ("36", "五女"), ("37", "养女或继女"), ("38", "儿媳"), ("39", "其他女儿"),
    ("40", "孙子、孙女或外孙子、外孙女"), ("41", "孙子"), ("42", "孙女"), ("43", "外孙子"),
    ("44", "外孙女"), ("45", "孙媳妇或外孙媳妇"), ("46", "孙女婿或外孙女婿"),
    ("47", "曾孙子或外曾孙子"), ("48", "曾孙女或外曾孙女"),
    ("49", "其他孙子、孙女或外孙子、外孙女"),
    ("50", "父母"), ("51", "父亲"), ("52", "母亲"), ("53", "公公"), ("54", "婆婆"),
    ("55", "岳父"), ("56", "岳母"), ("57", "继父或养父"), ("58", "继母或养母"),
    ("59", "其他父母关系"),
    ("60", "祖父母或外祖父母"), ("61", "祖父"), ("62", "祖母"), ("63", "外祖父"),
    ("64", "外祖母"), ("65", "配偶的祖父母或外祖父母"), ("66", "曾祖父"), ("67", "曾祖母"),
    ("68", "配偶的曾祖父母或外曾祖父母"), ("69", "其他祖父母或外祖父母关系"),
    ("70", "兄弟姐妹"), ("71", "兄"), ("72", "嫂"), ("73", "弟"), ("74", "弟媳"),
    ("75", "姐姐"), ("76", "姐夫"), ("77", "妹妹"), ("78", "妹夫"), ("79", "其他兄弟姐妹"),
    ("80", "其他"), ("81", "伯父"), ("82", "伯母"), ("83", "叔父"), ("84", "婶母"),
    ("85", "舅父"), ("86", "舅母"), ("87", "姨父"), ("88", "姨母"), ("89", "姑父"),
    ("90", "姑母"), ("91", "堂兄弟、堂姐妹"), ("92", "表兄弟、表姐妹"), ("93", "侄子"),
    ("94", "侄女"), ("95", "外甥"), ("96", "外甥女"), ("97", "其他亲属"), ("99", "非亲属"),
]
