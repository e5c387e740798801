"""Where a function keeps its composition root: made on first use, replaced by tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

R = TypeVar("R")


class RootHolder(Generic[R]):
    def __init__(self, make: Callable[[], R]) -> None:
        self._make = make
        self._root: R | None = None

    def root(self) -> R:
        """This instance's root, made on first use (from the environment and the system clock)."""
        if self._root is None:
            self._root = self._make()
        return self._root

    def install(self, replacement: R | None) -> None:
        """Use ``replacement`` from now on (None: a new root on next use, as after a cold start)."""
        self._root = replacement
