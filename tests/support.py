"""Test helpers shared by every layer: images made on the fly, multipart bodies, settings."""

from __future__ import annotations

import io
import random
from typing import Any

from PIL import Image

from users_api.config import Settings

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
