"""Shared test set-up: fixture plugins for the real parts the tests talk to."""

pytest_plugins = [
    "tests.fixtures.emulator",
    "tests.fixtures.db",
    "tests.fixtures.slack",
    "tests.fixtures.pipeline",
    "tests.fixtures.notify",
    "tests.fixtures.buyers",
    "tests.fixtures.bot",
    "tests.fixtures.ops",
    "tests.fixtures.cli_processes",
    "tests.fixtures.people",
]
