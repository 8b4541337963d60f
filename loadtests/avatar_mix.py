"""The avatars a load test's sign-ups upload: ``FORMAT:SIZE,...`` (``--avatar-mix``, Make: ``AVATAR_MIX``).

Sizes are bytes, or kilobytes and megabytes with ``k`` and ``m`` (decimal, as file managers show
them): ``jpeg:300k,png:1.5m``. The default mix is what phones and cameras send once a client has
resized them a little: mostly JPEGs of a few hundred kilobytes, some larger, a PNG screenshot.
"""

from __future__ import annotations

import re

from loadtests.photos import FORMATS, MIN_BYTES

DEFAULT_MIX = "jpeg:300k,jpeg:300k,jpeg:900k,png:600k,webp:200k,jpeg:1.8m"
# Far past the app's default limit (2 MiB), so a run can exercise the 413 on purpose; no further.
_MAX_BYTES = 64 * 1024 * 1024
_ENTRY = re.compile(r"^(?P<fmt>[a-z]+):(?P<number>\d+(?:\.\d+)?)(?P<unit>[km]?)$")
_UNITS = {"": 1, "k": 1000, "m": 1000 * 1000}


class AvatarMixError(ValueError):
    """The mix is malformed; the message says which entry and what one looks like."""


def parse_mix(raw: str) -> list[tuple[str, int]]:
    """``(FORMAT, bytes)`` for each entry of ``raw``, in order."""
    entries = [entry.strip().lower() for entry in raw.split(",") if entry.strip()]
    if not entries:
        raise AvatarMixError(f"it is empty: give FORMAT:SIZE entries, e.g. {DEFAULT_MIX}")
    mix = []
    for entry in entries:
        match = _ENTRY.match(entry)
        if not match:
            raise AvatarMixError(f"{entry!r} is not FORMAT:SIZE: e.g. 'jpeg:300k' or 'png:1.5m'")
        fmt = match["fmt"].upper()
        if fmt == "JPG":
            fmt = "JPEG"
        if fmt not in FORMATS:
            raise AvatarMixError(f"{entry!r}: the format must be one of {', '.join(f.lower() for f in FORMATS)}")
        size = int(float(match["number"]) * _UNITS[match["unit"]])
        if not MIN_BYTES <= size <= _MAX_BYTES:
            raise AvatarMixError(f"{entry!r}: the size must be from {MIN_BYTES // 1000}k to {_MAX_BYTES // 10**6}m")
        mix.append((fmt, size))
    return mix
