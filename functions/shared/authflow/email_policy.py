"""Which email addresses authflow accepts, so that one mailbox is one account (OWASP ASVS 5.0 V6,
Unicode UTS #39 section 5.2).

An address is NFKC-normalised and lower-cased, so `ｂｏｂ@example.com` (full-width) is bob@example.com.
Its local part must be ASCII, and its letters must not mix scripts beyond UTS #39's "highly
restrictive" level: `bоb@example.com` (Cyrillic о) or `bob@exаmple.com` (Cyrillic а) would otherwise be
accounts beside bob@example.com that look the same. A domain in another script than the local part
(Latin, since it is ASCII) is refused for the same reason.
"""

import unicodedata

from pydantic_core import PydanticCustomError

# Unicode character names begin with their script's name, except these.
_SCRIPT_OF_NAME_PREFIX = {"CJK": "HAN", "IDEOGRAPHIC": "HAN"}
# UTS #39 5.2 "highly restrictive": one script, or Latin with the scripts Japanese, Chinese and Korean
# are written in together.
_ACCEPTED_SCRIPT_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def scripts_of(text: str) -> set[str]:
    """The scripts of the letters in text (digits and punctuation belong to none)."""
    scripts = set()
    for char in text:
        if unicodedata.category(char).startswith("L"):
            prefix = unicodedata.name(char, "UNKNOWN").split()[0]
            scripts.add(_SCRIPT_OF_NAME_PREFIX.get(prefix, prefix))
    return scripts


def mixes_scripts(text: str) -> bool:
    scripts = scripts_of(text)
    return len(scripts) > 1 and not any(scripts <= accepted for accepted in _ACCEPTED_SCRIPT_MIXES)


def nfkc(value: object) -> object:
    """Compatibility characters (full-width, ligatures, styled letters) become the ones they stand for."""
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


def accepted_email(address: str) -> str:
    """The address as authflow keeps it, or a validation error of type invalid_email saying why."""
    local_part, _, _ = address.rpartition("@")
    if len(local_part) > 64:
        raise ValueError("the part before @ is longer than 64 characters")
    if not local_part.isascii():
        raise PydanticCustomError("invalid_email", "the part before @ must be ASCII")
    if mixes_scripts(address):
        raise PydanticCustomError("invalid_email", "the address mixes scripts")
    return address.lower()
