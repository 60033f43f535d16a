"""The emoji the sandbox page can draw, by Slack shortcode: the one table the page uses.

Slack turns `:name:` into a picture; the page stands in with the Unicode character. Every
shortcode the product writes must be here (`tests/e2e/test_sandbox_mrkdwn.py` scans the
product's texts and fails on a missing one), so a new emoji in a message shows as a picture in
the sandbox rather than as `:name:` text.
"""

from __future__ import annotations

EMOJI: dict[str, str] = {
    "alarm_clock": "⏰",
    "bell": "🔔",
    "calendar": "📆",
    "chart_with_upwards_trend": "📈",
    "clipboard": "📋",
    "clock3": "🕒",
    "email": "📧",
    "envelope": "✉️",
    "eyes": "👀",
    "fire": "🔥",
    "grey_question": "❔",
    "heavy_check_mark": "✔️",
    "trophy": "🏆",
    "bust_in_silhouette": "👤",
    "arrow_right": "➡️",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "house": "🏠",
    "house_with_garden": "🏡",
    "inbox_tray": "📥",
    "information_source": "ℹ️",
    "iphone": "📱",
    "large_blue_circle": "🔵",
    "large_green_circle": "🟢",
    "large_orange_circle": "🟠",
    "large_yellow_circle": "🟡",
    "lock": "🔒",
    "mag": "🔍",
    "memo": "📝",
    "moneybag": "💰",
    "no_bell": "🔕",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "outbox_tray": "📤",
    "pushpin": "📌",
    "raising_hand": "🙋",
    "red_circle": "🔴",
    "repeat": "🔁",
    "robot_face": "🤖",
    "rotating_light": "🚨",
    "speech_balloon": "💬",
    "stopwatch": "⏱️",
    "tada": "🎉",
    "thumbsup": "👍",
    "+1": "👍",
    "warning": "⚠️",
    "wave": "👋",
    "white_check_mark": "✅",
    "x": "❌",
    "zzz": "💤",
}
