"""The load test's avatars: photo-like files of an exact size in every format, chosen by a mix."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from loadtests.avatar_mix import DEFAULT_MIX, AvatarMixError, parse_mix
from loadtests.photos import FORMATS, photo


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("size", [4096, 4097, 65_600, 300_001, 1_000_000])
def test_a_photo_is_exactly_its_size_and_decodes_as_its_format(fmt: str, size: int) -> None:
    data = photo(fmt, size)

    expected = size - size % 2 if fmt == "WEBP" else size  # RIFF chunks are padded to even lengths
    assert len(data) == expected
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.format == fmt
        assert min(image.size) >= 12, "a picture, not a padded speck"


def test_photos_do_not_compress_like_flat_images() -> None:
    import zlib

    data = photo("PNG", 500_000)

    assert len(zlib.compress(data, 9)) > 0.5 * len(data), "sensor noise keeps a photo's entropy"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jpeg:300k", [("JPEG", 300_000)]),
        ("JPG:1.5m, png:5000", [("JPEG", 1_500_000), ("PNG", 5000)]),
        ("webp:200k,gif:64k,", [("WEBP", 200_000), ("GIF", 64_000)]),
    ],
)
def test_a_mix_lists_format_and_bytes_in_order(raw: str, expected: list[tuple[str, int]]) -> None:
    assert parse_mix(raw) == expected


def test_the_default_mix_is_valid_and_within_the_apps_default_limit() -> None:
    mix = parse_mix(DEFAULT_MIX)

    assert {fmt for fmt, _ in mix} >= {"JPEG", "PNG"}
    assert max(size for _, size in mix) < 2 * 1024 * 1024


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "empty"),
        ("jpeg", "not FORMAT:SIZE"),
        ("bmp:1m", "format must be one of"),
        ("jpeg:1k", "size must be from"),
        ("jpeg:68m", "size must be from"),
        ("jpeg:-3k", "not FORMAT:SIZE"),
    ],
)
def test_a_bad_mix_says_what_is_wrong(raw: str, says: str) -> None:
    with pytest.raises(AvatarMixError, match=says):
        parse_mix(raw)
