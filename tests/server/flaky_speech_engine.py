"""A speech engine for tests (``[captions] engine = "flaky_speech_engine:make"``): its first
call kills the media child, as a crash in a real engine would; later calls hear one cue.
Attempts are counted in the file named by $SHORTSTACK_TEST_ENGINE_LOG."""

from __future__ import annotations

import os
from pathlib import Path

from shortstack.media.captions import Cue


class Flaky:
    def transcribe(self, samples, rate: int) -> list[Cue]:
        log = Path(os.environ["SHORTSTACK_TEST_ENGINE_LOG"])
        calls = len(log.read_text().split()) if log.exists() else 0
        with log.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        if calls == 0:
            os._exit(3)
        return [Cue(0.1, 0.6, "second time lucky")]


def make() -> Flaky:
    return Flaky()
