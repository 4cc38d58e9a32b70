"""Captured mail as the user sees it: raw MIME with inline images, and the pictures a mail links to."""

import base64
from email.message import EmailMessage

from infra.console.mail import images_in, looks_like_html, parse_raw

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==")


def test_a_raw_mail_shows_its_html_with_inline_images_as_data_urls():
    message = EmailMessage()
    message["Subject"] = "Your QR code"
    message["From"] = "no-reply@authflow.local"
    message["To"] = "ada@example.com"
    message.set_content("Scan the attached code.")
    message.add_alternative('<p>Scan this:</p><img src="cid:qr@authflow">', subtype="html")
    html_part = message.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(PNG, "image", "png", cid="<qr@authflow>")
    parsed = parse_raw(message.as_bytes())
    assert parsed["subject"] == "Your QR code" and parsed["to"] == ["ada@example.com"] and parsed["format"] == "html"
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert f'<img src="{data_url}">' in parsed["body"]
    assert parsed["attached_images"] == [data_url]


def test_a_text_only_raw_mail_is_text():
    message = EmailMessage()
    message["Subject"] = "Code"
    message["To"] = "ada@example.com"
    message.set_content("Your code is in the app.")
    parsed = parse_raw(message.as_string())
    assert parsed["format"] == "text" and "Your code is in the app." in parsed["body"]


def test_images_are_the_pictures_shown_and_the_links_to_pictures_once_each():
    body = (
        '<p><a href="http://127.0.0.1:5000/qr-bucket/users/u1.png?Signature=a%3D&amp;Expires=1">Open your QR code</a></p>'
        '<img src="https://cdn.example.com/logo.svg"><a href="https://example.com/help">help</a>'
        '<a href="http://127.0.0.1:5000/qr-bucket/users/u2?X-Amz-Signature=b">no extension</a>'
        '<img src="javascript:alert(1)">'
    )
    assert images_in(body, ("qr-bucket",)) == [
        "https://cdn.example.com/logo.svg",
        "http://127.0.0.1:5000/qr-bucket/users/u1.png?Signature=a%3D&Expires=1",
        "http://127.0.0.1:5000/qr-bucket/users/u2?X-Amz-Signature=b",
    ]
    assert looks_like_html(body) and not looks_like_html("plain words")
