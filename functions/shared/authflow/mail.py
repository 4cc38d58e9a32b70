"""The mail users receive. Every user-supplied value in a body is HTML-escaped (subjects are plain
text); Cognito fills its own placeholders."""

import re
from dataclasses import dataclass
from html import escape
from string import Template

from authflow.aws import client, raise_transient


@dataclass(frozen=True)
class Mail:
    subject: str
    html: str


class Mailer:
    """Sends authflow's own mail through SES (Cognito sends its mails itself, through the custom message trigger)."""

    def __init__(self, from_address: str):
        self.from_address = from_address

    def send(self, to: str, message: Mail) -> None:
        try:
            client("ses").send_email(
                Source=self.from_address,
                Destination={"ToAddresses": [to]},
                Message={"Subject": {"Data": message.subject}, "Body": {"Html": {"Data": message.html}}},
            )
        except Exception as error:
            raise_transient(error, "Mail")
            raise


# A name in a greeting: letters (any script), spaces and '-. only, so nobody can write a sentence, a
# link or an address into a mail that authflow sends to someone else (a phishing line went out once).
# A dot only ends a word ("St. John"), so no host name ("evil.example") passes.
_GREETING_NAME = re.compile(r"[^\W\d_]+\.?(?:[ '\-]+[^\W\d_]+\.?)*")
_GREETING_NAME_MAX = 40


def greeting_name(user_supplied: str) -> str:
    """The user-supplied name if it is a plain name, otherwise a neutral greeting (it is left out)."""
    name = user_supplied.strip()
    return name if len(name) <= _GREETING_NAME_MAX and _GREETING_NAME.fullmatch(name) else "there"


_INVITATION = Template(
    """<html><body style="font-family: sans-serif">
<p>Hello $name,</p>
<p>An account was created for you at $app.</p>
<p>Your user id: <b>$username</b><br>Your temporary password: <b>$code</b></p>
<p>Confirm your account with this temporary password and choose your own; then scan the QR code
you receive with an authenticator app. The temporary password is valid for $days days.</p>
</body></html>"""
)


def invitation(app_name: str, given_name: str, username_placeholder: str, code_placeholder: str, validity_days: int) -> Mail:
    """The invitation; the placeholders are Cognito's, which it replaces with the username and password."""
    return Mail(
        subject=f"Your {app_name} account",
        html=_INVITATION.substitute(
            name=escape(greeting_name(given_name)),
            app=escape(app_name),
            username=username_placeholder,
            code=code_placeholder,
            days=validity_days,
        ),
    )


_MFA_ENROLMENT_LINK = Template(
    """<html><body style="font-family: sans-serif">
<p>You asked to enrol a new authenticator app for $app.</p>
<p><a href="$link">Open the QR code of your new authenticator</a>, scan it with the app and confirm
its first code. The link works for $minutes minutes; your current authenticator keeps working until then.</p>
<p>If you did not ask for this, change your password now.</p>
</body></html>"""
)


def mfa_enrolment_link(app_name: str, link: str, validity_minutes: int) -> Mail:
    return Mail(
        subject=f"Your new {app_name} authenticator",
        html=_MFA_ENROLMENT_LINK.substitute(app=escape(app_name), link=escape(link, quote=True), minutes=validity_minutes),
    )


_MFA_CHANGED = Template(
    """<html><body style="font-family: sans-serif">
<p>Your $app sign-in protection changed: $what</p>
<p>If this was not you, reset your password and contact your administrator now.</p>
</body></html>"""
)


def mfa_changed(app_name: str, what: str) -> Mail:
    """The notice every MFA change sends; it never carries a code or a seed."""
    return Mail(
        subject=f"Your {app_name} sign-in protection changed", html=_MFA_CHANGED.substitute(app=escape(app_name), what=escape(what))
    )


_RESET_CODE = Template(
    """<html><body style="font-family: sans-serif">
<p>Hello $name,</p>
<p>Your $app password reset code: <b>$code</b></p>
<p>It is valid for one hour. If you did not ask to reset your password, ignore this mail.</p>
</body></html>"""
)


_WEBHOOK_DISABLED = Template(
    """<html><body style="font-family: sans-serif">
<p>Every delivery of $app's webhook $webhook_id to <b>$url</b> has failed since $since, so it was
disabled; no events are sent to it any more.</p>
<p>Last failure: $reason</p>
<p>Once the endpoint answers again, an admin re-enables the webhook (PATCH /v1/webhooks/$webhook_id
with {"enabled": true}) and may replay what it missed (POST /v1/webhooks/$webhook_id/replay).</p>
</body></html>"""
)


def webhook_disabled(app_name: str, webhook_id: str, url: str, since: str, reason: str) -> Mail:
    return Mail(
        subject=f"{app_name}: webhook disabled after failing for days",
        html=_WEBHOOK_DISABLED.substitute(
            app=escape(app_name), webhook_id=escape(webhook_id), url=escape(url), since=escape(since), reason=escape(reason)
        ),
    )


def password_reset_code(app_name: str, given_name: str, code_placeholder: str) -> Mail:
    """The reset code mail; the placeholder is Cognito's, which it replaces with the code."""
    return Mail(
        subject=f"Reset your {app_name} password",
        html=_RESET_CODE.substitute(name=escape(greeting_name(given_name)), app=escape(app_name), code=code_placeholder),
    )
