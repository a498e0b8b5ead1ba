"""Keeps the login token (0600 file) and the command history in the user config dir."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from platformdirs import user_config_dir

# The one atomic-write helper; a stdlib-only module (no PyAV, numpy or server code), the only
# piece of shortstack.media the terminal client uses.
from shortstack.media.files import write_atomic

TOKEN_FILE = "token"
HISTORY_FILE = "command_history"
KEYMAP_FILE = "keymap.toml"
HISTORY_LIMIT = 200


def default_config_dir() -> Path:
    """``SHORTSTACK_CONFIG_DIR`` or the platform's user config dir for shortstack."""
    override = os.environ.get("SHORTSTACK_CONFIG_DIR")
    return Path(override) if override else Path(user_config_dir("shortstack"))


class Session:
    """The files of one user's client state under ``config_dir``."""

    def __init__(self, config_dir: Path | None = None) -> None:
        self.config_dir = Path(config_dir) if config_dir is not None else default_config_dir()

    @property
    def token_path(self) -> Path:
        return self.config_dir / TOKEN_FILE

    def load_token(self) -> str | None:
        """The stored token, or None."""
        try:
            token = self.token_path.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return token or None

    def save_token(self, token: str) -> None:
        """Store the token, readable by the owner only (0600), written atomically."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.token_path, token.encode("utf-8"), mode=0o600)

    def clear_token(self) -> None:
        """Forget the stored token."""
        with contextlib.suppress(FileNotFoundError):
            self.token_path.unlink()

    def load_history(self) -> list[str]:
        """Command-bar history, oldest first."""
        try:
            lines = (self.config_dir / HISTORY_FILE).read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        return [line for line in lines if line.strip()][-HISTORY_LIMIT:]

    def save_history(self, history: list[str]) -> None:
        """Keep the last commands for the next run (best effort)."""
        with contextlib.suppress(OSError):
            self.config_dir.mkdir(parents=True, exist_ok=True)
            path = self.config_dir / HISTORY_FILE
            path.write_text("\n".join(history[-HISTORY_LIMIT:]) + "\n", encoding="utf-8")
            os.chmod(path, 0o600)

    def load_keymap(self) -> dict[str, str]:
        """Binding-id to keys overrides from ``keymap.toml`` (``[keymap]`` table), if any."""
        import tomllib

        try:
            data = tomllib.loads((self.config_dir / KEYMAP_FILE).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            return {}
        table = data.get("keymap", data)
        return {str(k): str(v) for k, v in table.items() if isinstance(v, str)}
