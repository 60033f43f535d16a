"""`python -m sandbox.pictures` (named in the README) writes the docs/ pictures from the
page in headless Chromium: the claimed alert, the page, the add form's errors, a pasted GHL
link's preview, the Home tab, 420 px."""

import struct

import pytest

from sandbox import pictures

pytestmark = pytest.mark.slow  # headless Chromium


def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_the_pictures_script_writes_every_picture(tmp_path):
    written = pictures.make_pictures(tmp_path, buyers=40)
    assert [p.name for p in written] == [
        "hot-deal-alert.png",
        "sandbox-page.png",
        "sandbox-add-form.png",
        "link-unfurl.png",
        "home-tab.png",
        "sandbox-narrow.png",
    ]
    sizes = {p.name: _png_size(p) for p in written}
    assert sizes["sandbox-page.png"] == (1280, 860)
    assert sizes["sandbox-add-form.png"] == (1280, 860)
    assert sizes["sandbox-narrow.png"] == (420, 860)
    width, height = sizes["hot-deal-alert.png"]  # one message, not the whole page
    assert 600 < width <= 1280 and 150 < height < 860
    width, height = sizes["link-unfurl.png"]  # the pasted message and its preview
    assert 600 < width <= 1280 and 150 < height < 500
    width, height = sizes["home-tab.png"]  # the whole tab, taller than the window
    assert width == 1280 and 860 <= height <= 2400
    # the README shows the committed pictures under these names
    for name in sizes:
        assert (pictures.DOCS / name).exists(), name
