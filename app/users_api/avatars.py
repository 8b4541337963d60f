"""Avatar checks and re-encoding: trust the bytes, never the file name or Content-Type.

Decoding with Pillow, restricted to four formats, proves the upload is a real
image; re-encoding it drops every metadata block (EXIF with GPS, text chunks,
ICC profiles, comments) and scales anything larger than 1024 pixels a side
down to fit. Pillow is imported on first use: listing users never needs it,
and a Lambda cold start should not pay for it.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from struct import error as struct_error

from .errors import ApiError

# Pillow format name -> (Content-Type, file extension, save options)
FORMATS: dict[str, tuple[str, str, dict[str, object]]] = {
    "PNG": ("image/png", "png", {"compress_level": 6}),
    "JPEG": ("image/jpeg", "jpg", {"quality": 85}),
    "GIF": ("image/gif", "gif", {}),
    "WEBP": ("image/webp", "webp", {"quality": 85, "method": 4}),
}
# 2048 x 2048 in: decoding one costs at most ~35 MB (a 4096-square WebP of 30 KB cost 420 MB; a progressive
# JPEG holds every coefficient of the full image, 2 bytes per pixel and component: 4 MP x 4 x 2 = 33 MB).
MAX_PIXELS = 2048 * 2048
# A phone's full-resolution JPEG (5-12 MP; 48 MP on some) is what users upload. libjpeg decodes a baseline
# JPEG at 1/2, 1/4 or 1/8 scale directly, a row of blocks at a time (Pillow's Image.draft sets the scale
# from the header, before any pixel is decoded), so such a photo decodes within MAX_PIXELS. Progressive
# JPEGs keep every full-size coefficient whatever the scale (a 409-byte 48 MP one cost 378 MB), and PNG,
# GIF and WebP decode in full only: they are held to MAX_PIXELS.
JPEG_MAX_PIXELS = 48_000_000
_JPEG_SCALES = (1, 2, 4)  # and 8, which brings any JPEG within JPEG_MAX_PIXELS under MAX_PIXELS
# Stored avatars fit in this square: larger ones are scaled down before they are encoded.
MAX_SIDE = 1024
# EXIF's Orientation tag (0x0112): how a camera held sideways says which way is up. Applied to the pixels
# before the metadata is dropped, or portrait photos would be stored sideways.
_EXIF_ORIENTATION = 0x0112
# A camera's multi-picture JPEG (MPO: the primary image plus previews or a second eye) is a JPEG whose first
# picture is the photo: Pillow opens it through the JPEG plugin as format "MPO". It is stored as that JPEG.
_JPEG_FAMILY = {"JPEG", "MPO"}
# EXIF orientation -> the transposes that make the picture upright (as Pillow's ImageOps.exif_transpose does).
_ORIENTATION_TRANSPOSES: dict[int, tuple[str, ...]] = {
    2: ("FLIP_LEFT_RIGHT",),
    3: ("ROTATE_180",),
    4: ("FLIP_TOP_BOTTOM",),
    5: ("TRANSPOSE",),
    6: ("ROTATE_270",),
    7: ("TRANSVERSE",),
    8: ("ROTATE_90",),
}
# The only ancillary data an encoder may carry over: everything else (EXIF, ICC, comments, text) is dropped.
_KEPT_INFO = {"transparency"}
# Modes each encoder writes without conversion.
_SAVE_MODES = {
    "PNG": {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"},
    "JPEG": {"L", "RGB", "CMYK"},
    "GIF": {"L", "P"},
    "WEBP": {"RGB", "RGBA"},
}


_TOO_MANY_PIXELS = (
    f"avatar is too large in pixels: at most {MAX_PIXELS} (2048 x 2048), or {JPEG_MAX_PIXELS // 1_000_000}"
    " megapixels for a baseline (not progressive) JPEG"
)


@dataclass(frozen=True)
class Avatar:
    data: bytes
    content_type: str
    extension: str


log = logging.getLogger(__name__)


def _unsupported(message: str) -> ApiError:
    return ApiError(415, "unsupported_avatar", message, field="avatar")


def reencode(raw: bytes) -> Avatar:
    """Decode ``raw`` as PNG, JPEG, GIF or WebP and re-encode it (first frame only), or raise 415."""
    from PIL import Image, UnidentifiedImageError

    # Pillow's own bomb guard: past this it warns (an error here) and past twice that it raises, both
    # while reading the header. The tighter per-format limits below are checked before load() too.
    Image.MAX_IMAGE_PIXELS = JPEG_MAX_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    if not raw:
        raise _unsupported("avatar is empty: upload a PNG, JPEG, GIF or WebP image")
    try:
        with Image.open(io.BytesIO(raw), formats=list(FORMATS)) as image:
            if image.format in _JPEG_FAMILY and not image.info.get("progressive"):
                scale = _jpeg_scale(image.width, image.height)
                if scale > 1:  # decode at 1/scale: the size passed makes Pillow pick exactly this scale
                    image.draft(image.mode, (image.width // scale, image.height // scale))
            if image.width * image.height > MAX_PIXELS:
                raise _unsupported(_TOO_MANY_PIXELS)
            image.load()
            fmt = "JPEG" if image.format in _JPEG_FAMILY else str(image.format)
            orientation = _orientation(image)
            frame = image if image.mode in _SAVE_MODES[fmt] else image.convert(_target_mode(fmt, image.mode))
            if max(frame.size) > MAX_SIDE:
                frame.thumbnail((MAX_SIDE, MAX_SIDE))  # in place, keeping the aspect ratio
            for operation in _ORIENTATION_TRANSPOSES.get(orientation, ()):
                frame = frame.transpose(Image.Transpose[operation])
            frame.info = {key: value for key, value in frame.info.items() if key in _KEPT_INFO}
            out = io.BytesIO()
            frame.save(out, format=fmt, **FORMATS[fmt][2])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _unsupported(_TOO_MANY_PIXELS) from None
    except UnidentifiedImageError:
        raise _unsupported("avatar is not a PNG, JPEG, GIF or WebP image") from None
    except (OSError, SyntaxError, ValueError, EOFError, KeyError, IndexError):
        # Pillow's decoders signal corrupt or truncated data with any of these.
        raise _unsupported("avatar could not be decoded: the image data is corrupt or truncated") from None
    except ApiError:
        raise  # the refusals above (too many pixels), already in the API's words
    except Exception as exc:
        # Found by fuzzing (the attacker review): a palette PNG without a PLTE chunk makes Pillow 13.0's PNG encoder
        # raise UnboundLocalError. Refuse the upload; the log keeps what Pillow raised for whoever wants to report it.
        log.warning("avatar refused: Pillow raised %s while re-encoding it", type(exc).__name__)
        raise _unsupported("avatar could not be re-encoded: the image data is malformed") from None
    content_type, extension, _ = FORMATS[fmt]
    return Avatar(data=out.getvalue(), content_type=content_type, extension=extension)


def _orientation(image: object) -> int:
    """The EXIF orientation, 1 (as stored) when there is none or the EXIF block is unreadable: it is dropped anyway."""
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)  # type: ignore[attr-defined]
    except (SyntaxError, ValueError, OSError, EOFError, KeyError, IndexError, struct_error):
        return 1
    return value if isinstance(value, int) else 1


def _jpeg_scale(width: int, height: int) -> int:
    """The smallest of libjpeg's scales that brings a baseline JPEG within MAX_PIXELS (1 if none does)."""
    if width * height > JPEG_MAX_PIXELS:
        return 1  # refused below, undecoded
    for scale in _JPEG_SCALES:
        if -(-width // scale) * -(-height // scale) <= MAX_PIXELS:  # libjpeg rounds each side up
            return scale
    return 8


def _target_mode(fmt: str, mode: str) -> str:
    has_alpha = mode in {"RGBA", "LA", "PA", "La", "RGBa"} or mode.endswith("A")
    if fmt == "JPEG":
        return "RGB"
    if fmt == "GIF":
        return "P"
    return "RGBA" if has_alpha else "RGB"
