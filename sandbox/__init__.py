"""The sandbox page: what a user would see in Slack, driven through the real bot."""
