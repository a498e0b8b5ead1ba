"""Textual terminal client; talks to the server over HTTP only."""
