"""A background server that is also a context manager: leaving the `with` block stops it.

    with start_http_in_thread(app) as running:
        requests.get(running.url + "/healthz")

Shared by the bot's own HTTP server and the test servers in `sandbox/` (which may import
product code; product code never imports them).
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class StopsOnExit:
    """Mixin: `__enter__` gives the server back, `__exit__` calls its `stop()`."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
