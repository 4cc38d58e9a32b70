"""The password rule itself (NIST SP 800-63B-4 3.1.1.2, OWASP ASVS 5.0 6.2.1-6.2.5 and 6.2.12) and the
temporary passwords authflow mails (issue 12 item 6). The same rule over HTTP: tests/e2e/test_credentials.py."""

import hashlib
import html
import secrets
import string

import pytest
from pydantic import SecretStr

from authflow import errors
from authflow.password_policy import MAXIMUM_LENGTH, PasswordPolicy, common_passwords
from infra.pwned_passwords import BREACHED_PASSWORDS, PwnedPasswordsRange

EMAIL = "ada.lovelace@example.com"
OFFLINE = PasswordPolicy(minimum_length=15, composition_rules=False, pwned_passwords_range_url="", service_name="authflow")
COGNITO_API_RULES = PasswordPolicy(minimum_length=15, composition_rules=True, pwned_passwords_range_url="", service_name="authflow")


def random_letters(length: int) -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(length))


@pytest.fixture(scope="module")
def pwned():
    service = PwnedPasswordsRange().start()
    yield service
    service.stop()


def refusal(policy: PasswordPolicy, password: str, email: str = EMAIL) -> str | None:
    try:
        policy.check(SecretStr(password), email)
    except errors.AuthflowError as error:
        assert password not in error.message, "a refusal never repeats the password"
        return error.code
    return None


def test_15_to_128_characters_without_composition_rules_are_accepted():
    assert refusal(OFFLINE, random_letters(14)) == "INVALID_PASSWORD"
    assert refusal(OFFLINE, random_letters(15)) is None
    assert refusal(OFFLINE, random_letters(MAXIMUM_LENGTH)) is None
    assert refusal(OFFLINE, random_letters(MAXIMUM_LENGTH + 1)) == "INVALID_PASSWORD"
    assert refusal(OFFLINE, "a long passphrase with spaces") is None
    assert refusal(OFFLINE, "ünïcødé pässwörd ☃ ok") is None


def test_the_minimum_length_is_the_parameters():
    policy = PasswordPolicy(minimum_length=20, composition_rules=False, pwned_passwords_range_url="", service_name="authflow")
    assert refusal(policy, random_letters(19)) == "INVALID_PASSWORD"
    assert refusal(policy, random_letters(20)) is None


def test_composition_rules_restore_cognito_apis_upper_lower_digit_symbol():
    assert refusal(COGNITO_API_RULES, random_letters(20)) == "INVALID_PASSWORD"
    assert refusal(COGNITO_API_RULES, "nouppercase-digit-9") == "INVALID_PASSWORD"
    assert refusal(COGNITO_API_RULES, "NoSymbolButDigit9") == "INVALID_PASSWORD"
    assert refusal(COGNITO_API_RULES, "All-Four-Kinds-9") is None


def test_the_common_password_list_is_djangos_and_holds_more_than_the_asvs_3000():
    listed = common_passwords()
    assert len(listed) == 19640
    assert {"123456", "password", "qwerty", "iloveyou"} <= listed
    assert all(p == p.lower() for p in listed)


@pytest.mark.parametrize("password", ["1q2w3e4r5t6y7u8i9o0p", "qwerty123456789", "QWERTY123456789", "manchesterunited"])
def test_a_common_password_is_refused_whatever_its_case(password):
    assert refusal(OFFLINE, password) == "PASSWORD_TOO_COMMON"


@pytest.mark.parametrize("password", ["my AuthFlow password 2026", "ada.lovelace-is-my-password", "Ada.Lovelace@example.com!!"])
def test_a_password_built_on_the_service_name_or_the_users_email_is_refused(password):
    assert refusal(OFFLINE, password) == "PASSWORD_TOO_COMMON"


def test_another_users_email_in_a_password_is_no_reason_to_refuse_it():
    assert refusal(OFFLINE, "ada.lovelace-is-my-password", email="grace.hopper@example.com") is None


def test_a_short_local_part_does_not_forbid_every_password_holding_it():
    assert refusal(OFFLINE, "a bold violet harbour", email="bo@example.com") is None


def test_a_breached_password_is_refused_and_only_5_hex_digits_of_its_sha1_leave(pwned):
    policy = PasswordPolicy(minimum_length=15, composition_rules=False, pwned_passwords_range_url=pwned.url, service_name="authflow")
    breached = BREACHED_PASSWORDS[0]
    assert breached not in common_passwords(), "the range API, not the list, must be what refuses it"
    before = len(pwned.requests)

    assert refusal(policy, breached) == "PASSWORD_TOO_COMMON"
    assert refusal(OFFLINE, breached) is None, "without the range API it would pass"

    digest = hashlib.sha1(breached.encode()).hexdigest().upper()
    assert pwned.requests[before:] == [digest[:5]]


def test_a_password_not_in_the_range_is_accepted_despite_the_padding(pwned):
    policy = PasswordPolicy(minimum_length=15, composition_rules=False, pwned_passwords_range_url=pwned.url, service_name="authflow")
    password = random_letters(24)
    assert pwned.answer(hashlib.sha1(password.encode()).hexdigest().upper()[:5], padded=True).count(":0") > 0

    assert refusal(policy, password) is None


def test_an_unreachable_range_api_leaves_the_common_list_in_force():
    unreachable = PasswordPolicy(
        minimum_length=15, composition_rules=False, pwned_passwords_range_url="http://127.0.0.1:9/range", service_name="authflow"
    )
    assert refusal(unreachable, random_letters(20)) is None
    assert refusal(unreachable, "qwerty123456789") == "PASSWORD_TOO_COMMON"


@pytest.mark.parametrize("policy", [OFFLINE, COGNITO_API_RULES, PasswordPolicy(40, True, "", "authflow")])
def test_temporary_passwords_meet_the_policy_and_need_no_html_escaping(policy):
    drawn = [policy.temporary_password() for _ in range(500)]

    assert len(set(drawn)) == len(drawn)
    for password in drawn:
        assert refusal(policy, password) is None
        assert html.escape(password, quote=True) == password
        assert not set(password) & set("0O1lI"), "no character read as another"
