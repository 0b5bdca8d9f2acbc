"""Who runs the chunks of a study. The caller writes each result to the store as it comes
back, so a chunk is either saved whole or not at all, whichever executor ran it."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator


class LocalExecutor:
    """This process, one chunk at a time; the batched engine spreads each chunk over every
    core (numba threads), so more local processes would only compete for them."""

    def map(self, fn: Callable, chunks: Iterable, **kwargs) -> Iterator:
        for chunk in chunks:
            yield fn(chunk, **kwargs)
