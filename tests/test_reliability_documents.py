"""Everyday reliability (#13), part 4: PDF citations carry page numbers; .pdf/.docx/.html titles
come from the document; HTML navigation, header and footer text is left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from banyan import Banyan
from banyan.ingest import read_file
from conftest import HASH

PAGES = [
    "Annual Survey of Bridges\nThe survey covers the coast in the year of the flood.",
    "",  # an empty page keeps the numbering of the pages after it
    "The Lumen Bridge carries the Coast Road across the Grey River.",
    "The Orrin Viaduct was closed for repairs to its western pier.",
]


def _pdf(path: Path, pages: list[str], title: str | None = None) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    if title is not None:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        for line in text.splitlines():
            pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_pdf_citations_carry_page_numbers(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    _pdf(docs / "survey.pdf", PAGES)
    with Banyan(tmp_path / "idx", {**HASH, "chunking": {"max_tokens": 16, "overlap_tokens": 0}}) as bn:
        bn.index([docs])
        [viaduct] = bn.search("Orrin Viaduct western pier", mode="bm25", k=1)
        [lumen] = bn.search("Lumen Bridge Coast Road", mode="bm25", k=1)
    assert viaduct.citation.page == 4 and "p. 4" in viaduct.citation.label()
    assert lumen.citation.page == 3
    assert viaduct.to_dict()["citation"]["page"] == 4
    assert viaduct.citation.title == "Annual Survey of Bridges"  # no metadata title: the first line


def test_pdf_title_from_metadata_unless_junk(tmp_path: Path) -> None:
    [doc] = read_file(_pdf(tmp_path / "a.pdf", PAGES, title="Bridges of the Coast"),
                      (tmp_path / "a.pdf").read_bytes())
    assert doc.title == "Bridges of the Coast" and doc.metadata["pages"] == 4
    [doc] = read_file(_pdf(tmp_path / "b.pdf", PAGES, title="Microsoft Word - draft3.docx"),
                      (tmp_path / "b.pdf").read_bytes())
    assert doc.title == "Annual Survey of Bridges"


def test_docx_title_from_first_heading(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph("Draft - internal")
    d.add_heading("The Orrin Viaduct", level=1)
    d.add_paragraph("It was closed for repairs.")
    d.save(str(tmp_path / "report_v2.docx"))
    [doc] = read_file(tmp_path / "report_v2.docx", (tmp_path / "report_v2.docx").read_bytes())
    assert doc.title == "The Orrin Viaduct"


HTML = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<header><a href="/">Home</a> | <a href="/about">About us</a></header>
<nav><ul><li>Bridges</li><li>Tunnels</li><li>Sign in</li></ul></nav>
<div role="navigation">Breadcrumbs: Home &gt; Bridges</div>
<main><article><header><h1>The Lumen Bridge</h1></header>
<p>The Lumen Bridge carries the Coast Road across the Grey River.</p></article></main>
<aside>Related: the Orrin Viaduct</aside>
<footer>Copyright 2026 Coast Council. Privacy policy.</footer>
</body></html>"""


@pytest.mark.parametrize("markup", [HTML, HTML.replace("<main>", "").replace("</main>", "")])
def test_html_leaves_out_navigation_header_and_footer(tmp_path: Path, markup: str) -> None:
    (tmp_path / "page.html").write_text(markup, encoding="utf-8")
    [doc] = read_file(tmp_path / "page.html", (tmp_path / "page.html").read_bytes())
    assert doc.title == "The Lumen Bridge"
    assert "carries the Coast Road" in doc.text and "The Lumen Bridge" in doc.text
    for chrome in ("About us", "Tunnels", "Breadcrumbs", "Copyright", "Related"):
        assert chrome not in doc.text
