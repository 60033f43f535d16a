"""Making outside text safe to show in Slack, and fitting it into Block Kit's limits.

Anything a user typed or GHL holds (addresses, notes, names) goes through `escape` before it
reaches a message: Slack reads `<!channel>`, `<@U123>` and `<https://x|label>` in message text
as mentions and links, and the only way to show them literally is to escape `&`, `<` and `>`
(https://api.slack.com/reference/surfaces/formatting#escaping). `mrkdwn` emphasis characters
(`*`, `_`, `~`, backticks) are left alone: at worst they change how a word looks.

    >>> escape("12 Oak St <!channel>")
    '12 Oak St &lt;!channel&gt;'
    >>> clipped = clip("a" * 5000, 3000)        # 2,999 characters and "…"
    >>> len(clipped), clipped[-1]
    (3000, '…')
"""

from __future__ import annotations

import re

ELLIPSIS = "…"

# Block Kit limits (https://api.slack.com/reference/block-kit): enforced by Slack with an
# `invalid_blocks` error, so builders clip to them instead of failing a whole message.
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_CONTEXT_TEXT = 3000
MAX_MESSAGE_TEXT = 40_000  # Slack cuts `text` beyond this; we cut first, with an ellipsis

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SPECIAL = re.compile(r"[&<>]")
# Control characters (except newline and tab) break nothing in Slack but show as boxes;
# bidirectional overrides and zero-width characters can make a name or address display as
# something else (a right-to-left override flips the rest of a line), so they go too.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def escape(text: object) -> str:
    """`text` as Slack shows it literally: `&`, `<`, `>` become entities; None becomes ""."""
    if text is None:
        return ""
    cleaned = _CONTROL.sub(" ", str(text))
    return _SPECIAL.sub(lambda found: _ESCAPES[found.group(0)], cleaned)


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when it was cut.

    An escape entity is never cut in half (a dangling `&am` would show as garbage), and a
    surrogate-free str means every character counts once, as Slack counts them.
    """
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:] and len(cut) - amp < 5:
        cut = cut[:amp]
    return cut + ELLIPSIS


def safe(text: object, limit: int) -> str:
    """Escaped, then clipped to `limit`: what every builder does with outside text."""
    return clip(escape(text), limit)


def one_line(text: object, limit: int = 200) -> str:
    """Outside text on one line (newlines folded to spaces), escaped and clipped."""
    return safe(" ".join(str(text or "").split()), limit)
