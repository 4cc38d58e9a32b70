"""Captured mail as the user sees it: subject, addresses, the HTML (or text) body and its images.

SES keeps simple messages (subject + body), templated ones and raw MIME ones; a raw message's HTML
part is shown with its inline (cid:) images turned into data: URLs, so that a QR code attached to a
mail shows as it would in a mail client. `images` lists the pictures a mail shows or links to (the
presigned link to an MFA QR code, say), so the console can show them beside the mail.
"""

import base64
import email
import email.policy
import re
from html import unescape

_IMAGE_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_LINK = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s\"'<>]+")


def looks_like_html(body: str) -> bool:
    return bool(re.search(r"<(html|body|p|div|br|table|img|a)\b", body or "", re.IGNORECASE))


def images_in(body: str, image_hosts: tuple[str, ...] = ()) -> list[str]:
    """The images a mail shows (img src) and the links to pictures it carries (a link to a .png, or
    to an object on one of image_hosts, such as the QR code bucket)."""
    found: list[str] = []
    for match in _IMAGE_SRC.finditer(body or ""):
        found.append(unescape(match.group(1)))
    links = [unescape(m.group(1)) for m in _LINK.finditer(body or "")] + [unescape(u) for u in _URL.findall(body or "")]
    for url in links:
        plain = url.split("?", 1)[0].lower()
        if plain.endswith((".png", ".jpg", ".jpeg", ".gif", ".svg")) or any(host and host in url for host in image_hosts):
            found.append(url)
    safe = [u for u in found if u.startswith(("http://", "https://", "data:image/"))]
    return list(dict.fromkeys(safe))


def parse_raw(raw: str | bytes) -> dict:
    """Subject, sender, recipients and body of a raw MIME message; cid: images become data: URLs."""
    message = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default)
    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    inline: dict[str, str] = {}
    for part in message.walk():
        content_id = part.get("Content-ID")
        if content_id and part.get_content_maintype() == "image":
            payload = part.get_payload(decode=True)
            data = base64.b64encode(payload if isinstance(payload, bytes) else b"").decode()
            inline[content_id.strip("<>")] = f"data:{part.get_content_type()};base64,{data}"
    if html_part is not None:
        body = html_part.get_content()
        for content_id, url in inline.items():
            body = body.replace(f"cid:{content_id}", url)
        kind = "html"
    elif text_part is not None:
        body, kind = text_part.get_content(), "text"
    else:
        body, kind = "", "text"
    addresses = [str(a) for header in ("To", "Cc") for a in (message.get_all(header) or [])]
    return {
        "subject": str(message.get("Subject", "")),
        "from": str(message.get("From", "")),
        "to": addresses,
        "body": body,
        "format": kind,
        "attached_images": list(inline.values()),
    }
