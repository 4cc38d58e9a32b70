"""The mail users receive. Every user-supplied value is HTML-escaped; Cognito fills its own placeholders."""

from dataclasses import dataclass
from html import escape
from string import Template


@dataclass(frozen=True)
class Mail:
    subject: str
    html: str


_INVITATION = Template(
    """<html><body style="font-family: sans-serif">
<p>Hello $name,</p>
<p>An account was created for you at $app.</p>
<p>Your user id: <b>$username</b><br>Your temporary password: <b>$code</b></p>
<p>Confirm your account with this temporary password and choose your own; then scan the QR code
you receive with an authenticator app. The temporary password is valid for $days days.</p>
</body></html>"""
)


def invitation(
    app_name: str, given_name: str, username_placeholder: str, code_placeholder: str, validity_days: int
) -> Mail:
    """The invitation; the placeholders are Cognito's, which it replaces with the username and password."""
    return Mail(
        subject=f"Your {escape(app_name)} account",
        html=_INVITATION.substitute(
            name=escape(given_name or "there"),
            app=escape(app_name),
            username=username_placeholder,
            code=code_placeholder,
            days=validity_days,
        ),
    )
