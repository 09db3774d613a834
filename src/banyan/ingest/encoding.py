"""Decode text files: UTF-8 first, then a byte-order mark, then legacy encodings detected by
charset-normalizer (GB18030/GBK, Big5, Shift-JIS, EUC-KR, cp1252/latin-1, cp1251). Only bytes
that no candidate decodes cleanly (binaries) are refused.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from banyan.errors import IngestError

UTF8 = "utf-8"
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
LEGACY_ENCODINGS = ("gb18030", "big5", "cp932", "euc_kr", "cp1252", "cp1251", "latin_1")
"""Candidates tried after UTF-8, in order of preference when the detector cannot tell them apart
(short texts): a few CJK characters decode in GB18030 and Big5 alike."""
_SNIFF = 8192


@dataclass(frozen=True, slots=True)
class DecodedText:
    """A file's text and the encoding it was decoded from (``utf-8`` for most files)."""

    text: str
    encoding: str

    @property
    def legacy(self) -> bool:
        return self.encoding not in (UTF8, "utf-8-sig", "ascii")


def decode_bytes(data: bytes) -> DecodedText:
    """Decode a text file's bytes. Raises IngestError for binaries and undecodable bytes."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return DecodedText(data.decode(enc), enc)
            except UnicodeDecodeError as exc:
                raise IngestError(f"starts with a {enc} byte-order mark but is not valid {enc} "
                                  f"(byte {exc.start})") from exc
    if b"\x00" in data[:_SNIFF]:
        raise IngestError("binary file (NUL bytes), not text")
    try:
        return DecodedText(data.decode(UTF8), UTF8)
    except UnicodeDecodeError as exc:
        bad = exc.start
    return _detect_legacy(data, bad)


def _detect_legacy(data: bytes, first_bad: int) -> DecodedText:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data, cp_isolation=list(LEGACY_ENCODINGS)))
    if not matches:
        raise IngestError(
            f"not text: not valid UTF-8 (byte {first_bad}: {data[first_bad:first_bad + 4]!r}) and no known "
            f"encoding ({', '.join(LEGACY_ENCODINGS)}) decodes it cleanly; convert it to UTF-8"
        )
    rank = {enc: i for i, enc in enumerate(LEGACY_ENCODINGS)}
    ranked = sorted(matches, key=lambda m: (round(m.chaos, 2), -round(m.coherence, 2), rank.get(m.encoding, 99)))
    for match in ranked:  # the detector samples large files: the whole file must decode too
        try:
            return DecodedText(data.decode(match.encoding), str(match.encoding))
        except UnicodeDecodeError:
            continue
    raise IngestError(f"looks like {ranked[0].encoding} but does not decode as it throughout; convert it to UTF-8")
