"""Photo-like images of an exact size in bytes, in every format the API accepts.

What users upload is a camera or phone picture: smooth scenes under sensor
noise, which no encoder can squeeze (random pixels do not compress), often
carrying kilobytes of metadata. A flat 48-pixel PNG is none of that, and tiny
test images once hid a 413 on ordinary photos. ``photo(fmt, size)`` makes a
picture whose pixels carry the bulk of ``size`` and pads the rest with a
standard metadata block (a JPEG comment, a PNG text chunk, a GIF comment, a
WebP EXIF chunk), so the file is valid, decodes, and is exactly ``size`` bytes
long (WebP: RIFF chunks are padded to even lengths, so an odd size is one
byte less).

Shared by the tests and the load tests (``--avatar-sizes``).
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
# Below this, a format cannot carry a meaningful picture plus its padding block.
MIN_BYTES = 4096
# The largest picture the API decodes (users_api.avatars.MAX_PIXELS is 2048 x 2048).
MAX_SIDE = 2048
_ASPECT = (4, 3)  # a camera's frame


def photo(fmt: str, size: int, seed: int = 0) -> bytes:
    """A decodable ``fmt`` picture of exactly ``size`` bytes (WebP: ``size`` rounded down to even)."""
    fmt = fmt.upper()
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if size < MIN_BYTES:
        raise ValueError(f"size {size} is below {MIN_BYTES} bytes: too small for a photo-like image")
    target = size - (size % 2) if fmt == "WEBP" else size
    # Leave room for the padding block's own framing, then fill the gap to the byte.
    body = _picture_at_most(fmt, target - 64, seed)
    return _pad(fmt, body, target)


def phone_jpeg(width: int = 4032, quality: int = 70, seed: int = 0) -> bytes:
    """A phone camera's full-resolution JPEG, 4:3 (4032 x 3024 is 12.2 MP: about 1.6 MB at quality 70)."""
    return _encode("JPEG", _scene(width, seed), quality=quality)


def _picture_at_most(fmt: str, budget: int, seed: int) -> bytes:
    """The largest picture this recipe makes within ``budget`` bytes, found by shrinking its side."""
    side = _first_guess(fmt, budget)
    while True:
        encoded = _encode(fmt, _scene(side, seed), quality=90)
        if len(encoded) <= budget:
            return encoded
        side = max(16, int(side * (budget / len(encoded)) ** 0.5 * 0.97))


def _first_guess(fmt: str, budget: int) -> int:
    # Bytes per pixel these encoders reach on the noisy scene, measured once: a starting point only.
    per_pixel = {"JPEG": 0.55, "PNG": 2.3, "GIF": 0.9, "WEBP": 0.45}[fmt]
    width = int((budget / per_pixel * _ASPECT[0] / _ASPECT[1]) ** 0.5)
    return max(16, min(MAX_SIDE, width))


def _scene(width: int, seed: int) -> Image.Image:
    """Smooth colour fields under Gaussian sensor noise, ``width`` wide at 4:3."""
    height = max(12, width * _ASPECT[1] // _ASPECT[0])
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.uniform(0, 6.28, 3)
    scale = max(width, 64) / 8
    red = 120 + 80 * np.sin(x / scale + phase[0]) * np.cos(y / (scale * 0.8))
    green = 110 + 60 * np.cos((x + y) / (scale * 1.3) + phase[1])
    blue = 150 + 70 * np.sin(y / (scale * 0.6) + x / (scale * 2.5) + phase[2])
    pixels = np.stack([red, green, blue], -1) + rng.normal(0, 12, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _encode(fmt: str, image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    if fmt == "GIF":
        image.quantize(256, dither=Image.Dither.NONE).save(out, format="GIF")
    elif fmt == "PNG":
        image.save(out, format="PNG", compress_level=6)
    else:
        image.save(out, format=fmt, quality=quality)
    return out.getvalue()


def _pad(fmt: str, body: bytes, target: int) -> bytes:
    gap = target - len(body)
    return {"JPEG": _pad_jpeg, "PNG": _pad_png, "GIF": _pad_gif, "WEBP": _pad_webp}[fmt](body, gap)


def _pad_jpeg(body: bytes, gap: int) -> bytes:
    """COM segments right after SOI: marker (2) + length (2) + text, each at most 65,533 bytes of text."""
    segments = []
    while gap > 0:
        text = min(gap - 4, 65533)
        if 0 < gap - (text + 4) < 4:  # leave a remainder one more segment can carry
            text -= 4
        segments.append(b"\xff\xfe" + struct.pack(">H", text + 2) + b"c" * text)
        gap -= text + 4
    return body[:2] + b"".join(segments) + body[2:]


def _pad_png(body: bytes, gap: int) -> bytes:
    """One tEXt chunk before IEND: length (4) + type (4) + keyword and text + CRC (4)."""
    data = b"Comment\x00" + b"c" * (gap - 12 - 8)
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return body[:-12] + chunk + body[-12:]


def _pad_gif(body: bytes, gap: int) -> bytes:
    """A comment extension before the trailer: 21 FE, sub-blocks of length byte + at most 255 bytes, 00."""
    blocks = []
    left = gap - 3
    while left > 0:
        length = min(left - 1, 255)
        if left - (length + 1) == 1:  # a lone byte cannot form a block: shorten this one
            length -= 1
        blocks.append(bytes([length]) + b"c" * length)
        left -= length + 1
    return body[:-1] + b"\x21\xfe" + b"".join(blocks) + b"\x00" + body[-1:]


def _pad_webp(body: bytes, gap: int) -> bytes:
    """The simple (VP8) file rewritten as extended WebP: a VP8X header (flag E) and an EXIF chunk filling the gap.

    Layout per Google's WebP container specification: RIFF size WEBP, VP8X (10 bytes: flags, reserved,
    canvas width - 1 and height - 1 as 24-bit little-endian), the VP8 chunk as it was, then EXIF.
    """
    if body[12:16] != b"VP8 ":
        raise ValueError("expected a simple lossy WebP (VP8 chunk)")
    width, height = Image.open(io.BytesIO(body)).size
    exif_flag = 0x08
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([exif_flag, 0, 0, 0])
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    exif_len = gap - len(vp8x) - 8  # both even, so no pad byte is needed
    exif = b"EXIF" + struct.pack("<I", exif_len) + b"c" * exif_len
    chunks = vp8x + body[12:] + exif
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks
