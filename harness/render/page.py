from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from harness.render.format import _slug

PAGE_SECTIONS = ("headline", "trainability", "writeup-figures", "claims", "ablations", "methods", "provenance")

@dataclass(frozen=True)
class Figure:
    """A figure of the page: `svg` is an <svg> element from harness.figures (trusted markup,
    inserted as is); `caption` is plain text and says what to see."""

    id: str
    svg: str
    caption: str

    @property
    def anchor(self) -> str:
        return "fig-" + _slug(self.id)

    def __post_init__(self) -> None:
        s = self.svg.lstrip()
        if not (s.startswith("<svg") and s.rstrip().endswith("</svg>")):
            raise ValueError(f"figure {self.id!r}: `svg` must be one <svg> element (harness.figures.to_svg)")


@dataclass(frozen=True)
class Table:
    """A plain table: cells are text (escaped) or numbers (printed with fmt)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    caption: str = ""


@dataclass(frozen=True)
class Section:
    """A section after the per-claim ones: `intro` is plain text (blank lines separate
    paragraphs); everything is escaped except the figures' SVG."""

    id: str
    title: str
    intro: str = ""
    figures: Sequence[Figure] = ()
    tables: Sequence[Table] = ()

    @property
    def anchor(self) -> str:
        slug = _slug(self.id)
        return f"section-{slug}" if slug in PAGE_SECTIONS else slug

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in re.split(r"\n\s*\n", self.intro) if p.strip()]


# -- numbers as text -----------------------------------------------------------------------------
