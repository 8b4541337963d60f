"""Avatars: the bytes decide, metadata is dropped, bombs are refused."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.support import image_bytes, phone_photo
from users_api.avatars import JPEG_MAX_PIXELS, MAX_PIXELS, reencode
from users_api.errors import ApiError

GPS_IFD = 0x8825


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [
        ("PNG", "image/png", "png"),
        ("JPEG", "image/jpeg", "jpg"),
        ("GIF", "image/gif", "gif"),
        ("WEBP", "image/webp", "webp"),
    ],
)
def test_each_allowed_format_is_re_encoded_as_itself(fmt: str, content_type: str, extension: str) -> None:
    avatar = reencode(image_bytes(fmt, size=(20, 10)))

    assert (avatar.content_type, avatar.extension) == (content_type, extension)
    with Image.open(io.BytesIO(avatar.data)) as image:
        assert image.format == fmt
        assert image.size == (20, 10)


def test_exif_with_gps_is_removed_from_a_jpeg() -> None:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 30.0)}
    original = image_bytes("JPEG", exif=exif.tobytes())
    with Image.open(io.BytesIO(original)) as image:
        assert GPS_IFD in image.getexif()

    avatar = reencode(original)

    with Image.open(io.BytesIO(avatar.data)) as image:
        assert not image.getexif()
        assert b"SpyCam" not in avatar.data


def test_png_text_chunks_are_removed() -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "home address: 1 Secret Lane")
    avatar = reencode(image_bytes("PNG", pnginfo=info))

    assert b"Secret Lane" not in avatar.data


@pytest.mark.parametrize(
    ("fmt", "save", "leak"),
    [
        pytest.param("GIF", {"comment": b"home: 1 Secret Lane"}, b"Secret Lane", id="gif-comment"),
        pytest.param("PNG", {"icc_profile": b"\x00" * 128 + b"ICC-MARKER"}, b"iCCP", id="png-icc-chunk"),
        pytest.param("WEBP", {"exif": b"Exif\x00\x00MM\x00*SECRET-EXIF"}, b"SECRET-EXIF", id="webp-exif"),
    ],
)
def test_no_ancillary_metadata_survives(fmt: str, save: dict[str, Any], leak: bytes) -> None:
    original = image_bytes(fmt, **save)
    assert leak in original

    assert leak not in reencode(original).data


def test_a_large_avatar_is_scaled_down_to_fit_1024_pixels() -> None:
    avatar = reencode(image_bytes("PNG", size=(2000, 1000)))

    with Image.open(io.BytesIO(avatar.data)) as image:
        assert image.size == (1024, 512)


def test_an_rgba_png_keeps_its_transparency() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (4, 4), (1, 2, 3, 0)).save(out, format="PNG")

    with Image.open(io.BytesIO(reencode(out.getvalue()).data)) as image:
        assert image.mode == "RGBA"


def test_only_the_first_frame_of_an_animation_is_kept() -> None:
    frames = [Image.new("P", (8, 8), color) for color in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:])

    with Image.open(io.BytesIO(reencode(out.getvalue()).data)) as image:
        assert getattr(image, "n_frames", 1) == 1


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    # A tiny file that claims a huge canvas: refused from its header, never decompressed.
    side = int(MAX_PIXELS**0.5) + 1
    bomb = image_bytes("PNG", size=(side, side))
    assert len(bomb) < 200_000

    with pytest.raises(ApiError) as refused:
        reencode(bomb)

    assert refused.value.status == 415
    assert "pixels" in refused.value.message


def with_jpeg_dimensions(jpeg: bytes, width: int, height: int) -> bytes:
    """``jpeg`` whose frame header (SOF0 baseline, SOF2 progressive) claims another size: a bomb's header."""
    marker = b"\xff\xc2" if b"\xff\xc2" in jpeg else b"\xff\xc0"
    at = jpeg.index(marker) + 5  # marker (2), length (2), precision (1), then height and width
    return jpeg[:at] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + jpeg[at + 4 :]


def test_a_phones_full_resolution_jpeg_is_decoded_at_a_reduced_scale_and_stored() -> None:
    phone = phone_photo()

    avatar = reencode(phone)

    with Image.open(io.BytesIO(avatar.data)) as stored:
        assert stored.format == "JPEG"
        assert stored.size == (1024, 768)


def test_a_jpeg_at_the_jpeg_pixel_limit_is_accepted() -> None:
    at_limit = image_bytes("JPEG", size=(8000, 6000))
    assert JPEG_MAX_PIXELS == 8000 * 6000

    assert max(Image.open(io.BytesIO(reencode(at_limit).data)).size) == 1024


@pytest.mark.parametrize(("width", "height"), [(8000, 6001), (20000, 20000)], ids=["one-row-more", "400-megapixels"])
def test_a_jpeg_past_the_jpeg_pixel_limit_is_refused_from_its_header(width: int, height: int) -> None:
    claimed = with_jpeg_dimensions(image_bytes("JPEG", size=(64, 48)), width, height)

    with pytest.raises(ApiError) as refused:
        reencode(claimed)

    assert refused.value.status == 415
    assert "pixels" in refused.value.message


@pytest.mark.parametrize(
    "size",
    [(2049, 2048), (2400, 1800), (2592, 1944), (3000, 2000), (4000, 1800), (4032, 3024), (4097, 4096), (8000, 6000)],
    ids=lambda size: f"{size[0]}x{size[1]}",
)
def test_a_baseline_jpeg_of_any_camera_size_up_to_48_megapixels_is_stored(size: tuple[int, int]) -> None:
    """Cameras' 4-12 MP frames, whose short side is 1024-2047 pixels, need the scale that fits MAX_PIXELS."""
    with Image.open(io.BytesIO(reencode(image_bytes("JPEG", size=size)).data)) as stored:
        assert max(stored.size) == 1024


def test_a_progressive_jpeg_is_held_to_2048_squared_like_formats_without_scaled_decoding() -> None:
    side = int(MAX_PIXELS**0.5)
    at_limit = image_bytes("JPEG", size=(side, side), progressive=True)
    past_limit = image_bytes("JPEG", size=(side, side + 1), progressive=True)
    claimed_48mp = with_jpeg_dimensions(image_bytes("JPEG", size=(64, 48), progressive=True), 8000, 6000)
    assert b"\xff\xc2" in at_limit, "a progressive (SOF2) file"

    assert max(Image.open(io.BytesIO(reencode(at_limit).data)).size) == 1024
    for refused_file in (past_limit, claimed_48mp):  # the latter would hold ~290 MB of coefficients
        with pytest.raises(ApiError) as refused:
            reencode(refused_file)
        assert "pixels" in refused.value.message


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP"])
def test_formats_without_scaled_decoding_are_held_to_2048_squared(fmt: str) -> None:
    side = int(MAX_PIXELS**0.5)
    at_limit = image_bytes(fmt, size=(side, side))
    past_limit = image_bytes(fmt, size=(side, side + 1))

    assert max(Image.open(io.BytesIO(reencode(at_limit).data)).size) == 1024
    with pytest.raises(ApiError) as refused:
        reencode(past_limit)
    assert "pixels" in refused.value.message


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"GIF89a" + b"\x00" * 20, id="gif-header-only"),
        pytest.param(image_bytes("JPEG")[:-200], id="truncated-jpeg"),
        pytest.param(image_bytes("TIFF"), id="tiff-not-allowed"),
        pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'/>", id="svg"),
    ],
)
def test_anything_else_is_a_415(raw: bytes) -> None:
    with pytest.raises(ApiError) as refused:
        reencode(raw)

    assert (refused.value.status, refused.value.code) == (415, "unsupported_avatar")
