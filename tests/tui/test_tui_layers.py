"""The terminal client is HTTP-only: it loads no server code and, of media/, only the two
modules free of PyAV that it shares with the server: files.py (atomic writes) and
captions.py (the one WebVTT parser, for the caption line)."""

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
    assert out.strip() == "shortstack.media.captions,shortstack.media.files"


def test_the_media_modules_the_client_shares_load_no_pyav() -> None:
    check = (
        "import sys, shortstack.media.captions, shortstack.media.files;"
        " print('av' in sys.modules or 'numpy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_token_is_written_whole_and_private(tmp_path) -> None:
    from shortstack.tui.session import Session

    session = Session(tmp_path / "cfg")
    session.save_token("secret-1")
    session.save_token("secret-2")
    assert session.load_token() == "secret-2"
    assert (session.token_path.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in session.config_dir.iterdir()] == ["token"]  # no temp left behind
