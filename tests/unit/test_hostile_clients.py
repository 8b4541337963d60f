"""Hostile and unusual clients (issue 11, items 6, 9, 10, 12): each gets a clear answer and loses nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image

from tests.support import image_bytes, signup_form
from users_api.avatars import reencode
from users_api.validation import EMAIL_MAX_CHARS, decode_cursor, encode_cursor


def post(client: FlaskClient, **fields: Any) -> Any:
    return client.post("/user", data=signup_form(**fields), content_type="multipart/form-data")


# --- item 6: cursors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("character", ["a", "é", "中", "😀"], ids=["ascii", "latin", "cjk", "astral"])
def test_a_cursor_for_an_email_at_the_length_limit_is_accepted_back(character: str) -> None:
    """Before: escaped as \\uXXXX, a 254-character non-ASCII address made a cursor past the 1024 accepted."""
    email = character * EMAIL_MAX_CHARS

    assert decode_cursor(encode_cursor({"email": email})) == email


def test_paging_through_users_with_long_non_ascii_emails_reaches_the_end(client: FlaskClient) -> None:
    emails = ["é" * 32 + "@" + ".".join(["ü" * 10] * 8) + ".com", "a@example.com", "中文@例子.com"]
    for email in emails:
        assert post(client, email=email).status_code == 201

    seen, url = [], "/users?limit=1"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_json()
        seen += [user["email"] for user in response.get_json()]
        link = response.headers.get("Link")
        url = link[link.index("/users?") : link.index(">")] if link else ""

    assert sorted(seen) == sorted(emails)


# --- item 10: names, duplicate fields, boundaries ----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Eve\u0085Mallory",
        "Eve\u009b",
        "Eve\u202egnp.exe",
        "Eve\u200b",
        "\ufeffEve",
        "Eve\u2028Mallory",
        "Eve\u2029Mallory",
        "Eve\u2066",
    ],
    ids=["NEL", "CSI", "RLO", "ZWSP", "BOM", "LSEP", "PSEP", "LRI"],
)
def test_names_with_c1_controls_or_invisible_format_characters_are_refused(client: FlaskClient, name: str) -> None:
    response = post(client, name=name)

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "name"
    assert client.get("/users").get_json() == []


@pytest.mark.parametrize("name", ["Zoë O'Brien-Łukasz", "山田 太郎", "محمد", "Ñandú 🦤"])
def test_ordinary_names_in_any_script_are_accepted(client: FlaskClient, name: str) -> None:
    assert post(client, name=name).status_code == 201


@pytest.mark.parametrize("field", ["name", "email"])
def test_a_field_sent_twice_is_refused_not_silently_resolved(client: FlaskClient, field: str) -> None:
    body = (
        b'--B\r\nContent-Disposition: form-data; name="name"\r\n\r\nFirst\r\n'
        b'--B\r\nContent-Disposition: form-data; name="email"\r\n\r\nfirst@example.com\r\n'
        + f'--B\r\nContent-Disposition: form-data; name="{field}"\r\n\r\nsecond@example.com\r\n'.encode()
        + b'--B\r\nContent-Disposition: form-data; name="avatar"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + image_bytes() + b"\r\n--B--\r\n"
    )

    response = client.post("/user", data=body, content_type="multipart/form-data; boundary=B")

    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "duplicate_field",
        "message": f"the form field {field!r} was sent more than once: send it once",
        "field": field,
    }


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "multipart/form-data; boundary=not-the-one-used"], ids=["none", "wrong"]
)
def test_a_missing_or_wrong_boundary_is_named_not_reported_as_a_missing_name(
    client: FlaskClient, content_type: str
) -> None:
    body = b'--B\r\nContent-Disposition: form-data; name="name"\r\n\r\nEve\r\n--B--\r\n'

    response = client.post("/user", data=body, content_type=content_type)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_multipart"


# --- item 9: images -----------------------------------------------------------------------------------------


def jpeg_with_orientation(orientation: int) -> bytes:
    image = Image.new("RGB", (60, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 10, 10))  # a blue corner at the top left, to see where it went
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=95)
    return out.getvalue()


@pytest.mark.parametrize(("orientation", "size"), [(1, (60, 20)), (3, (60, 20)), (6, (20, 60)), (8, (20, 60))])
def test_exif_orientation_is_applied_to_the_pixels_then_dropped(orientation: int, size: tuple[int, int]) -> None:
    stored = Image.open(io.BytesIO(reencode(jpeg_with_orientation(orientation)).data))

    assert stored.size == size, "portrait photos are stored upright"
    assert 0x0112 not in stored.getexif()


def test_orientation_6_puts_the_top_left_corner_at_the_top_right() -> None:
    """6 = the camera was turned 90 degrees clockwise: shown upright, the picture's top left is at the top right."""
    stored = Image.open(io.BytesIO(reencode(jpeg_with_orientation(6)).data)).convert("RGB")

    red, _green, blue = stored.getpixel((stored.width - 3, 3))  # type: ignore[misc]
    assert blue > 200
    assert red < 80


def test_a_multi_picture_jpeg_from_a_camera_is_stored_as_its_first_picture() -> None:
    first = Image.new("RGB", (64, 48), (10, 200, 10))
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[Image.new("RGB", (64, 48), (200, 10, 10))])
    assert Image.open(io.BytesIO(out.getvalue())).format == "MPO"

    avatar = reencode(out.getvalue())

    stored = Image.open(io.BytesIO(avatar.data))
    assert (avatar.content_type, stored.format, stored.size) == ("image/jpeg", "JPEG", (64, 48))
    assert stored.convert("RGB").getpixel((32, 24))[1] > 150  # type: ignore[index]


# --- item 12: headers ---------------------------------------------------------------------------------------


def test_responses_with_users_emails_are_not_cacheable_and_every_response_is_nosniff(client: FlaskClient) -> None:
    created = post(client)
    responses = {
        "create": created,
        "list": client.get("/users"),
        "get": client.get("/users/test-user@example.com"),
    }

    for what, response in responses.items():
        assert response.headers["Cache-Control"] == "private, no-store", what
    for response in [*responses.values(), client.get("/livez"), client.get("/nope"), client.get("/docs/")]:
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_docs_page_may_not_be_framed_and_its_oauth_redirect_page_has_a_policy(client: FlaskClient) -> None:
    page = client.get("/docs/")
    redirect_page = client.get("/docs/oauth2-redirect.html")

    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert redirect_page.status_code == 200
    assert "frame-ancestors 'none'" in redirect_page.headers["Content-Security-Policy"]


def test_an_address_that_lower_casing_lengthens_past_the_limit_is_refused(client: FlaskClient) -> None:
    """'İ' lower-cases to two code points: 223 characters sent, 255 stored. The limit holds for what is stored."""
    email = "İ" * 32 + "@" + ".".join(["a" * 60, "b" * 60, "c" * 60]) + ".example"
    assert len(email) <= EMAIL_MAX_CHARS < len(email.lower())

    response = post(client, email=email)

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "email"


def test_an_unreadable_exif_block_does_not_make_the_image_corrupt() -> None:
    """The orientation is read best-effort: the block is dropped anyway (random-pixel WebPs carry such blocks)."""
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(out, "WEBP", exif=b"Exif\x00\x00cccccccc")

    stored = Image.open(io.BytesIO(reencode(out.getvalue()).data))

    assert stored.size == (40, 30)


# A palette PNG whose PLTE chunk is missing (71 bytes, found by the attacker review's fuzzer): Pillow 13.0 decodes it
# and then raises UnboundLocalError in its PNG encoder, which was a 500 with a traceback.
PNG_WITHOUT_ITS_PALETTE = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000040000000300103000000"  # signature, IHDR: 64x48, 1 bit, palette
    "9b85ee5c0000000e49444154789c636018054309000001b00001915011"  # IDAT, and no PLTE before it
    "2900000000495" + "84e44ae426082"  # a damaged IEND
)


def test_an_image_that_trips_the_encoder_is_refused_as_the_clients_data_not_a_500(client: FlaskClient) -> None:
    response = client.post(
        "/user",
        data=signup_form(avatar=PNG_WITHOUT_ITS_PALETTE, filename="crafted.png"),
        content_type="multipart/form-data",
    )

    assert response.status_code == 415, response.get_json()
    assert response.get_json()["error"]["code"] == "unsupported_avatar"
    assert client.get("/users").get_json() == []
