"""What Slack's client makes of a message a person types (pure): the text `chat.postMessage`
would store and `link_shared` would see.

Slack escapes `&`, `<` and `>` as entities and wraps each URL it recognises in `<...>`
(api.slack.com/reference/surfaces/formatting#escaping, "Linking URLs").

    slack_text("see https://x.test/a?b=1&c=2 <now>")
    # 'see <https://x.test/a?b=1&amp;c=2> &lt;now&gt;'
"""

from __future__ import annotations

import re

MESSAGE_MAX = 4000  # Slack's composer limit for one message
_URL = re.compile(r"https?://[^\s<>]+")
# Trailing punctuation ends a sentence, not the link (as Slack's client decides).
_TRAILING = ".,;:!?)'\""


def slack_text(typed: str) -> str:
    """`typed` as Slack stores it: entities escaped, URLs as `<url>`."""
    out, last = [], 0
    for match in _URL.finditer(typed):
        url = match.group(0).rstrip(_TRAILING)
        start, end = match.start(), match.start() + len(url)
        out.append(_escape(typed[last:start]))
        out.append(f"<{_escape(url)}>")
        last = end
    out.append(_escape(typed[last:]))
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
