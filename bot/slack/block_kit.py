"""The type of the Block Kit JSON the bot builds (`bot.slack.blocks`, `blocks_edit`, home).

A block, element or view is a JSON object whose values the builders fill and never read
back, so values are `object`: nothing downstream may treat a field as a known type without
checking it first.

    block: Block = {"type": "divider"}
"""

Block = dict[str, object]
