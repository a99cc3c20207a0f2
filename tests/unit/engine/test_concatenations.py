"""The string-concatenation layer is found in one pass over each line (issue: 67k searches on a
Go history, each from the start of the line before its trigger). Its results are compared with
the former per-trigger search on a set of examples."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leakguard.engine.decoders import (
    _BLANK,
    _CONCAT,
    _CONCAT_BACK,
    _CONTROL,
    _LITERALS,
    MAX_DECODED_BYTES,
    MAX_RUN_BYTES,
    MIN_DECODED,
    _concatenations,
    _in_place_chunk,
    _keep_markers,
    _splits_a_secret,
    decoder_scanners,
)
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.model import Chunk, Location
from tests.support.keys import stripe_key

PLAIN = decoder_scanners("re")
KEY = stripe_key(31)
PEM = (
    '"-----BEGIN RSA PRIVATE KEY-----\\n" +\n'
    '  "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\\n" +\n'
    '  "-----END RSA PRIVATE KEY-----\\n"'
)


def _reference(chunk: Chunk) -> Iterator[Chunk]:
    """The layer as it was built before it was made linear (one search from the line before
    each trigger): kept here to compare results, not as a second implementation to ship."""
    data = chunk.data
    pieces: list[bytes] = []
    blank = b""
    done = 0
    produced = 0
    pos = 0
    for hit in sorted(set(PLAIN.concat(data))):  # where a trigger ends, in order
        if hit < pos:
            continue
        if produced > MAX_DECODED_BYTES:
            break
        # from the start of the line before (a trigger may span a line break), at most
        # _CONCAT_BACK bytes back, never into what was already decoded
        line_start = data.rfind(b"\n", 0, max(0, data.rfind(b"\n", 0, hit - 1))) + 1
        line_start = max(line_start, hit - _CONCAT_BACK, done)
        m = _CONCAT.search(data, line_start, min(len(data), hit + MAX_RUN_BYTES))
        while m is not None and m.end() <= hit:  # an earlier expression
            m = _CONCAT.search(data, m.end(), min(len(data), hit + MAX_RUN_BYTES))
        if m is None or m.start() > hit:
            pos = hit
            continue
        start, end = m.span()
        parts = [lit[1:-1] for lit in _LITERALS.findall(data, start, end)]
        joined = b"".join(parts)
        start += 1  # the text starts after the opening quote, as the first literal's does
        if not _splits_a_secret(parts, joined):
            pos = end
            continue
        newlines = data.count(b"\n", start, end)
        if len(joined) >= MIN_DECODED and len(joined) + newlines <= end - start:
            if not blank:
                blank = _keep_markers(data, data.translate(_BLANK))
            pieces.append(blank[done:start])
            pieces.append(joined.translate(_CONTROL))
            pieces.append(b" " * (end - start - len(joined) - newlines) + b"\n" * newlines)
            done = end
            produced += len(joined)
        pos = end
    if produced:
        pieces.append(blank[done:])
        yield _in_place_chunk(chunk, "concatenation", b"".join(pieces))


EXAMPLES = [
    f'key = "{KEY[:12]}" +\n      "{KEY[12:]}"\n',
    f'x := "a" + "b" + y\nkey := "{KEY[:9]}" + "{KEY[9:]}"\nz := "c" +\n\t"d"\n',
    f"const key = {PEM};\nconst other = 'a' + 'b';\n",
    f'msg = ("Failed to read " + path + " the file")\ns = "{KEY[:20]}"\n  + "{KEY[20:]}"\n',
    f'KEY = (\n    "{KEY[:15]}" +\n    "{KEY[15:]}"\n    "tail"\n) + "x" + "y"\n',
    f'a = "it\'s" + \'b"\' + "{KEY[:10]}" + "{KEY[10:]}" + "" + \'\'\n',
    f'v = "{KEY[:8]}" + "{KEY[8:]}"; w = "{KEY[:11]}" + "{KEY[11:]}"  // leakguard:allow\n',
    "".join(f'x{i} := "a{i}" + "b" + y{i}\n' for i in range(300))
    + f'k := "{KEY[:14]}" + "{KEY[14:]}"\n',
    ";".join(f'a{i}="k{i}"+"v{i}"+b{i}' for i in range(3000)) + f';k="{KEY[:16]}"+"{KEY[16:]}"\n',
    ";".join(f"s{i}='it\"+\"s'+x" for i in range(2000)) + f';k="{KEY[:16]}" + "{KEY[16:]}"\n',
    "".join(f'"{KEY[:8]}{i:04d}" +\n' for i in range(500)) + '"end"\n',
    f's = "abc" +\n    name\nk = "{KEY[:12]}" + "{KEY[12:]}"\n',
    'a = "x" ' + " " * 5000 + '+ "y"\n' + f'b = "{KEY[:12]}" + "{KEY[12:]}"\n',
]


@pytest.mark.parametrize("text", EXAMPLES)
def test_the_layer_builds_what_the_per_trigger_search_built(text: str) -> None:
    chunk = Chunk(text.encode(), Location("f", 1, 1))
    assert list(_concatenations(chunk, PLAIN.concat)) == list(_reference(chunk))


def test_many_triggers_on_one_long_line_and_the_secret_after_them() -> None:
    line = "".join(f'm{i}("k{i}" + "v{i}" + x);' for i in range(20000))
    text = f'{line} key = "{KEY[:12]}" + "{KEY[12:]}";\nnext = "{stripe_key(32)}"\n'
    engine = Engine(RuleSet.load(), "re", show_secrets=True)
    found = {
        (f.secret, f.location.line, f.location.get("encoding"))
        for f in engine.scan(Chunk(text.encode(), Location("f", 1, 1)), decode_depth=1)
    }
    assert found == {(KEY, 1, "concatenation"), (stripe_key(32), 2, None)}
    [layer] = _concatenations(Chunk(text.encode(), Location("f", 1, 1)), PLAIN.concat)
    assert layer.data.count(KEY.encode()) == 1 and len(layer.data) == len(text.encode())
