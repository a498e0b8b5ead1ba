"""Keeps the client's state in the user config dir: the login token (0600 file), the command
history, the keymap and the viewer's settings (captions, volume) across sessions."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from platformdirs import user_config_dir

# The one atomic-write helper; a stdlib-only module (no PyAV, numpy or server code), the only
# piece of shortstack.media the terminal client uses.
from shortstack.media.files import write_atomic

TOKEN_FILE = "token"
HISTORY_FILE = "command_history"
KEYMAP_FILE = "keymap.toml"
SETTINGS_FILE = "settings.json"
HISTORY_LIMIT = 200


def default_config_dir() -> Path:
    """``SHORTSTACK_CONFIG_DIR`` or the platform's user config dir for shortstack."""
    override = os.environ.get("SHORTSTACK_CONFIG_DIR")
    return Path(override) if override else Path(user_config_dir("shortstack"))


@dataclass
class ClientSettings:
    """What the viewer chose in the client, remembered for the next session."""

    caption_lang: str = "en"
    captions_on: bool = True
    volume: float = 0.8
    muted: bool = False
    #: false: open no audio device (like ``--no-sound``); edited by hand in settings.json
    sound: bool = True


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

    def load_settings(self) -> ClientSettings:
        """The saved settings (defaults for anything missing or unreadable)."""
        try:
            data = json.loads((self.config_dir / SETTINGS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ClientSettings()
        if not isinstance(data, dict):
            return ClientSettings()
        settings = ClientSettings()
        for f in fields(ClientSettings):
            value = data.get(f.name)
            default = getattr(settings, f.name)
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, float):
                ok = isinstance(value, int | float) and not isinstance(value, bool)
                value = min(1.0, max(0.0, float(value))) if ok else value
            else:
                ok = isinstance(value, str) and 0 < len(value) <= 35
            if ok:
                setattr(settings, f.name, value)
        return settings

    def save_settings(self, settings: ClientSettings) -> None:
        """Write the settings atomically (best effort: a read-only home keeps the defaults)."""
        with contextlib.suppress(OSError):
            self.config_dir.mkdir(parents=True, exist_ok=True)
            data = json.dumps(asdict(settings), indent=2) + "\n"
            write_atomic(self.config_dir / SETTINGS_FILE, data.encode("utf-8"), mode=0o600)
