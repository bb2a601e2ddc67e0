"""Markdown an admin writes (custom pages) turned into HTML that is safe to show to every member.

markdown-it-py with raw HTML off: a `<script>`, an `<img onerror=...>` or any other tag in the text is shown as text,
escaped. Links are kept only to http(s), mailto and addresses of this site (a path, a fragment); any other scheme
(javascript:, data:, vbscript:, file:) leaves the text without a link. Images are off: the pages' Content-Security-
Policy would block a remote one anyway, and an image address would tell a third party who read the page."""

import re

from markdown_it import MarkdownIt

ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
# A scheme as a browser reads it: letters first; browsers drop tabs, line breaks and leading controls/spaces.
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.IGNORECASE)
_IGNORED_BY_BROWSERS = re.compile(r"[\x00-\x20\x7f]")


def link_allowed(url: str) -> bool:
    """True for http(s) and mailto addresses and for references inside this site (/path, #fragment, ?query,
    relative); False for every other scheme."""
    cleaned = _IGNORED_BY_BROWSERS.sub("", url)
    scheme = _SCHEME.match(cleaned)
    if scheme is None:
        # No scheme before the first "/", "?" or "#": a reference inside this site (or //host: http(s) by nature).
        return True
    return scheme.group(1).lower() in ALLOWED_SCHEMES


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("image")
    md.validateLink = link_allowed

    def link_open(self, tokens, idx, options, env):
        tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
        return self.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


_MD = _parser()


def markdown_render(text: str) -> str:
    """`text` as HTML: escaped everywhere but in the Markdown's own structure (see the module's contract)."""
    return _MD.render(text)
