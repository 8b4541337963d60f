"""``make minikube-image``: build the app's image into Minikube from app/Dockerfile (pods pull it IfNotPresent).

It checks first that Minikube is installed and running, and says how to get
it if not, as ``make localdev`` does. Standard library only: it needs no
virtual environment.
"""

from __future__ import annotations

import subprocess
import sys

from .localdev import LocaldevError, check_minikube_running, image_build_command, need_minikube
from .processes import REPO_ROOT

COMMAND = "make minikube-image"


def main() -> int:
    try:
        minikube = need_minikube()
        check_minikube_running(minikube)
    except LocaldevError as exc:
        print(f"{COMMAND}: {exc}", file=sys.stderr)
        return 2
    command = image_build_command(minikube)
    print(" ".join(["minikube", *command[1:]]), flush=True)
    built = subprocess.run(command, cwd=REPO_ROOT, check=False)  # its progress, straight to the terminal
    if built.returncode != 0:
        print(f"{COMMAND}: `minikube image build` failed with exit code {built.returncode}; see above", file=sys.stderr)
    return built.returncode


if __name__ == "__main__":
    sys.exit(main())
