"""``make package-lambda``: build the Lambda zip for RUNTIME and ARCH into .build/lambda, as ``pulumi up`` does.

The package is backends/lambda/package.py; this is its command line, in a
module of its own so that the package module is imported once, not run as
``__main__`` after its own package imported it (runpy's RuntimeWarning).
The printed sha256 is base64-encoded, as Lambda gives CodeSha256, so it can
be compared with ``aws lambda get-function`` as it is.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

from .make_args import MakeArgumentParser, one_of
from .processes import REPO_ROOT

package = importlib.import_module("backends.lambda.package")  # `lambda` is a keyword: no import statement names it


def main(argv: list[str] | None = None) -> int:
    parser = MakeArgumentParser("package-lambda", description=(__doc__ or "").splitlines()[0])
    parser.add_variable("RUNTIME", "--runtime", one_of(package.RUNTIMES), default="python3.12", help="the runtime")
    parser.add_variable(
        "ARCH", "--architecture", one_of(tuple(package.PLATFORM_TAGS)), default="arm64", help="the architecture"
    )
    args = parser.parse_args(argv)
    try:
        built = package.build(args.runtime, args.architecture)
    except subprocess.CalledProcessError as exc:
        print(
            f"make package-lambda: {exc.cmd[0]} failed with exit code {exc.returncode}; see its output above",
            file=sys.stderr,
        )
        return 1
    shown = built.path.relative_to(REPO_ROOT) if built.path.is_relative_to(REPO_ROOT) else built.path
    print(f"{shown}  {built.size_bytes / 1e6:.1f} MB  sha256 (base64, as Lambda's CodeSha256): {built.sha256_base64}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
