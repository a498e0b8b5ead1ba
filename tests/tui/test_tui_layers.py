"""The terminal client is HTTP-only: it loads no server code and no media code but files.py."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import shortstack.tui.app
import shortstack.tui.session
loaded = sorted(m for m in sys.modules if m.startswith(("shortstack.server", "shortstack.media.")))
print(",".join(loaded))
"""


def test_the_client_imports_only_the_file_helper_of_media() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "shortstack.media.files"


def test_token_is_written_whole_and_private(tmp_path) -> None:
    from shortstack.tui.session import Session

    session = Session(tmp_path / "cfg")
    session.save_token("secret-1")
    session.save_token("secret-2")
    assert session.load_token() == "secret-2"
    assert (session.token_path.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in session.config_dir.iterdir()] == ["token"]  # no temp left behind
