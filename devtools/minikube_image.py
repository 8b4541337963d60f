"""``make minikube-image``: build the app's image into Minikube from app/Dockerfile (pods pull it IfNotPresent).

The tag is the app's content digest, the one the minikube backend deploys by default: a changed app is a new tag
(so ``pulumi up`` rolls it out), an unchanged one the same tag. It checks first that Minikube is installed and
running (``--check``, standard library only, before the toolchain is installed), and says how to get it if not,
as ``make localdev`` does.
"""

from __future__ import annotations

import subprocess
import sys

from .localdev import (
    LocaldevError,
    app_image_reference,
    check_minikube_running,
    image_build_command,
    need_minikube,
    profile_name,
)
from .make_args import MakeArgumentParser
from .processes import REPO_ROOT

COMMAND = "make minikube-image"


def main(argv: list[str] | None = None) -> int:
    parser = MakeArgumentParser("minikube-image", description=(__doc__ or "").splitlines()[0])
    parser.add_variable(
        "MINIKUBE_PROFILE", "--profile", profile_name, default="minikube", help="the Minikube profile (minikube -p)"
    )
    parser.add_argument("--check", action="store_true", help="only check that Minikube is there and running")
    args = parser.parse_args(argv)
    try:
        minikube = need_minikube()
        check_minikube_running(minikube, args.profile)
    except LocaldevError as exc:
        print(f"{COMMAND}: {exc}", file=sys.stderr)
        return 2
    if args.check:
        return 0
    command = image_build_command(minikube, args.profile, app_image_reference())
    print(" ".join(["minikube", *command[1:]]), flush=True)
    built = subprocess.run(command, cwd=REPO_ROOT, check=False)  # its progress, straight to the terminal
    if built.returncode != 0:
        print(f"{COMMAND}: `minikube image build` failed with exit code {built.returncode}; see above", file=sys.stderr)
    return built.returncode


if __name__ == "__main__":
    sys.exit(main())
