"""``make token``: an access token from the local issuer that ``make local AUTH=on`` runs, printed alone on stdout.

export TOKEN=$(make token)                      # scope users:write, valid for an hour
make token SCOPE= EXPIRES=60                    # no scope (writes answer 403), valid for a minute
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

from .local_issuer import DEFAULT_EXPIRES_IN, DEFAULT_SCOPE, MAX_EXPIRES_IN, TOKEN_PATH
from .make_args import MakeArgumentParser, port, whole_number

DEFAULT_ISSUER_PORT = 4580
# RFC 6749 section 3.3: scope tokens of printable ASCII but space, '"' and '\', separated by single spaces.
_SCOPE = re.compile(r"^([\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*)?$")


def scope(raw: str) -> str:
    text = raw.strip()
    if not _SCOPE.match(text):
        raise ValueError(f"{raw!r} is not a list of OAuth scopes: words of printable characters separated by spaces")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = MakeArgumentParser("token", description=__doc__.splitlines()[0])
    parser.add_variable(
        "ISSUER_PORT", "--issuer-port", port, default=DEFAULT_ISSUER_PORT, help="the local issuer's port"
    )
    parser.add_variable("SCOPE", "--scope", scope, default=DEFAULT_SCOPE, help="the token's scopes; empty: none")
    parser.add_variable(
        "EXPIRES", "--expires", whole_number(1, MAX_EXPIRES_IN), default=DEFAULT_EXPIRES_IN, help="seconds it is valid"
    )
    args = parser.parse_args(argv)
    url = f"http://127.0.0.1:{args.issuer_port}{TOKEN_PATH}"
    form = urllib.parse.urlencode({"scope": args.scope, "expires_in": args.expires}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=form, method="POST"), timeout=5) as response:
            token = json.load(response)["access_token"]
    except (OSError, ValueError, KeyError) as exc:
        print(
            f"make token: no local issuer answers on 127.0.0.1:{args.issuer_port} ({exc.__class__.__name__}): "
            f"start the API with `make local AUTH=on` (ISSUER_PORT={args.issuer_port}) in another shell first",
            file=sys.stderr,
        )
        return 1
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
