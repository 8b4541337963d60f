"""Parsing and validation of every client-supplied value; each failure is a 400 naming the field."""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata

from .errors import ApiError

NAME_MAX_CHARS = 100
EMAIL_MAX_CHARS = 254
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# The longest cursor encode_cursor makes: base64 of {"e":"<email>"} with an email of EMAIL_MAX_CHARS characters
# of up to 4 UTF-8 bytes each (1,368 characters). At 1024 a long non-ASCII address made a Link that was refused.
CURSOR_MAX_CHARS = 4 * -(-(len('{"e":""}') + 4 * EMAIL_MAX_CHARS) // 3)


def invalid(field: str, message: str) -> ApiError:
    return ApiError(400, "invalid_field", message, field=field)


def parse_name(raw: str | None) -> str:
    if raw is None:
        raise ApiError(400, "missing_field", "the form field 'name' is required", field="name")
    name = raw.strip()
    if not 1 <= len(name) <= NAME_MAX_CHARS:
        raise invalid("name", f"name must be 1 to {NAME_MAX_CHARS} characters after trimming spaces")
    if any(unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in name):
        raise invalid(
            "name",
            "name must not contain control or invisible formatting characters (C0/C1 controls, direction"
            " overrides, zero-width characters, byte-order marks, line or paragraph separators)",
        )
    return name


# Unicode categories a displayed name never needs: Cc (C0 and C1 controls, DEL), Cf (format: RTL/LTR overrides and
# isolates, zero-width space and joiners, BOM, soft hyphen), Zl/Zp (line and paragraph separators), Cs (surrogates).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def parse_email(raw: str | None) -> str:
    """The address in one canonical form: Unicode-normalised, IDN domains decoded, lower-cased.

    Syntax only (no DNS lookup). One mailbox written two ways (``é`` composed or
    not, ``xn--`` or Unicode domain, any case) is one user.
    """
    if raw is None:
        raise ApiError(400, "missing_field", "the form field 'email' is required", field="email")
    email = raw.strip()
    if not email or len(email) > EMAIL_MAX_CHARS:
        raise invalid("email", f"email must be 1 to {EMAIL_MAX_CHARS} characters")
    canonical = canonical_email(email)
    if canonical is None or len(canonical) > EMAIL_MAX_CHARS:
        raise invalid("email", "email is not a valid address, e.g. jane@example.com")
    return canonical


def lookup_email(raw: str) -> str:
    """The key to look a user up by: the canonical form when ``raw`` is an address, else ``raw`` lower-cased."""
    if len(raw) > EMAIL_MAX_CHARS:
        return raw.lower()
    return canonical_email(raw) or raw.lower()


def canonical_email(address: str) -> str | None:
    # Imported here: compiling its grammar costs about 15 ms that no listing should pay.
    from email_validator import EmailNotValidError, validate_email

    try:
        return str(validate_email(address, check_deliverability=False).normalized).lower()
    except EmailNotValidError:
        return None


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ApiError(
            400, "invalid_parameter", f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}", field="limit"
        )
    return int(raw)


def encode_cursor(last_key: dict[str, str]) -> str:
    """The next page's position, opaque to clients (base64url of the last key's email)."""
    # UTF-8, not \uXXXX escapes: an escaped character takes 6 bytes, so long non-ASCII addresses overflowed the limit.
    payload = json.dumps({"e": last_key["email"]}, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def decode_cursor(raw: str | None) -> str | None:
    """The email to resume after, or None for the first page; 400 for anything malformed."""
    if raw is None:
        return None
    bad = ApiError(
        400,
        "invalid_parameter",
        "cursor is malformed: pass the one from the previous page's Link header",
        field="cursor",
    )
    if not raw or len(raw) > CURSOR_MAX_CHARS:
        raise bad
    try:
        decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        raise bad from None
    if not isinstance(decoded, dict) or set(decoded) != {"e"}:
        raise bad
    email = decoded["e"]
    if not isinstance(email, str) or not 0 < len(email) <= EMAIL_MAX_CHARS:
        raise bad
    return email
