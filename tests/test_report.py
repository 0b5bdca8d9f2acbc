"""The HTML report: structure, self-containment, escaping, formatting, and a real browser."""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import markupsafe
import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from harness.analysis.estimators import EmptyShare
from harness.analysis.stats import Interval
from harness.analysis.units import FLOORS, FloorSensitivity
from harness.analysis.verdicts import VERDICT_MEANINGS, VERDICTS
from harness.claims import Claim, RunMean, Slope, evaluate_all, load_claims
from harness.config import Protocol
from harness.render import figures
from harness.render.figures import VERDICT_COLORS
from harness.render.format import fmt, fmt_ci, fmt_p, fmt_pct
from harness.render.page import Figure, Section, Table
from harness.render.report import BADGE, render, write_report
from harness.render.text import caveats, verdict_row, verdict_table_markdown
from harness.runs.provenance import provenance
from harness.runs.store import Store
from harness.runs.study import EnsureStats, Study, ensure

MODELS = ("lp", "linear", "lp2", "linear+l1(0.01)")


def anchor(claim_id: str) -> str:
    return "claim-" + re.sub(r"[^a-z0-9]+", "-", claim_id.lower()).strip("-")
INJECTION = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One small study (trained once), its verdicts, and the page rendered from them."""
    root = tmp_path_factory.mktemp("report")
    study = Study.of(MODELS, polytopes=3, seeds=4, protocol=Protocol(epochs=20))
    store = Store(root / "store")
    stats = EnsureStats()
    runs, points = ensure(study, store, stats=stats)
    claims = [c for c in load_claims() if set(c.models) <= set(MODELS)]
    claims += [
        Claim(id="injected", sentence=f"Sentence with {INJECTION} & <b>markup</b>.",
              statistic=RunMean("accuracy", model="linear"), direction=">", null=0.5, order=999),
        Claim(id="slope-check", sentence="Flat fraction falls with negative-weight mass.", group="ablation",
              statistic=Slope(y="flat_frac", x="neg_w_mass", models=("linear", "linear+l1(0.01)")), direction="<"),
    ]
    verdicts = evaluate_all(claims, runs, points, n_boot=200)
    with figures.style():
        fig, axes = figures.new_figure(figures.WIDTH, 2.0)
        axes[0, 0].plot([0, 1], [1, 0], label=INJECTION)
        axes[0, 0].legend()
        svg = figures.to_svg(fig, "extra")
    extra = Section(id="extra <x>", title=f"Extra {INJECTION}", intro=f"First {INJECTION}.\n\nSecond paragraph.",
                    figures=[Figure("extra", svg, f"A caption with {INJECTION}.")],
                    tables=[Table(columns=["name", "value"], rows=[[INJECTION, 0.012345], ["missing", float("nan")]],
                                  caption="an extra table")])
    prov = provenance(study, store, "cpu", stats, 1.5)
    path = write_report(root / "out", study, runs, points, claims, verdicts, prov, sections=[extra])
    return {"path": path, "html": path.read_text(encoding="utf-8"), "verdicts": verdicts, "runs": runs,
            "prov": prov, "root": root, "study": study, "points": points, "claims": claims}


# -- structure ---------------------------------------------------------------------------------
def test_every_claim_is_present_with_its_verdict_badge(built):
    html = built["html"]
    for v in built["verdicts"]:
        assert f'id="{anchor(v.id)}"' in html, v.id
        assert f'<span class="badge {BADGE[v.verdict]}">{v.verdict}</span>' in html, v.id


def test_figures_are_embedded_and_captioned(built):
    html = built["html"]
    n_svg = html.count("<svg")
    assert n_svg >= len(built["verdicts"]) + 4  # one per claim, plus trainability and the write-up's figures
    assert html.count("<figure") == html.count("<figcaption>") == n_svg
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    assert 'id="ablations"' in html  # linear+l1(0.01) is an ablation variant


def test_no_external_resources(built):
    html = built["html"]
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html, flags=re.IGNORECASE)
    assert refs, "the page should at least link its own sections"
    external = [r for r in refs if not (r.startswith("#") or r.startswith("data:"))]
    assert external == []
    assert not re.search(r"url\(\s*['\"]?(?!#|data:)", html), "CSS may only refer to #anchors or data: URIs"
    assert "<script" not in html.replace("&lt;script", "")


def test_runs_csv_and_provenance(built):
    csv = built["path"].parent / "runs.csv"
    table = pd.read_csv(csv)
    assert len(table) == len(built["runs"])
    assert not any(c.startswith("param_") for c in table.columns)
    html = built["html"]
    prov = built["prov"]
    assert 'id="provenance"' in html
    for key in ("git_commit", "study_key", "date", "device", "versions", "runs_trained", "runs_found", "threads"):
        assert key in prov
    assert prov["study_key"] in html and prov["versions"]["numpy"] in html
    assert prov["runs_trained"] + prov["runs_found"] == len(built["runs"])


def test_nan_shows_as_na(built):
    """At this size some claims have no usable runs; their numbers read n/a, never nan."""
    text = re.sub(r"<svg.*?</svg>", "", built["html"], flags=re.DOTALL)
    assert not re.search(r"\bnan\b", text, flags=re.IGNORECASE)
    untested = [v for v in built["verdicts"] if np.isnan(v.estimate)]
    for v in untested:
        row = re.search(rf'<a href="#{anchor(v.id)}">.*?</tr>', text, flags=re.DOTALL).group(0)
        assert "n/a" in row


def test_extra_sections_render_after_the_claims(built):
    html = built["html"]
    assert html.index('id="extra-x"') > html.index('id="claims"')
    assert "Second paragraph." in html and "an extra table" in html and "0.0123" in html


def test_figure_rejects_anything_but_svg():
    with pytest.raises(ValueError, match="svg"):
        Figure("x", "<img src=x onerror=alert(1)>", "caption")


# -- escaping ----------------------------------------------------------------------------------
def test_text_from_claims_and_sections_cannot_inject_markup(built):
    html = built["html"]
    assert INJECTION not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;markup&lt;/b&gt;" in html


# -- numbers -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "text"), [
    (0.012345, "0.0123"), (6.912, "6.91"), (104.6, "105"), (12345.0, "12,300"), (-0.000301, "-3.01e-4"),
    (0.0, "0"), (3, "3"), (float("nan"), "n/a"), (None, "n/a"), (float("inf"), "∞"), (1.0, "1"),
])
def test_fmt_keeps_three_significant_digits(value, text):
    assert fmt(value) == text


@pytest.mark.parametrize(("p", "text"), [(3e-7, "<1e-4"), (0.00032, "3.2e-4"), (0.0198, "0.0198"),
                                         (0.5, "0.5"), (float("nan"), "n/a")])
def test_fmt_p(p, text):
    assert fmt_p(p) == text


def test_fmt_ci():
    assert fmt_ci(1.04, 1.3) == "[1.04, 1.3]"
    assert fmt_ci(float("nan"), float("nan")) == "n/a"


def test_fmt_decimals_and_pct():
    assert fmt(0.98765, decimals=3) == "0.988" and fmt(12345.6, decimals=1) == "12,345.6"
    assert fmt(float("nan"), decimals=2) == "n/a" and fmt(7, decimals=2) == "7"
    assert fmt_pct(0.388) == "38.8%" and fmt_pct(1 / 3, 2) == "33%" and fmt_pct(float("nan")) == "n/a"


def test_a_verdicts_caveats_are_on_its_headline_row_card_and_under_its_terminal_row(built):
    """The estimate at other ratio floors and the units with none to average (issue 12.9), as
    analysis computed them: the same lines under the terminal row and in the page's headline
    row, and on the claim's card."""
    old = next(v for v in built["verdicts"] if v.id == "center-weight-70x")
    floors = FloorSensitivity(FLOORS, (575.0, 3544.0, 15672.0, 54598.0), (0.84, 0.72, 0.57, 0.52))
    empty = (EmptyShare("lp", "center_active_absw", "no active unit at the centre", "pair", 14, 115, 8, 10, 0.119,
                        Interval(0.03, 0.207), "t-test on 10 polytope means"),)
    v = replace(old, floor_sensitivity=floors, empty=empty)
    lines = caveats(v)
    assert len(lines) == 2 and "575 / 3,540 / 15,700 / 54,600" in lines[0] and "set by the floor" in lines[0]
    assert "lp in 14 of 115 pairs, on 8 of 10 polytopes (11.9% [3%, 20.7%]" in lines[1]
    row = verdict_row(v)
    assert row.split("\n")[1:] == [f"{' ' * 31}{line}" for line in lines]
    verdicts = [v if x.id == v.id else x for x in built["verdicts"]]
    html = render(built["study"], built["runs"], built["points"], built["claims"], verdicts, built["prov"])
    page_row = re.search(rf'<a href="#{anchor(v.id)}">.*?</tr>', html, flags=re.DOTALL).group(0)
    card = html.split(f'id="{anchor(v.id)}"', 1)[1].split("</section>", 1)[0]
    for line in lines:
        assert str(markupsafe.escape(line)) in page_row and str(markupsafe.escape(line)) in card, line
    assert "estimate at other ratio floors" in card and "no units to average" in card


def test_a_verdict_prints_the_same_numbers_in_the_terminal_and_on_the_page(built):
    """One formatter: the terminal row's estimate, interval and p are the page's, character for character."""
    html = built["html"]
    for v in built["verdicts"]:
        row = verdict_row(v)
        page_row = re.search(rf'<a href="#{anchor(v.id)}">.*?</tr>', html, flags=re.DOTALL).group(0)
        for text in (fmt(v.estimate), fmt_p(v.p_adj)):
            assert f" {text} " in f" {row} " and markupsafe.escape(text) in page_row, (v.id, text)
        if np.isfinite(v.estimate):
            assert fmt_ci(v.ci_low, v.ci_high) in row and fmt_ci(v.ci_low, v.ci_high) in page_row, v.id


# -- one definition of each verdict word's meaning and colour -----------------------------------
def test_the_readme_verdict_table_is_the_generated_one():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert verdict_table_markdown() in readme, (
        "README.md's 'Verdicts' table differs from analysis.verdicts.VERDICT_MEANINGS; paste in "
        "harness.render.text.verdict_table_markdown()")


def test_the_legend_and_badge_colours_come_from_the_one_definition(built):
    html = built["html"]
    for word in VERDICTS:
        assert str(markupsafe.escape(VERDICT_MEANINGS[word])) in html, word  # jinja's escaping
        assert f".{BADGE[word]} {{ background: {VERDICT_COLORS[word]}; }}" in html, word
    css = (Path(figures.__file__).parent / "templates" / "report.css").read_text()
    assert not any(colour in css for colour in VERDICT_COLORS.values()), "a verdict colour is typed twice"


def test_no_pyplot_figure_is_left_open(built):
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []


# -- a real browser ----------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make browser)")


def _open(page: Path, shot: Path, profile: Path) -> tuple[int, list[str]]:
    """Loads `page` in headless Chromium, writes a screenshot; returns (exit code, console lines)."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
           f"--screenshot={shot}", "--window-size=1366,3000", page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    log = proc.stdout + proc.stderr
    console = [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    return proc.returncode, console


@needs_chromium
def test_the_console_check_catches_a_script_error(tmp_path):
    """The check below would be worthless if it could not fail: a page with a JS error fails it."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><p>hello</p><script>undefinedFunction();</script></body></html>")
    _, console = _open(bad, tmp_path / "bad.png", tmp_path / "profile")
    assert any("Uncaught" in line and "undefinedFunction" in line for line in console), console


@needs_chromium
def test_the_console_check_catches_an_external_request(built, tmp_path):
    """The page's content security policy blocks any request off the page, and says so on the
    console: the report with one external image added fails the check."""
    bad = tmp_path / "external.html"
    bad.write_text(built["html"].replace("</body>", '<img src="http://example.invalid/x.png" alt=""></body>'))
    _, console = _open(bad, tmp_path / "external.png", tmp_path / "profile")
    assert any("example.invalid" in line for line in console), console


@needs_chromium
def test_the_page_loads_without_console_errors_and_is_not_blank(built, tmp_path):
    shot = built["path"].parent / "screenshot.png"
    code, console = _open(built["path"], shot, tmp_path / "profile")
    assert code == 0
    assert console == [], console
    image = matplotlib.image.imread(shot)  # (height, width, channels), floats in [0, 1]
    assert image.shape[0] >= 2000 and image.shape[1] >= 1300
    pixels = (image[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    colours = np.unique(pixels[::7], axis=0)
    assert len(colours) > 200, "the screenshot looks blank"
    assert (pixels < 250).any(axis=1).mean() > 0.02, "almost nothing is drawn"


def test_claim_figures_stay_small_and_fast_for_polytope_heavy_studies():
    """Issue 13: a labelled forest row per polytope up to FOREST_ROWS; beyond, a sorted
    caterpillar of fixed height, rasterized past RASTER_ROWS, so a 2,400-polytope study's
    figure is no larger than a 150-polytope one's (it was a row and two artists per polytope)."""
    import numpy as np

    from harness.render import figures

    rng = np.random.default_rng(0)

    def svg(k: int) -> str:
        rows = [dict(polytope=i, estimate=float(e), low=float(e - 0.3), high=float(e + 0.3), n=2)
                for i, e in enumerate(rng.normal(1, 0.5, k))]
        return figures.claim_evidence(rows, (1.0, 0.9, 1.1), rng.normal(1, 0.5, 2 * k), log=False, null=0.0,
                                      claimed=1.2, writeup=1.5, margin=None, xlabel="x", name=f"k{k}", band=(1.1, 1.3))

    small, mid, big = svg(10), svg(150), svg(2400)
    assert "polytope 7 (n=2)" in small and "sorted" not in small
    assert "polytope 7 (n=2)" not in mid and "150, sorted" in mid
    assert "<image" in big and "<image" not in mid  # rasterized past RASTER_ROWS only
    assert len(big) < 1.5 * len(mid)
