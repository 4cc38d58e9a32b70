"""Which email addresses are accepted (issue 15 item 7): NFKC-normalised and lower-cased, ASCII before
the @, no mixing of scripts (Unicode UTS #39 5.2, highly restrictive). Over HTTP: tests/e2e/test_credentials.py."""

import pytest
from pydantic import ValidationError

from authflow.models import CreateUserRequest


def kept(email: str) -> str:
    return CreateUserRequest(full_name="Ada Lovelace", email=email).email


def refused(email: str) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as error:
        kept(email)
    return [(e["type"], e["msg"]) for e in error.value.errors()]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("ｂｏｂ@example.com", "bob@example.com"),  # full-width letters
        ("ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ", "bob@example.com"),  # full-width @ and dot too
        ("Bob@Example.COM", "bob@example.com"),
        ("\U0001d41b\U0001d428\U0001d41b@example.com", "bob@example.com"),  # mathematical bold letters
        ("taro@例え.jp", "taro@例え.jp"),  # Latin with Han and Hiragana: a Japanese domain
        ("123@пример.рф", "123@пример.рф"),  # one script only
    ],
)
def test_an_address_is_kept_normalised(sent, stored):
    assert kept(sent) == stored


@pytest.mark.parametrize(
    ("email", "why"),
    [
        ("bоb@example.com", "the part before @ must be ASCII"),  # Cyrillic о
        ("bοb@example.com", "the part before @ must be ASCII"),  # Greek omicron
        ("josé@example.com", "the part before @ must be ASCII"),
        ("bob@exаmple.com", "the address mixes scripts"),  # Cyrillic а in the domain
        ("bob@ex\u03bfmple.com", "the address mixes scripts"),  # Greek omicron in the domain
        ("bob@пример.рф", "the address mixes scripts"),  # Latin before the @, Cyrillic after
    ],
)
def test_look_alike_addresses_are_refused_as_invalid_email(email, why):
    assert refused(email) == [("invalid_email", why)]


def test_a_malformed_address_is_still_an_ordinary_validation_error():
    assert [kind for kind, _ in refused("not-an-email")] == ["value_error"]
