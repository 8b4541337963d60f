"""Test helpers shared by every layer: images made on the fly, multipart bodies, settings."""

from __future__ import annotations

import functools
import io
import random
from typing import Any

from PIL import Image

from loadtests.photos import phone_jpeg, photo
from users_api.config import DEFAULT_MAX_AVATAR_BYTES, Settings

REGION = "us-east-1"


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (32, 32), **save: Any) -> bytes:
    """A real, decodable image in ``fmt`` (PNG, JPEG, GIF, WEBP, BMP ...)."""
    mode = "RGB" if fmt != "GIF" else "P"
    image = Image.new(mode, size, color=(200, 80, 40) if mode == "RGB" else 3)
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def noise_png(target_bytes: int, seed: int = 7) -> bytes:
    """A PNG of random pixels of about ``target_bytes`` (noise does not compress)."""
    side = max(8, int((target_bytes / 3) ** 0.5))
    pixels = random.Random(seed).randbytes(side * side * 3)  # noqa: S311 - test pixels, not a secret
    image = Image.frombytes("RGB", (side, side), pixels)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# Photo sizes every accepted format is uploaded at: a phone photo re-saved small, the 1.47 MB PNG a
# user's upload was refused at, and the avatar limit minus one byte and exactly at it.
PHOTO_SIZES = (270_000, 1_470_000, DEFAULT_MAX_AVATAR_BYTES - 1, DEFAULT_MAX_AVATAR_BYTES)
PHOTO_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")


@functools.cache
def photo_bytes(fmt: str, size: int) -> bytes:
    """A photo-like ``fmt`` image of exactly ``size`` bytes (WebP: even sizes only), made once per session."""
    return photo(fmt, size)


@functools.cache
def phone_photo() -> bytes:
    """A 12-megapixel phone JPEG (4032 x 3024) under the 2 MiB avatar limit."""
    data = phone_jpeg()
    assert len(data) < DEFAULT_MAX_AVATAR_BYTES
    return data


def settings(table: str, bucket: str, endpoint_url: str | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "region": REGION,
        "table_name": table,
        "bucket_name": bucket,
        "endpoint_url": endpoint_url,
        "trusted_proxies": 1,
    }
    values.update(overrides)
    return Settings(**values)


def signup_form(
    name: str = "Test User",
    email: str = "test-user@example.com",
    avatar: bytes | None = None,
    filename: str = "face.png",
) -> dict[str, Any]:
    """Form data for Flask's test client: ``data=signup_form(...)`` with multipart content type."""
    return {"name": name, "email": email, "avatar": (io.BytesIO(avatar or image_bytes()), filename)}
