from __future__ import annotations

from sleepd.ingest.chunking import make_passages
from sleepd.ingest.parsers import Parsed, Skip, Unit, parse_bytes

from ..ingest.corpus import make_pdf


def _parsed(data: bytes, suffix: str = ".txt", kind: str = "auto") -> Parsed:
    result = parse_bytes(data, suffix, kind)
    assert isinstance(result, Parsed), result
    return result


def test_jsonl_chat_recognised_by_content_with_roles() -> None:
    data = b'{"role": "user", "content": "Lock code is 99"}\n{"role": "assistant", "content": "Ok"}\n'
    parsed = _parsed(data, ".txt")
    assert parsed.kind == "chat"
    assert [(u.role, u.text) for u in parsed.units] == [("user", "Lock code is 99"), ("assistant", "Ok")]


def test_plain_chat_log_with_continuation_lines() -> None:
    data = b"User: where is the spare key?\nunder the second pot\nAssistant: Noted.\n"
    parsed = _parsed(data, ".log")
    assert parsed.kind == "chat"
    assert parsed.units[0] == Unit("where is the spare key?\nunder the second pot", "user")
    assert parsed.units[1].role == "assistant"


def test_prose_mentioning_user_stays_a_document() -> None:
    parsed = _parsed(b"Notes on the app.\n\nUser: the person logged in.\n", ".md")
    assert parsed.kind == "docs" and len(parsed.units) == 2


def test_forced_chat_kind_and_non_chat_json() -> None:
    assert _parsed(b"hello there\n", kind="chat").units[0].role == "user"
    parsed = _parsed(b'{"a": 1}\n{"b": 2}\n', ".jsonl")
    assert parsed.kind == "docs"


def test_html_is_parsed_not_regexed() -> None:
    html = (
        b"<html><head><title>T</title><style>p{color:red}</style></head><body>"
        b"<p>Alpha <i>beta</i> gamma.</p><script>alert('x')</script><p>Delta.</p></body></html>"
    )
    texts = [u.text for u in _parsed(html, ".html").units]
    assert "Alpha beta gamma." in texts and "Delta." in texts
    assert not any("alert" in t or "color" in t for t in texts)


def test_pdf_text_and_broken_pdf() -> None:
    parsed = _parsed(make_pdf("Buoy seven is green"), ".pdf")
    assert "Buoy seven is green" in parsed.units[0].text
    assert isinstance(parse_bytes(b"%PDF-1.4 junk\x00\x01", ".pdf"), Skip)


def test_bad_bytes() -> None:
    assert parse_bytes(b"", ".txt") == Skip("empty file")
    assert parse_bytes(b"\x00\x01\x02\x03" * 100, ".txt") == Skip("binary file")
    latin1 = _parsed(b"caf\xe9 au lait", ".txt")  # read as U+FFFD before charset detection
    assert latin1.units[0].text == "café au lait" and "cp1252" in latin1.notes[0]
    cyrillic = "Завтра встречаемся у метро в шесть, не опаздывай.".encode("cp1251")
    assert _parsed(cyrillic, ".txt").units[0].text.startswith("Завтра встречаемся")
    assert _parsed("é".encode("utf-16"), ".txt").units[0].text == "é"


def test_chunking_keeps_paragraphs_whole_and_turns_separate() -> None:
    count = lambda s: len(s.split())  # noqa: E731
    paras = [Unit(" ".join(["w"] * 30)) for _ in range(5)]
    passages = make_passages(paras, 100, count)
    assert [p.token_count for p in passages] == [90, 60]  # three paragraphs fit, then two
    assert all(p.text.count("\n\n") + 1 in (2, 3) for p in passages)
    turns = [Unit("hi", "user"), Unit("hello", "assistant")]
    assert [(p.role, p.text) for p in make_passages(turns, 100, count)] == [
        ("user", "hi"),
        ("assistant", "hello"),
    ]
    long = Unit(". ".join(["s " * 20] * 20))
    pieces = make_passages([long], 50, count)
    assert len(pieces) > 1 and all(p.token_count <= 50 for p in pieces)
