"""Exceptions raised by the media library."""


class MediaError(Exception):
    """Base of media errors."""


class InvalidMedia(MediaError):
    """Not a playable video we accept; str(exc) is a clear user-facing reason."""


class TranscodeError(MediaError):
    """Transcoding failed; str(exc) says why."""
