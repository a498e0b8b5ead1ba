"""Where the browser for the web tests is, and the one line that says how to get it."""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ENABLE = "browser tests need Chromium: apt-get install -y chromium (or bash .ci/services-web)"
