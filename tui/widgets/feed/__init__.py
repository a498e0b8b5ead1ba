"""The feed screen's regions: playback (player.py), interactions (interactions.py), comments."""
