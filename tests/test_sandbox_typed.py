"""What the sandbox's composer posts for a typed message: Slack's escaping and <url> links."""

import pytest

from sandbox.typed import slack_text


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("hello", "hello"),
        ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
        ("see https://x.test/a", "see <https://x.test/a>"),
        ("see https://x.test/a?b=1&c=2.", "see <https://x.test/a?b=1&amp;c=2>."),
        ("(http://x.test/p)", "(<http://x.test/p>)"),
        ("two http://a.test and https://b.test/x!", "two <http://a.test> and <https://b.test/x>!"),
        ("no link: ftp://x.test", "no link: ftp://x.test"),
    ],
)
def test_slack_text(typed, stored):
    assert slack_text(typed) == stored
