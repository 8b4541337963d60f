"""The README's quickstart, run for real: `make local`, its curl commands verbatim with bash, then Ctrl-C.

The commands come from the README itself, from the fenced shell blocks that follow the invisible markers
``<!-- quickstart: make -->`` and ``<!-- quickstart: curl -->``. Edit the quickstart and this test runs the edit.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil
import pytest
from PIL import Image

from devtools.processes import REPO_ROOT, free_port, port_in_use
from tests.integration.make import ctrl_c, start_in_terminal
from tests.integration.output import ProcessOutput

README = REPO_ROOT / "README.md"
FIRST_SCREEN_LINES = 40
FIRST_RUN_SECONDS = 900  # the first `make local` may create .venv and install into it
COMMAND_SECONDS = 60
JPEG_MAGIC = b"\xff\xd8\xff"
STOPPED = "stopped: every process make local started has exited."


def fenced_block(marker: str) -> tuple[str, int]:
    """The shell block right after ``<!-- quickstart: marker -->`` and the README line its closing fence is on."""
    text = README.read_text()
    comment = f"<!-- quickstart: {marker} -->"
    if text.count(comment) != 1:
        pytest.fail(f"README.md must hold the marker {comment!r} exactly once, before the quickstart's {marker} block")
    found = re.search(rf"{re.escape(comment)}[ \t]*\n```(?:sh|bash|shell)?[ \t]*\n(.*?)^```[ \t]*$", text, re.S | re.M)
    if found is None:
        pytest.fail(f"README.md: {comment!r} must be followed directly by a fenced shell block (```sh ... ```)")
    return found[1], text[: found.end()].count("\n") + 1


def commands(block: str) -> list[str]:
    """The block's commands as a reader pastes them: continued lines joined, blank and comment-only lines left out."""
    joined = re.sub(r"\\\n", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def words(command: str) -> list[str]:
    return shlex.split(command, comments=True)


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def http_answer(output: bytes, command: str) -> HttpAnswer:
    """The final response of ``curl -i`` output (a ``100 Continue`` before it is skipped)."""
    rest = output
    while True:
        head, separator, body = rest.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/") or not separator:
            pytest.fail(f"`{command}` printed no HTTP status and headers (does it still have -i?):\n{output!r}")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        if 100 <= status < 200:
            rest = body
            continue
        headers = {
            name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
        }
        return HttpAnswer(status, headers, body)


@dataclass(frozen=True)
class LocalStack:
    process: subprocess.Popen[str]
    output: ProcessOutput
    port: int
    emulator_port: int


@pytest.fixture
def make_local() -> Iterator[LocalStack]:
    block, _ = fenced_block("make")
    start = next((words(command) for command in commands(block) if words(command)[:2] == ["make", "local"]), None)
    if start is None:
        pytest.fail(f"the README's quickstart make block has no `make local` command:\n{block}")
    port, emulator_port = free_port(), free_port()
    process = start_in_terminal(start[1], *start[2:], f"PORT={port}", f"EMULATOR_PORT={emulator_port}")
    yield LocalStack(process, ProcessOutput(process), port, emulator_port)
    if process.poll() is None:  # the test failed midway: stop it as Ctrl-C would, then for good
        ctrl_c(process)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class KeptFiles:
    """File names in the repository's folder lent to the quickstart: a file that was there is put back after."""

    def __init__(self) -> None:
        self._lent: dict[Path, bytes | None] = {}

    def lend(self, path: Path) -> None:
        self._lent[path] = path.read_bytes() if path.exists() else None

    def give_back(self) -> None:
        for path, before in self._lent.items():
            if before is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(before)


@pytest.fixture
def kept_files() -> Iterator[KeptFiles]:
    kept = KeptFiles()
    yield kept
    kept.give_back()


def run_pasted(export_line: str, command: str) -> bytes:
    """``command`` run as a reader runs it: bash in the repository's folder, after pasting the export line."""
    bash = shutil.which("bash")
    assert bash is not None, "the quickstart's commands are bash"
    assert shutil.which("curl") is not None, "the quickstart needs curl on PATH"
    env = {name: value for name, value in os.environ.items() if name != "HOST_ADDRESS"}
    result = subprocess.run(
        [bash, "-c", f"set -euo pipefail\n{export_line}\n{command}\n"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=COMMAND_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"`{command}` exited with {result.returncode}: {result.stderr.decode()}"
    return result.stdout


def kind_of(argv: list[str]) -> str:
    """Which step of the quickstart a curl command is, from its own words."""
    url = next((word for word in argv if "HOST_ADDRESS" in word), "")
    method = argv[argv.index("-X") + 1] if "-X" in argv[:-1] else ("POST" if "-F" in argv else "GET")
    if argv[:1] != ["curl"] or not url:
        return "unknown"
    if method == "POST" and url.endswith("/user"):
        return "create"
    if method == "GET" and url.endswith("/users"):
        return "list"
    if method == "GET" and url.endswith("/avatar"):
        return "download" if "-L" in argv else "redirect"
    if method == "DELETE":
        return "delete"
    return "unknown"


def form_fields(argv: list[str]) -> dict[str, str]:
    """The ``-F name=value`` pairs of a curl command."""
    pairs = (argv[i + 1].partition("=") for i, word in enumerate(argv[:-1]) if word == "-F")
    return {name: value for name, _, value in pairs}


def test_the_quickstart_is_on_the_first_screen() -> None:
    _, make_ends = fenced_block("make")
    _, curl_ends = fenced_block("curl")

    assert make_ends < curl_ends <= FIRST_SCREEN_LINES, (
        f"the quickstart's curl block ends on README line {curl_ends}: a newcomer must reach a created user "
        f"within the first {FIRST_SCREEN_LINES} lines"
    )


@pytest.mark.integration
@pytest.mark.timeout(FIRST_RUN_SECONDS + 300)
def test_the_readme_quickstart_works_as_written(make_local: LocalStack, kept_files: KeptFiles) -> None:
    block, _ = fenced_block("curl")
    steps = [(kind_of(words(command)), command) for command in commands(block)]
    unknown = [command for kind, command in steps if kind == "unknown"]
    assert not unknown, f"this test does not know what a reader should see from {unknown}: teach it"
    kinds = [kind for kind, _ in steps]
    for kind in ("create", "list", "redirect", "download", "delete"):
        assert kind in kinds, f"the quickstart's curl block no longer has a {kind} step:\n{block}"
    assert kinds.index("create") < min(kinds.index(k) for k in ("list", "redirect", "download")), "create comes first"
    assert kinds.index("delete") == len(kinds) - 1, "delete comes last"

    create = words(next(command for kind, command in steps if kind == "create"))
    fields = form_fields(create)
    email, name, avatar = fields.get("email"), fields.get("name"), fields.get("avatar", "")
    assert email, f"the create step must send an email: {create}"
    assert name, f"the create step must send a name: {create}"
    assert avatar.startswith("@"), f"the create step must upload an avatar file (avatar=@path): {create}"
    assert (REPO_ROOT / avatar[1:]).is_file(), f"the quickstart uploads {avatar[1:]}, which is not in the repository"
    download = words(next(command for kind, command in steps if kind == "download"))
    assert "-o" in download[:-1], "the download step saves the avatar with -o"
    saved = REPO_ROOT / download[download.index("-o") + 1]
    kept_files.lend(saved)

    stack = make_local
    export_line = stack.output.line_starting("export HOST_ADDRESS=", timeout=FIRST_RUN_SECONDS)
    assert export_line == f"export HOST_ADDRESS=http://127.0.0.1:{stack.port}"
    children = psutil.Process(stack.process.pid).children(recursive=True)
    assert len(children) >= 4, "the recipe's python, moto server, the gunicorn master and its workers"

    for kind, command in steps:
        output = run_pasted(export_line, command)
        if kind == "create":
            created = http_answer(output, command)
            assert created.status == 201, f"the create answered {created.status}: {created.body.decode()}"
            user = json.loads(created.body)
            assert user["email"] == email
            assert user["name"] == name
            assert user["avatar_url"] == f"http://127.0.0.1:{stack.port}/users/{email}/avatar"
            assert created.headers["location"] == f"http://127.0.0.1:{stack.port}/users/{email}"
        elif kind == "list":
            listed = http_answer(output, command).body if output.startswith(b"HTTP/") else output
            assert email in [entry["email"] for entry in json.loads(listed)], listed.decode()
        elif kind == "redirect":
            redirect = http_answer(output, command)
            assert redirect.status == 302, f"the avatar answered {redirect.status}: {redirect.body.decode()}"
            location = urlsplit(redirect.headers["location"])
            assert location.netloc == f"127.0.0.1:{stack.emulator_port}", "a URL of the (emulated) S3 bucket"
            assert "X-Amz-Signature" in parse_qs(location.query), "a presigned URL"
        elif kind == "download":
            image = saved.read_bytes()
            assert image[:3] == JPEG_MAGIC, f"{saved.name} is not a JPEG: {image[:200]!r}"
            with Image.open(io.BytesIO(image)) as stored:
                assert stored.format == "JPEG"
                assert max(stored.size) <= 1024, "the stored avatar, scaled to fit 1024 x 1024"
        elif kind == "delete":
            deleted = http_answer(output, command)
            assert deleted.status == 204, f"the delete answered {deleted.status}: {deleted.body.decode()}"
            assert deleted.body == b""

    ctrl_c(stack.process)
    stack.process.wait(timeout=60)
    printed = stack.output.rest(timeout=10)
    assert STOPPED in printed, printed
    assert stack.process.returncode in {0, -signal.SIGINT}, f"make local ended with {stack.process.returncode}"
    _, alive = psutil.wait_procs(children, timeout=30)
    assert [child for child in alive if child.status() != psutil.STATUS_ZOMBIE] == []
    assert not port_in_use(stack.port)
    assert not port_in_use(stack.emulator_port)
