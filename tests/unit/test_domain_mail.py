"""The invitation mail: user-supplied values are HTML-escaped, Cognito's placeholders are kept intact."""

import html
import re

import pytest

from authflow.mail import greeting_name, invitation, password_reset_code

USERNAME = "{username}"
CODE = "{####}"


def invite(name: str, app: str = "authflow", days: int = 7):
    return invitation(app_name=app, given_name=name, username_placeholder=USERNAME, code_placeholder=CODE, validity_days=days)


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "Ada <b>Lovelace</b> & Co",
        "O'Brien",
    ],
)
def test_a_hostile_name_is_shown_as_text_never_as_markup(name):
    mail = invite(name)

    assert html.escape(name) in mail.html or "Hello there," in mail.html
    for markup in ("<script", "<img", "<b>Lovelace", "onerror=alert(1)>"):
        if markup in name:
            assert markup not in mail.html
    # every tag in the mail is one of the template's own
    assert set(re.findall(r"</?([a-zA-Z]+)", mail.html)) <= {"html", "body", "p", "b", "br"}


def test_cognitos_placeholders_are_kept_exactly_once_each():
    mail = invite("Ada")
    # Cognito refuses a custom invitation without both placeholders; it replaces them itself.
    assert mail.html.count(USERNAME) == 1
    assert mail.html.count(CODE) == 1
    assert f"Your temporary password: <b>{CODE}</b>" in mail.html
    assert f"Your user id: <b>{USERNAME}</b>" in mail.html


def test_the_mail_names_the_app_the_user_and_the_validity():
    mail = invite("Ada", app="Acme & Sons", days=3)
    assert mail.subject.startswith("Your Acme") and mail.subject.endswith("Sons account")
    assert "Hello Ada," in mail.html
    assert "Acme &amp; Sons" in mail.html and "Acme & Sons" not in mail.html
    assert "valid for 3 days" in mail.html


def test_a_missing_name_still_greets_the_user():
    assert "Hello there," in invite("").html


def test_a_name_that_looks_like_a_template_variable_is_not_substituted():
    mail = invite("$app $code ${days}")
    assert "Hello there," in mail.html and "Hello authflow" not in mail.html


def test_the_subject_is_plain_text_not_html():
    assert invite("Ada", app="Acme & Sons").subject == "Your Acme & Sons account"


@pytest.mark.parametrize("name", ["Ada", "Jean-Luc", "O'Brien", "Zoë", "St. John", "Anne-Marie D'Arc", "李"])
def test_a_plain_name_is_greeted(name):
    assert greeting_name(name) == name
    assert f"Hello {html.escape(name)}," in invite(name).html


@pytest.mark.parametrize(
    "name",
    [
        "https://evil.example/login",
        "Visit evil.example now",
        "Call +44 20 7946 0000",
        "Ada1",
        "bob@example.com",
        "<b>Ada</b>",
        "Ada; click here",
        "A" * 41,
        "",
    ],
)
def test_anything_but_letters_spaces_and_apostrophes_hyphens_dots_is_left_out_of_every_mail(name):
    """A phishing line in full_name once reached the invitation's greeting (OWASP ASVS 5.0 1.3.x, output in mail)."""
    assert greeting_name(name) == "there"
    for mail in (invite(name), password_reset_code("authflow", name, CODE)):
        assert "Hello there," in mail.html
        if name:
            assert html.escape(name) not in mail.html
