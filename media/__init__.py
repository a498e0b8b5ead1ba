"""Media library: probe, validate, transcode, posters, demo clips (PyAV, no web imports)."""

from .demo import TOPICS, DemoSpec, demo_catalogue, make_demo_clip
from .errors import InvalidMedia, MediaError, TranscodeError
from .isolation import transcode_isolated
from .poster import FEATURE_LENGTH, make_poster, visual_features
from .probe import ProbeResult, probe
from .samples import write_test_video
from .transcode import Rendition, plan_ladder, transcode

__all__ = [
    "FEATURE_LENGTH",
    "TOPICS",
    "DemoSpec",
    "InvalidMedia",
    "MediaError",
    "ProbeResult",
    "Rendition",
    "TranscodeError",
    "demo_catalogue",
    "make_demo_clip",
    "make_poster",
    "plan_ladder",
    "probe",
    "transcode",
    "transcode_isolated",
    "visual_features",
    "write_test_video",
]
