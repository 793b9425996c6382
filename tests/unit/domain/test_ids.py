"""solvent.domain.ids: SPEC §1 ids are 1 to 128 characters of letters, digits and `_ - . :`;
names beginning with `@` are system accounts (SPEC §6: `@insurance`, `@fees`, `@pnl:MARKET`)."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solvent.domain.errors import Rejection
from solvent.domain.ids import (
    FEES,
    INSURANCE,
    MAX_ID_LENGTH,
    check_account_id,
    check_id,
    is_plain_id,
    is_system,
    isolated_wallet,
    pnl_pool,
)

ID_CHARS = string.ascii_letters + string.digits + "_-.:"
ids = st.text(alphabet=ID_CHARS, min_size=1, max_size=MAX_ID_LENGTH)


def code_of(check, value) -> str:
    with pytest.raises(Rejection) as caught:
        check(value, "account")
    return caught.value.code


@pytest.mark.parametrize("value", ["a", "alice", "BTC-PERP", "acct_1", "v1.2", "ns:user:42", "0", "-", "..."])
def test_ids_of_letters_digits_and_the_four_punctuation_marks_are_valid(value):
    assert check_id(value, "account") == value


def test_id_of_128_characters_is_valid():
    value = "a" * 128
    assert check_id(value, "account") == value


def test_id_of_129_characters_is_rejected():
    assert code_of(check_id, "a" * 129) == "invalid_id"


@pytest.mark.parametrize(
    "value", ["", "a b", "a/b", "a@b", "@insurance", "é", "naïve", "a\tb", "a,b", "a#b", "\n", "日本"]
)
def test_ids_with_other_characters_or_empty_are_rejected(value):
    assert code_of(check_id, value) == "invalid_id"


@pytest.mark.parametrize("value", ["abc\n", "BTC-PERP\n"])
def test_id_with_a_trailing_newline_is_rejected(value):
    """A newline is not an id character, at the end as anywhere else (a `$`-anchored regex
    matches before a final newline)."""
    assert code_of(check_id, value) == "invalid_id"
    assert code_of(check_account_id, value) == "invalid_id"


def test_system_pool_name_with_a_trailing_newline_is_rejected():
    assert code_of(check_account_id, "@pnl:BTC-PERP\n") == "invalid_id"


@pytest.mark.parametrize("value", [None, 5, 1.5, True, ["a"], b"abc"])
def test_non_string_ids_are_rejected_as_a_type_error(value):
    assert code_of(check_id, value) == "invalid_type"


@given(ids)
def test_every_string_of_id_characters_up_to_128_long_is_valid(value):
    assert check_id(value, "x") == value
    assert check_account_id(value, "x") == value


@pytest.mark.parametrize("value", [INSURANCE, FEES, "@pnl:BTC-PERP", "@pnl:" + "m" * 128])
def test_system_account_names_are_valid_account_ids(value):
    assert check_account_id(value, "account") == value
    assert is_system(value)


def test_system_account_constants_have_their_spec_names():
    assert (INSURANCE, FEES, pnl_pool("ETH-PERP")) == ("@insurance", "@fees", "@pnl:ETH-PERP")


@pytest.mark.parametrize("value", ["@", "@alice", "@pnl:", "@pnl:a/b", "@pnl:" + "m" * 129, "@fees2", "@@fees"])
def test_unknown_or_malformed_system_names_are_rejected(value):
    assert code_of(check_account_id, value) == "invalid_id"


def test_system_names_are_not_plain_ids():
    """`@` is not an id character: a market or asset can never be called `@fees`."""
    assert code_of(check_id, FEES) == "invalid_id"


def test_plain_ids_are_not_system_accounts():
    assert not is_system("alice")
    assert not is_system("pnl:BTC")


@given(ids, ids)
def test_isolated_wallet_names_are_never_valid_account_ids(account, market):
    """The wallet name contains `/`, which no id may contain: it cannot collide with a user
    account, and is not one of the system names either."""
    wallet = isolated_wallet(account, market)
    with pytest.raises(Rejection):
        check_account_id(wallet, "account")
    assert wallet not in (INSURANCE, FEES)
    assert not wallet.startswith("@pnl:")


@given(ids, ids, ids, ids)
def test_isolated_wallet_names_of_different_positions_differ(a1, m1, a2, m2):
    """(account, market) -> wallet is injective: neither part can contain the `/` separator."""
    if (a1, m1) != (a2, m2):
        assert isolated_wallet(a1, m1) != isolated_wallet(a2, m2)


def test_isolated_wallet_name_of_the_insurance_account_is_not_a_pnl_pool():
    wallet = isolated_wallet(INSURANCE, "BTC-PERP")
    assert not wallet.startswith("@pnl:")
    assert wallet != pnl_pool("BTC-PERP")


#: SPEC §1's rule as a regular expression: what `is_plain_id` must agree with
_ID_RULE = re.compile(r"[A-Za-z0-9_\-.:]{1,128}\Z")
#: near misses: every id character, and characters that look like them or are not ASCII
_ID_ALPHABET = st.sampled_from(string.ascii_letters + string.digits + "_-.:" + " /@\t\n\x00é٣²Ａ-\u200b")


@given(st.one_of(st.text(_ID_ALPHABET, max_size=140), st.text(max_size=12),
                 st.integers(0, 3).map(lambda extra: "a" * (MAX_ID_LENGTH - 1 + extra))))
def test_is_plain_id_is_the_spec_rule(text):
    """The id check strips the allowed characters instead of matching a regular expression:
    the same answer on every text, non-ASCII digits and letters, lengths 127 to 130 included."""
    assert is_plain_id(text) == (_ID_RULE.match(text) is not None)
