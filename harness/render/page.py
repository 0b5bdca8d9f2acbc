"""The page's building blocks: a Figure (inline SVG and its caption), a Table and a Section,
which later work (multiverse, power, seed 0) hands to the report to render after the claims."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from harness.render.format import slug

# The page's own section ids; a later section with one of these ids gets a prefixed anchor.
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
        return "fig-" + slug(self.id)

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
        name = slug(self.id)
        return f"section-{name}" if name in PAGE_SECTIONS else name

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in re.split(r"\n\s*\n", self.intro) if p.strip()]
