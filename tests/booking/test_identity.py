"""Identity documents: validation per type, masking, and a blind index that hides the number."""

from __future__ import annotations

import pytest

from booking.identity import IdentityError, check_id
from tests.helpers import valid_cn_id

KEY = b"k" * 32


def test_a_valid_mainland_id_gives_birth_date_mask_and_digest():
    number = "11010519491231002X"
    checked = check_id("cn_id", number.lower(), KEY)
    assert checked.birth_date.isoformat() == "1949-12-31"
    assert checked.masked == "110***********002X"
    assert len(checked.digest) == 64 and number not in checked.digest
    assert check_id("cn_id", "1101 0519 4912 3100 2X", KEY).digest == checked.digest


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "check digit"),
        ("11010519491231002", "18 characters"),
        ("99010519491231002X", "region"),
        ("110105194913310028", "birth date"),
        ("110105180012310028", "plausible"),
    ],
)
def test_bad_mainland_ids_are_refused_with_the_reason(number, reason):
    with pytest.raises(IdentityError, match=reason):
        check_id("cn_id", number, KEY)


def test_permits_and_passports_are_checked_by_format():
    assert check_id("hk_mo_permit", "H12345678", KEY).masked == "H******78"
    assert check_id("tw_permit", "12345678", KEY).masked == "1*****78"
    assert check_id("passport", "E12345678", KEY).masked == "E******78"
    for id_type, number in [("hk_mo_permit", "X1234567"), ("tw_permit", "ABC"), ("passport", "E1")]:
        with pytest.raises(IdentityError):
            check_id(id_type, number, KEY)
    with pytest.raises(IdentityError, match="type"):
        check_id("drivers_licence", "123456789", KEY)


def test_the_digest_depends_on_the_key_and_the_document_type():
    number = valid_cn_id(3)
    assert check_id("cn_id", number, KEY).digest != check_id("cn_id", number, b"other-key").digest
    assert check_id("passport", "12345678", KEY).digest != check_id("tw_permit", "12345678", KEY).digest
