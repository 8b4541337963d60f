"""``make kubeconfig``: write the eks stack's kubeconfig to a file only you can read, and print the export line.

The kubeconfig is a secret stack output. It holds no key: it runs
``aws eks get-token`` with your AWS credentials each time kubectl connects.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .processes import REPO_ROOT
from .stack import StackError, kubeconfig_text, selected_stack, stack_outputs, write_private

COMMAND = "make kubeconfig"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND)
    parser.add_argument("--file", default="", help="where to write it (Make: KUBECONFIG_FILE; default .local/)")
    args = parser.parse_args(argv)
    try:
        stack, why = selected_stack(COMMAND)
    except StackError as error:
        print(error, file=sys.stderr)
        return 1
    if stack is None:
        print(f"{COMMAND}: {why}: install Pulumi and `pulumi stack select <stack>` first", file=sys.stderr)
        return 2
    try:
        outputs = stack_outputs(COMMAND, show_secrets=True)
    except StackError as error:
        print(error, file=sys.stderr)
        return 1
    text = kubeconfig_text(outputs)
    if text is None:
        backend = outputs.get("backend") or "not deployed yet"
        hint = (
            "`kubectl config use-context minikube` reaches Minikube"
            if backend == "minikube"
            else "only the eks backend exports one; run `pulumi up` if this stack is eks"
        )
        print(f"{COMMAND}: stack {stack!r} (backend: {backend}) has no kubeconfig output: {hint}", file=sys.stderr)
        return 1
    path = Path(args.file) if args.file else REPO_ROOT / ".local" / f"kubeconfig-{stack.replace('/', '-')}.json"
    path = path.resolve()
    if path.is_dir():
        print(f"{COMMAND}: KUBECONFIG_FILE={path} is a directory: name a file", file=sys.stderr)
        return 2
    write_private(path, text)
    print(
        f"# wrote {path} (mode 600); kubectl runs `aws eks get-token`, so the AWS CLI must be on PATH", file=sys.stderr
    )
    print(f"export KUBECONFIG={path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
