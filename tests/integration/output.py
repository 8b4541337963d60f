"""A child process's output, read on a thread (readline blocks) and handed over line by line as it comes."""

from __future__ import annotations

import queue
import subprocess
import threading
import time


class ProcessOutput:
    """Every line read so far is in ``seen``; the methods wait for more, up to a timeout."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        stdout = process.stdout
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []

        def pump() -> None:
            for line in stdout:
                self._lines.put(line)
            self._lines.put(None)  # end of output

        threading.Thread(target=pump, daemon=True).start()

    def _next(self, deadline: float) -> str | None:
        """The next line, or None at the end of output or the deadline."""
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is not None:
                self.seen.append(line)
            return line
        return None

    def until(self, marker: str, timeout: float) -> list[str]:
        """Every line read so far, once one contains ``marker``."""
        deadline = time.monotonic() + timeout
        while (line := self._next(deadline)) is not None:
            if marker in line:
                return self.seen
        raise AssertionError(f"{marker!r} not printed within {timeout:.0f} s; got:\n{self.text()}")

    def line_starting(self, prefix: str, timeout: float) -> str:
        """The first line from now on that starts with ``prefix``, without its newline."""
        deadline = time.monotonic() + timeout
        while (line := self._next(deadline)) is not None:
            if line.startswith(prefix):
                return line.rstrip("\n")
        raise AssertionError(f"no line starting {prefix!r} within {timeout:.0f} s; got:\n{self.text()}")

    def rest(self, timeout: float) -> str:
        """Everything printed, once the process has closed its output (or the time is up)."""
        deadline = time.monotonic() + timeout
        while self._next(deadline) is not None:
            pass
        return self.text()

    def text(self) -> str:
        return "".join(self.seen)
