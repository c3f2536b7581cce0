"""What an HTML page refers to: its images and links (for the self-contained summary page)."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

#: Attributes that load or link another resource.
REF_ATTRIBUTES = ("src", "href", "srcset", "poster", "data")


class _Refs(HTMLParser):
    """Every ``<img src>``, every ``href`` and every attribute of :data:`REF_ATTRIBUTES` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.src: list[str] = []
        self.href: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.src.append(a.get("src") or "")
        if "href" in a:
            self.href.append(a["href"] or "")
        self.refs.extend(a[k] or "" for k in REF_ATTRIBUTES if k in a)


def page_images(page: str) -> tuple[list[str], list[str]]:
    """The page's ``<img src>`` values and its ``href`` values."""
    parser = _Refs()
    parser.feed(page)
    return parser.src, parser.href


def page_refs(page: str) -> list[str]:
    """Every ``src``, ``href``, ``srcset``, ``poster`` and ``data`` attribute value of the page."""
    parser = _Refs()
    parser.feed(page)
    return parser.refs


def embedded_pngs(src: list[str]) -> list[bytes]:
    """The bytes of ``data:image/png;base64,`` URIs (a non-PNG data URI fails the decoding)."""
    prefix = "data:image/png;base64,"
    assert all(s.startswith(prefix) for s in src), [s[:40] for s in src if not s.startswith(prefix)]
    return [base64.b64decode(s[len(prefix) :], validate=True) for s in src]
