"""The password policy, per NIST SP 800-63B-4 section 3.1.1.2 and OWASP ASVS 5.0 V6.2, and the
temporary passwords authflow mails.

A new password (confirm, change, reset) is checked here before it reaches Cognito, so that each
refusal has its own code: too short or too long, or missing a character class when the composition
rules are on (400 INVALID_PASSWORD); common, known from a breach, or built on the service's name or
the user's email (400 PASSWORD_TOO_COMMON). The user pool's own policy (template.yaml) says the same
about length and composition, so Cognito's direct APIs hold to that too.
"""

import gzip
import hashlib
import secrets
import string
import urllib.request
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from pydantic import SecretStr

from authflow import errors
from authflow.observability import logger
from authflow.settings import CommonSettings

MAXIMUM_LENGTH = 128
# Cognito's special characters, which its RequireSymbols counts.
COGNITO_SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- "
# Characters of temporary passwords: none needs escaping in HTML (no & < > " '), none is mistaken for
# another when read off a screen (no 0 O 1 l I), and each kind Cognito's composition rules ask for.
_TEMPORARY_LOWER = "abcdefghijkmnopqrstuvwxyz"
_TEMPORARY_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_TEMPORARY_DIGITS = "23456789"
_TEMPORARY_SYMBOLS = "-!#%+=?"
_TEMPORARY_LENGTH = 16
_PWNED_TIMEOUT_SECONDS = 2
# Shorter context words (an email "jo@...") would refuse too many passwords for no gain.
_SHORTEST_CONTEXT_WORD = 4


@cache
def common_passwords() -> frozenset[str]:
    """Django's list of 19 640 common passwords, lower-cased (data/README.md says where it comes from)."""
    data = files("authflow").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


@dataclass(frozen=True)
class PasswordPolicy:
    minimum_length: int
    composition_rules: bool
    pwned_passwords_range_url: str
    service_name: str

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> "PasswordPolicy":
        return cls(
            settings.password_minimum_length,
            settings.password_composition_rules,
            settings.pwned_passwords_range_url,
            settings.app_name,
        )

    def check(self, password: SecretStr, email: str) -> None:
        """Refuses a new password for the user of this email that breaks the policy; says why, never
        repeating it."""
        value = password.get_secret_value()
        if not self.minimum_length <= len(value) <= MAXIMUM_LENGTH:
            raise errors.InvalidPassword(f"The new password must have {self.minimum_length} to {MAXIMUM_LENGTH} characters.")
        if self.composition_rules and not all(any(c in kind for c in value) for kind in self._character_classes()):
            raise errors.InvalidPassword("The new password needs an upper-case and a lower-case letter, a digit and a symbol.")
        if self._built_on_context(value, email):
            raise errors.PasswordTooCommon("The new password must not contain the service's name or your email address.")
        if value.lower() in common_passwords() or self._breached(value):
            raise errors.PasswordTooCommon()

    def _built_on_context(self, password: str, email: str) -> bool:
        """NIST SP 800-63B-4 3.1.1.2's context-specific words: the service's name, the user's email and
        its part before the @ (ASVS 5.0 6.2.11)."""
        lowered = password.lower()
        words = {self.service_name.lower(), email.lower(), email.lower().partition("@")[0]}
        return any(len(word) >= _SHORTEST_CONTEXT_WORD and word in lowered for word in words)

    @staticmethod
    def _character_classes() -> tuple[str, ...]:
        return string.ascii_lowercase, string.ascii_uppercase, string.digits, COGNITO_SYMBOLS

    def _breached(self, password: str) -> bool:
        """Pwned Passwords' k-anonymity range API: only the first 5 hex digits of the SHA-1 leave.

        An unreachable service does not block the user (the common-password list still applies)."""
        if not self.pwned_passwords_range_url:
            return False
        digest = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()
        prefix, suffix = digest[:5], digest[5:]
        request = urllib.request.Request(
            f"{self.pwned_passwords_range_url.rstrip('/')}/{prefix}",
            headers={"Add-Padding": "true", "User-Agent": "authflow"},
        )
        try:
            with urllib.request.urlopen(request, timeout=_PWNED_TIMEOUT_SECONDS) as response:
                lines = response.read().decode().splitlines()
        except OSError as error:
            logger.warning("Pwned Passwords unreachable; only the common-password list applied", extra={"error_type": type(error).__name__})
            return False
        for line in lines:
            candidate, _, count = line.strip().partition(":")
            if candidate == suffix and count.strip() not in ("", "0"):
                return True
        return False

    def temporary_password(self) -> str:
        """A random temporary password that meets this policy and reads the same in any mail client."""
        length = max(self.minimum_length, _TEMPORARY_LENGTH)
        kinds = (_TEMPORARY_LOWER, _TEMPORARY_UPPER, _TEMPORARY_DIGITS, _TEMPORARY_SYMBOLS)
        alphabet = "".join(kinds)
        chars = [secrets.choice(kind) for kind in kinds] + [secrets.choice(alphabet) for _ in range(length - len(kinds))]
        secrets.SystemRandom().shuffle(chars)
        return "".join(chars)
