"""app.standards: ID numbers (GB 11643-1999), phones, masking, ages and code tables.

Plain functions: no fixture is requested (the suite's autouse isolation fixture still
runs, hence the suppressed function-scoped-fixture health check; the examples touch no
database). Messages are compared by msgid, never by their translation.
"""
from __future__ import annotations

import datetime

import pytest
from flask_babel.speaklater import LazyString
from hypothesis import HealthCheck, given, settings, strategies as st

from app import clock
from app.standards import (
    ETHNICITY_CODES, HOUSEHOLD_RELATION_CODES, MSG_ID_CHECK, MSG_ID_DATE, MSG_ID_EXCEL,
    MSG_ID_LENGTH, MSG_PHONE, POLITICAL_STATUS_CODES, SEX_CODES, StandardError, age_on,
    id_birth_date, id_check_char, id_region, id_sex, mask_id_number, mask_name, mask_phone,
    normalize_id_number, normalize_phone, normalize_text,
)

PROPERTY = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
TODAY = clock.today()  # the domain's day (Beijing time), as the code under test reads it
ID_CHARS = "0123456789X"


def make_id(region: str, born: datetime.date, sequence: str) -> str:
    first17 = f"{region}{born:%Y%m%d}{sequence}"
    return first17 + id_check_char(first17)


def rejection(raw, **kwargs) -> StandardError:
    with pytest.raises(StandardError) as caught:
        normalize_id_number(raw, **kwargs)
    return caught.value


regions = st.one_of(
    st.sampled_from(["110101", "420902", "440305", "310115", "510104", "650102"]),
    st.integers(110000, 659004).map(str),
)
birth_dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(0, 999).map("{:03d}".format)
valid_ids = st.builds(make_id, regions, birth_dates, sequences)


# --- properties --------------------------------------------------------------------------

@PROPERTY
@given(region=regions, born=birth_dates, sequence=sequences)
def test_every_valid_number_passes(region, born, sequence):
    number = make_id(region, born, sequence)
    assert normalize_id_number(number) == number
    assert normalize_id_number(number.lower()) == number
    assert id_birth_date(number) == born
    assert id_sex(number) == ("1" if int(sequence[-1]) % 2 else "2")
    assert id_region(number) == region
    masked = mask_id_number(number)
    assert len(masked) == 18 and masked[:4] == number[:4] and masked[-4:] == number[-4:]
    assert masked[4:14] == "*" * 10


@PROPERTY
@given(number=valid_ids, data=st.data())
def test_every_single_character_change_is_rejected(number, data):
    position = data.draw(st.integers(0, 17), label="position")
    other = data.draw(st.sampled_from([c for c in ID_CHARS if c != number[position]]),
                      label="replacement")
    changed = number[:position] + other + number[position + 1:]
    error = rejection(changed)
    assert error.msgid in (MSG_ID_CHECK, MSG_ID_DATE, MSG_ID_LENGTH)


@PROPERTY
@given(number=valid_ids, position=st.integers(0, 16))
def test_every_adjacent_transposition_is_rejected(number, position):
    a, b = number[position], number[position + 1]
    if a == b:
        return  # the string does not change
    rejection(number[:position] + b + a + number[position + 2:])


@PROPERTY
@given(region=regions, sequence=sequences,
       born=st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(1999, 12, 31)))
def test_every_old_number_is_upgraded(region, born, sequence):
    old = f"{region}{born:%y%m%d}{sequence}"
    assert normalize_id_number(old) == make_id(region, born, sequence)


@PROPERTY
@given(number=valid_ids)
def test_numbers_delivered_as_integers_pass_when_exact(number):
    if number.endswith("X"):
        return  # no integer can carry the X
    assert normalize_id_number(int(number)) == number


# --- ID number examples ----------------------------------------------------------------------

def test_check_character_examples():
    # the standard's own example (GB 11643-1999, appendix): 11010519491231002X
    assert id_check_char("11010519491231002") == "X"
    assert normalize_id_number("11010519491231002X") == "11010519491231002X"
    assert id_sex("11010519491231002X") == "2"
    assert id_birth_date("11010519491231002X") == datetime.date(1949, 12, 31)
    with pytest.raises(StandardError):
        id_check_char("1101051949123100")


def test_fifteen_digit_number_is_upgraded():
    # 420902 800101 123: born 1980-01-01, sequence 123 (odd → male)
    upgraded = normalize_id_number("420902800101123")
    assert upgraded == "42090219800101123" + id_check_char("42090219800101123")
    assert len(upgraded) == 18
    assert id_birth_date("420902800101123") == datetime.date(1980, 1, 1)
    assert id_sex("420902800101123") == "1"
    assert normalize_id_number(420902800101123) == upgraded  # as an Excel number


def test_lowercase_x_spaces_hyphens_and_full_width():
    assert normalize_id_number("11010519491231002x") == "11010519491231002X"
    assert normalize_id_number(" 110105 1949-1231 002x ") == "11010519491231002X"
    assert normalize_id_number("１１０１０５１９４９１２３１００２Ｘ") == "11010519491231002X"
    assert normalize_id_number("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"


def test_integer_and_integral_float_input():
    assert normalize_id_number(420902198506152412) == "420902198506152412"
    old = 420902850615241
    assert normalize_id_number(float(old)) == normalize_id_number(str(old))


def test_float_that_lost_precision_gets_the_excel_message():
    # 420902198001011235 typed into a number cell: Excel keeps 15 significant digits
    # (the check character of 42090219800101100 is 8, not 0)
    assert rejection(4.20902198001011e17).msgid == MSG_ID_EXCEL
    # through Python's float: 17 significant digits at most, never "repaired"
    assert rejection(float("420902198001011235")).msgid == MSG_ID_EXCEL
    assert rejection(420902198001011000).msgid == MSG_ID_EXCEL
    # the CSV form of such a cell
    assert rejection("4.20902198001011E+17").msgid == MSG_ID_EXCEL
    # a typed string ending in 0 is an ordinary wrong check character
    error = rejection("420902198001011230")
    assert (error.msgid, error.params) == (MSG_ID_CHECK, {"expected": "5", "actual": "0"})


def test_impossible_and_future_birth_dates():
    error = rejection("420902199902311234")
    assert (error.msgid, error.params) == (MSG_ID_DATE, {"date": "1999-02-31"})
    tomorrow = TODAY + datetime.timedelta(days=1)
    assert rejection(make_id("420902", tomorrow, "123")).msgid == MSG_ID_DATE
    assert normalize_id_number(make_id("420902", TODAY, "123"))  # born today
    error = rejection(make_id("420902", datetime.date(2030, 1, 1), "123"),
                      today=datetime.date(2026, 1, 1))
    assert error.params == {"date": "2030-01-01"}
    assert rejection("420902189912311234").msgid == MSG_ID_DATE  # before 1900
    assert rejection("420902991301123").msgid == MSG_ID_DATE  # old number, month 13
    # 2000-02-29 exists, 1900-02-29 does not
    assert normalize_id_number(make_id("420902", datetime.date(2000, 2, 29), "001"))
    assert rejection("420902190002291234").params == {"date": "1900-02-29"}


def test_wrong_length_or_characters():
    for raw in ["", None, "4209021980010112", "4209021980010112345", "42090219800101A235",
                "X20902198001011235", "42090280010112X", "420902.5", 420902.5, -1, True,
                "四二〇九〇二一九八〇〇一〇一一二三五", datetime.date(1980, 1, 1)]:
        assert rejection(raw).msgid == MSG_ID_LENGTH, raw


def test_wrong_check_character_names_both():
    error = rejection("110105194912310021")
    assert error.msgid == MSG_ID_CHECK
    assert error.params == {"expected": "X", "actual": "1"}
    assert isinstance(error, ValueError)
    assert isinstance(error.message, LazyString)
    assert "X" in str(error.message) and "1" in str(error.message)


def test_sex_code_and_region():
    assert id_sex(make_id("440305", datetime.date(1990, 5, 1), "011")) == "1"
    assert id_sex(make_id("440305", datetime.date(1990, 5, 1), "010")) == "2"
    assert id_region("11010519491231002X") == "110105"
    with pytest.raises(StandardError):
        id_sex("11010519491231002")


# --- text, phones, masking, ages ----------------------------------------------------------------

def test_normalize_text():
    assert normalize_text(None) is None
    assert normalize_text("") is None
    assert normalize_text(" \u3000 \t") is None
    assert normalize_text("  文化路\u3000 社区  12 栋 ") == "文化路 社区 12 栋"
    assert normalize_text("ＡＢＣ１２３") == "ABC123"
    assert normalize_text("a\u200bb") == "ab"
    assert normalize_text(12) == "12"


@pytest.mark.parametrize("raw, expected", [
    ("13812345678", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("+8613812345678", "13812345678"),
    ("8613812345678", "13812345678"),
    ("0086 13812345678", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"),
    (13812345678, "13812345678"),
    (13812345678.0, "13812345678"),
    ("0712-2345678", "0712-2345678"),
    ("07122345678", "0712-2345678"),
    ("(0712) 2345678", "0712-2345678"),
    ("（0712）2345678", "0712-2345678"),
    ("0712－2345678", "0712-2345678"),
    ("0712 - 234 5678", "0712-2345678"),
    ("010-23456789", "010-23456789"),
    ("01023456789", "010-23456789"),
    ("027-87654321", "027-87654321"),
    ("0712-2345678-123", "0712-2345678-123"),
    ("0712-2345678转123", "0712-2345678-123"),
    ("07122345678转8", "0712-2345678-8"),
])
def test_phone_accepted(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", [
    "1381234567",       # 10 digits
    "0712234567",       # 10 digits with an area code
    "0102345678",       # 10 digits: 010 numbers have 8 digits
    "138123456789",     # 12-digit mobile
    "12812345678",      # no 12x mobile numbers
    "2345678",          # local number, not allowed by default
    "0712-12345678",    # local numbers do not start with 1
    "0712-2345678-123456",
    "13812345678转1",
    "", None, "电话", 7122345678,
])
def test_phone_rejected(raw):
    with pytest.raises(StandardError) as caught:
        normalize_phone(raw)
    assert caught.value.msgid == MSG_PHONE


def test_local_numbers_only_when_allowed():
    assert normalize_phone("2345678", allow_local=True) == "2345678"
    assert normalize_phone("8765-4321", allow_local=True) == "87654321"
    assert normalize_phone("2345678转12", allow_local=True) == "2345678-12"
    assert normalize_phone("0712-2345678", allow_local=True) == "0712-2345678"
    for raw in ["234567", "234567890", "1234567"]:
        with pytest.raises(StandardError):
            normalize_phone(raw, allow_local=True)


def test_masking():
    assert mask_id_number("42090219800101123X") == "4209**********123X"
    assert mask_id_number(None) == mask_id_number("") == ""
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("0712-2345678") == "0712-*****78"
    assert mask_phone("010-23456789") == "010-******89"
    assert mask_phone("0712-2345678-123") == "0712-*****78-***"
    assert mask_phone("2345678") == "*****78"
    assert mask_phone(None) == mask_phone("") == ""
    assert mask_name("张三") == "张*"
    assert mask_name("李小龙") == "李**"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_name("欧阳修") == "欧阳*"
    assert mask_name("张") == "张"
    assert mask_name(None) == mask_name("") == ""


def test_age_on_across_birthdays():
    born = datetime.date(2012, 6, 15)
    assert age_on(born, datetime.date(2026, 6, 14)) == 13
    assert age_on(born, datetime.date(2026, 6, 15)) == 14
    assert age_on(born, datetime.date(2026, 12, 31)) == 14
    assert age_on(born, born) == 0
    leap = datetime.date(2008, 2, 29)
    assert age_on(leap, datetime.date(2026, 2, 28)) == 17
    assert age_on(leap, datetime.date(2026, 3, 1)) == 18
    assert age_on(leap, datetime.date(2028, 2, 29)) == 20
    with pytest.raises(ValueError):
        age_on(born, datetime.date(2012, 6, 14))


# --- code tables --------------------------------------------------------------------------------

def _well_formed(table, width):
    codes = [code for code, _ in table]
    assert len(set(codes)) == len(codes)
    assert codes == sorted(codes)
    assert all(len(code) == width and code.isdigit() for code in codes)
    assert all(label and label == label.strip() for _, label in table)


def test_code_tables():
    _well_formed(SEX_CODES, 1)
    assert [code for code, _ in SEX_CODES] == ["0", "1", "2", "9"]
    _well_formed(ETHNICITY_CODES, 2)
    assert len(ETHNICITY_CODES) == 58
    assert ETHNICITY_CODES[0] == ("01", "汉族") and ETHNICITY_CODES[55] == ("56", "基诺族")
    assert [code for code, _ in ETHNICITY_CODES[:56]] == [f"{n:02d}" for n in range(1, 57)]
    assert ETHNICITY_CODES[56:] == [("97", "其他"), ("98", "外国血统中国籍人士")]
    _well_formed(POLITICAL_STATUS_CODES, 2)
    assert [code for code, _ in POLITICAL_STATUS_CODES] == [f"{n:02d}" for n in range(1, 14)]
    assert POLITICAL_STATUS_CODES[-1] == ("13", "群众")
    _well_formed(HOUSEHOLD_RELATION_CODES, 2)
    relations = dict(HOUSEHOLD_RELATION_CODES)
    assert relations["02"] == "户主" and relations["10"] == "配偶" and relations["99"] == "非亲属"
    assert len(HOUSEHOLD_RELATION_CODES) == 2 + 3 + 6 * 10 + 18 + 1


def test_seed_maps_the_tables():
    from seed.standards import DICTIONARY

    assert DICTIONARY == {
        "gender": SEX_CODES, "ethnicity": ETHNICITY_CODES,
        "political_status": POLITICAL_STATUS_CODES,
        "household_relation": HOUSEHOLD_RELATION_CODES,
    }
