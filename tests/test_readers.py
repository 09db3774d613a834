import json
from pathlib import Path

import pytest

from banyan.errors import IngestError
from banyan.ingest import discover, read_file


def _read(path: Path):
    return read_file(path, path.read_bytes())


def test_txt_and_markdown(tmp_path):
    (tmp_path / "a_note.txt").write_text("Hello world. Second sentence.", encoding="utf-8")
    (tmp_path / "b.md").write_text("intro\n# Real Title\nBody text.", encoding="utf-8")
    [a] = _read(tmp_path / "a_note.txt")
    assert a.title == "a note" and a.text.startswith("Hello")
    [b] = _read(tmp_path / "b.md")
    assert b.title == "Real Title"


def test_utf8_bom_and_utf16(tmp_path):
    (tmp_path / "bom.txt").write_bytes("\ufeff中文文本".encode("utf-8"))
    (tmp_path / "u16.txt").write_bytes("hello utf16".encode("utf-16"))
    assert _read(tmp_path / "bom.txt")[0].text == "中文文本"
    assert _read(tmp_path / "u16.txt")[0].text == "hello utf16"


def test_jsonl_and_json_records(tmp_path):
    recs = [{"id": "1", "title": "T1", "text": "one"}, {"title": "T2", "text": "two", "year": 2001}]
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n\n", encoding="utf-8")
    (tmp_path / "d.json").write_text(json.dumps(recs), encoding="utf-8")
    docs = _read(tmp_path / "c.jsonl")
    assert [d.title for d in docs] == ["T1", "T2"]
    assert docs[0].metadata == {"record_id": "1"} and docs[1].metadata == {"year": 2001}
    assert [d.id for d in _read(tmp_path / "d.json")] == [d.id for d in docs]


def test_bad_jsonl_line_is_reported_with_line_number(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n{broken\n', encoding="utf-8")
    with pytest.raises(IngestError, match="line 2"):
        _read(tmp_path / "bad.jsonl")


def test_html_drops_scripts(tmp_path):
    (tmp_path / "p.html").write_text(
        "<html><head><title>Page</title><script>var x=1;</script></head>"
        "<body><h1>Head</h1><p>Para one.</p></body></html>", encoding="utf-8")
    [d] = _read(tmp_path / "p.html")
    assert d.title == "Page" and "Para one." in d.text and "var x" not in d.text


def test_pdf(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "The Lumen Bridge opened in 1931.")
    path = tmp_path / "doc.pdf"
    pdf.output(str(path))
    [d] = _read(path)
    assert "Lumen Bridge" in d.text


def test_truncated_pdf_fails_cleanly(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "text")
    data = bytes(pdf.output())
    (tmp_path / "t.pdf").write_bytes(data[: len(data) // 3])
    with pytest.raises(IngestError):
        _read(tmp_path / "t.pdf")


def test_docx(tmp_path):
    import docx

    d = docx.Document()
    d.core_properties.title = "Word Title"
    d.add_paragraph("First paragraph.")
    d.add_paragraph("第二段。")
    path = tmp_path / "w.docx"
    d.save(str(path))
    [doc] = _read(path)
    assert doc.title == "Word Title" and "第二段" in doc.text


@pytest.mark.parametrize("name,data,reason", [
    ("empty.txt", b"", "empty"),
    ("blank.md", b"  \n\n", "empty"),
    ("bin.txt", b"\x00\x01\x02binary", "binary"),
    ("noise.txt", bytes(range(1, 256)) * 64, "UTF-8"),  # latin-1 text is decoded now (test_reliability_reports)
    ("fake.docx", b"not a zip", "DOCX"),
])
def test_unreadable_inputs_raise_ingest_error(tmp_path, name, data, reason):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(IngestError, match=reason):
        _read(tmp_path / name)


def test_discover(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "b.txt").write_text("x")
    (tmp_path / "c.exe").write_text("x")
    files, failures = discover([tmp_path, tmp_path / "c.exe", tmp_path / "missing"], [".txt"])
    assert files == [tmp_path / "sub" / "a.txt"]
    assert len(failures) == 2 and "no such file" in str(failures[1])
