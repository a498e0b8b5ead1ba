"""The only HTTP client of the terminal client: one async method per endpoint of docs api.md."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

FEED_KINDS = ("for-you", "following", "trending")
UPLOAD_CHUNK = 64 * 1024
#: Idle connections are dropped after this long, well before the server closes them (5 s): a
#: request sent on a connection the server is closing fails with a read error.
KEEPALIVE_S = 2.0


class ApiError(Exception):
    """The server answered with a problem-details error."""

    def __init__(self, status: int, title: str, detail: str = "") -> None:
        self.status = status
        self.title = title
        self.detail = detail
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")

    @property
    def message(self) -> str:
        """A one-line human message for a toast."""
        return self.detail or self.title or f"HTTP {self.status}"


class ServerUnavailable(Exception):
    """The server could not be reached or did not answer in time."""


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """One Server-Sent Event from ``/api/events``."""

    event: str
    data: Any
    id: str | None = None


def _quote(segment: str) -> str:
    return quote(str(segment), safe="")


def _problem(response: httpx.Response) -> ApiError:
    title = response.reason_phrase or "Error"
    detail = ""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        title = str(body.get("title") or title)
        raw = body.get("detail")
        if raw is None and "extra" in body:
            raw = body.get("extra")
        detail = raw if isinstance(raw, str) else (json.dumps(raw) if raw is not None else "")
    return ApiError(response.status_code, title, detail)


class ApiClient:
    """Async client for the Shortstack HTTP API; raises ApiError or ServerUnavailable."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_S),
            transport=transport,
            follow_redirects=True,
        )

    # -- plumbing ---------------------------------------------------------------------------

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if extra:
            headers.update(extra)
        return headers

    async def _send(
        self, method: str, path: str, *, credentials: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """A request to the server; ``credentials=False`` sends no token (a URL elsewhere)."""
        extra = kwargs.pop("headers", None)
        headers = self._headers(extra) if credentials else dict(extra or {})
        try:
            response = await self._http.request(method, path, headers=headers, **kwargs)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise ServerUnavailable(f"cannot reach {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise _problem(response)
        return response

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._send(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(response.status_code, "Bad response", "not JSON") from exc

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def media_url(self, url: str) -> str:
        """Absolute URL for a server-relative media or poster URL."""
        if url.startswith(("http://", "https://")):
            return url
        return f"{self.base_url}/{url.lstrip('/')}"

    # -- health and accounts ------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """GET /healthz."""
        return await self._json("GET", "/healthz")

    async def register(
        self, handle: str, password: str, display_name: str | None = None
    ) -> dict[str, Any]:
        """POST /api/auth/register; keeps the returned token."""
        body: dict[str, Any] = {"handle": handle, "password": password}
        if display_name:
            body["display_name"] = display_name
        answer = await self._json("POST", "/api/auth/register", json=body)
        self.token = answer["token"]
        return answer

    async def login(self, handle: str, password: str) -> dict[str, Any]:
        """POST /api/auth/login; keeps the returned token."""
        answer = await self._json(
            "POST", "/api/auth/login", json={"handle": handle, "password": password}
        )
        self.token = answer["token"]
        return answer

    async def logout(self) -> None:
        """POST /api/auth/logout; forgets the token."""
        try:
            await self._json("POST", "/api/auth/logout")
        finally:
            self.token = None

    async def logout_everywhere(self) -> None:
        """POST /api/auth/logout-everywhere: every token of this account stops working."""
        try:
            await self._json("POST", "/api/auth/logout-everywhere")
        finally:
            self.token = None

    async def change_password(self, current: str, new: str) -> None:
        """PUT /api/me/password; the account's other sessions are logged out."""
        await self._json(
            "PUT", "/api/me/password", json={"current_password": current, "new_password": new}
        )

    async def delete_account(self, password: str) -> None:
        """DELETE /api/me: the account and everything of it go (the password is asked again)."""
        await self._json("DELETE", "/api/me", json={"password": password})

    async def start_export(self) -> dict[str, Any]:
        """POST /api/me/export: start building a zip of your data (a job)."""
        return await self._json("POST", "/api/me/export")

    async def export_status(self, export_id: str) -> dict[str, Any]:
        """GET /api/me/export/{id}: status and progress."""
        return await self._json("GET", f"/api/me/export/{quote(export_id, safe='')}")

    async def download_export(self, export_id: str, dest: Path) -> int:
        """Stream a finished export (downloadable once) into ``dest``; the bytes written."""
        url = f"/api/me/export/{quote(export_id, safe='')}/download"
        headers = self._headers({"Accept": "application/zip"})
        try:
            async with self._http.stream("GET", url, headers=headers) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _problem(response)
                written = 0
                with dest.open("wb") as fh:
                    async for chunk in response.aiter_bytes():
                        fh.write(chunk)
                        written += len(chunk)
                return written
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise ServerUnavailable(f"cannot reach {self.base_url}: {exc}") from exc

    async def sessions(self) -> dict[str, Any]:
        """GET /api/me/sessions: this account's logged-in sessions."""
        return await self._json("GET", "/api/me/sessions")

    async def revoke_session(self, session_id: str) -> None:
        """DELETE /api/me/sessions/{id}."""
        await self._json("DELETE", f"/api/me/sessions/{_quote(session_id)}")

    async def me(self) -> dict[str, Any]:
        """GET /api/me."""
        return await self._json("GET", "/api/me")

    async def update_me(self, **fields: Any) -> dict[str, Any]:
        """PATCH /api/me (display_name, bio, show_sensitive)."""
        return await self._json("PATCH", "/api/me", json=fields)

    async def user(self, handle: str) -> dict[str, Any]:
        """GET /api/users/{handle}."""
        return await self._json("GET", f"/api/users/{_quote(handle)}")

    async def user_videos(
        self, handle: str, cursor: str | None = None, limit: int = 10
    ) -> dict[str, Any]:
        """GET /api/users/{handle}/videos."""
        return await self._json(
            "GET", f"/api/users/{_quote(handle)}/videos", params=_page(cursor, limit)
        )

    async def follow(self, handle: str) -> None:
        """PUT /api/users/{handle}/follow."""
        await self._json("PUT", f"/api/users/{_quote(handle)}/follow")

    async def unfollow(self, handle: str) -> None:
        """DELETE /api/users/{handle}/follow."""
        await self._json("DELETE", f"/api/users/{_quote(handle)}/follow")

    async def set_relation(self, handle: str, kind: str, on: bool = True) -> None:
        """PUT (``on``) or DELETE /api/users/{handle}/{kind}; kind is "block" or "mute"."""
        if kind not in ("block", "mute"):
            raise ValueError(f"unknown relation {kind!r}")
        await self._json("PUT" if on else "DELETE", f"/api/users/{_quote(handle)}/{kind}")

    # -- videos -------------------------------------------------------------------------------

    async def upload(
        self,
        path: Path | str,
        caption: str,
        progress: Callable[[int, int], None] | None = None,
        edit: dict[str, Any] | None = None,
        sensitive: bool = False,
        captions: Path | str | None = None,
        captions_lang: str = "en",
    ) -> dict[str, Any]:
        """POST /api/videos (multipart); ``progress(sent, total)`` follows the bytes sent.

        ``edit`` is an edit recipe (``{"trim": "1.5-7", "look": "vivid", "text": "hi", ...}``)
        the server validates and applies while transcoding. ``captions`` is a WebVTT or SRT
        file sent with it (language ``captions_lang``).
        """
        path = Path(path).expanduser()
        total = path.stat().st_size
        boundary = os.urandom(12).hex()
        edit_part = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="edit"\r\n\r\n'
            f"{json.dumps(edit)}\r\n"
            if edit
            else ""
        )
        if sensitive:
            edit_part += (
                f'--{boundary}\r\nContent-Disposition: form-data; name="sensitive"\r\n\r\ntrue\r\n'
            )
        captions_part = b""
        if captions is not None:
            captions_path = Path(captions).expanduser()
            captions_part = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="captions_lang"'
                    f"\r\n\r\n{captions_lang}\r\n"
                    f'--{boundary}\r\nContent-Disposition: form-data; name="captions"; '
                    f'filename="{_quote(captions_path.name)}"\r\n'
                    "Content-Type: application/octet-stream\r\n\r\n"
                ).encode()
                + captions_path.read_bytes()
                + b"\r\n"
            )
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\n'
            f"{caption}\r\n{edit_part}".encode()
            + captions_part
            + (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{_quote(path.name)}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
        )
        tail = f"\r\n--{boundary}--\r\n".encode()

        async def body() -> AsyncIterator[bytes]:
            yield head
            sent = 0
            with path.open("rb") as fh:
                while chunk := fh.read(UPLOAD_CHUNK):
                    sent += len(chunk)
                    yield chunk
                    if progress is not None:
                        progress(sent, total)
            yield tail

        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + total + len(tail)),
        }
        return await self._json(
            "POST", "/api/videos", content=body(), headers=headers, timeout=120.0
        )

    async def caption_tracks(self, video_id: str) -> list[dict[str, Any]]:
        """GET /api/videos/{id}/captions: ``[{lang, kind, cues, url, updated_at}]``."""
        page = await self._json("GET", f"/api/videos/{_quote(video_id)}/captions")
        return list(page["items"])

    async def caption_vtt(self, video_id: str, lang: str) -> str:
        """GET /api/videos/{id}/captions/{lang}.vtt: the WebVTT text."""
        response = await self._send(
            "GET", f"/api/videos/{_quote(video_id)}/captions/{_quote(lang)}.vtt"
        )
        return response.content.decode("utf-8", "replace")

    async def edit_options(self) -> dict[str, Any]:
        """GET /api/edit/options: the looks (``[{name, description}]``), crops, text and audio."""
        return await self._json("GET", "/api/edit/options")

    async def edit_preview(self, path: Path | str, edit: dict[str, Any] | None) -> bytes:
        """POST /api/edit/preview: a JPEG still of ``path`` with the recipe's look, crop, text."""
        path = Path(path).expanduser()
        with path.open("rb") as fh:
            response = await self._send(
                "POST",
                "/api/edit/preview",
                data={"edit": json.dumps(edit or {})},
                files={"file": (path.name, fh, "application/octet-stream")},
                timeout=60.0,
            )
        return response.content

    async def video(self, video_id: str) -> dict[str, Any]:
        """GET /api/videos/{id}."""
        return await self._json("GET", f"/api/videos/{_quote(video_id)}")

    async def delete_video(self, video_id: str) -> None:
        """DELETE /api/videos/{id}."""
        await self._json("DELETE", f"/api/videos/{_quote(video_id)}")

    async def fetch_bytes(self, url: str, start: int = 0, end: int | None = None) -> bytes:
        """GET a media or poster URL, optionally a byte range (``end`` inclusive)."""
        headers: dict[str, str] = {}
        if start or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        absolute = self.media_url(url)
        # a bucket's presigned URL or a CDN is another origin: the token is never sent there
        # (S3 refuses a presigned request that also carries an Authorization header)
        ours = absolute.startswith(self.base_url.rstrip("/") + "/")
        try:
            response = await self._send("GET", absolute, headers=headers, credentials=ours)
        except ApiError as exc:
            if exc.status == 416:
                return b""
            raise
        if start and response.status_code == 200:
            # the server ignored the range: cut it ourselves
            return response.content[start : None if end is None else end + 1]
        return response.content

    async def rendition(self, url: str, start: int = 0, end: int | None = None) -> bytes:
        """Rendition bytes with a Range request (``end`` inclusive)."""
        return await self.fetch_bytes(url, start, end)

    # -- interactions -------------------------------------------------------------------------

    async def like(self, video_id: str) -> dict[str, Any]:
        """PUT /api/videos/{id}/like -> {liked, likes}."""
        return await self._json("PUT", f"/api/videos/{_quote(video_id)}/like")

    async def unlike(self, video_id: str) -> dict[str, Any]:
        """DELETE /api/videos/{id}/like -> {liked, likes}."""
        return await self._json("DELETE", f"/api/videos/{_quote(video_id)}/like")

    async def view(self, video_id: str, watch_ms: int) -> None:
        """POST /api/videos/{id}/views."""
        await self._json(
            "POST", f"/api/videos/{_quote(video_id)}/views", json={"watch_ms": int(watch_ms)}
        )

    async def share(self, video_id: str) -> dict[str, Any]:
        """POST /api/videos/{id}/share -> {url, shares}."""
        return await self._json("POST", f"/api/videos/{_quote(video_id)}/share")

    async def not_interested(self, video_id: str) -> None:
        """POST /api/videos/{id}/not-interested."""
        await self._json("POST", f"/api/videos/{_quote(video_id)}/not-interested")

    async def hide_creator(self, video_id: str) -> None:
        """POST /api/videos/{id}/hide-creator (mutes the video's author)."""
        await self._json("POST", f"/api/videos/{_quote(video_id)}/hide-creator")

    async def comments(
        self,
        video_id: str,
        cursor: str | None = None,
        limit: int = 50,
        *,
        parent_id: str | None = None,
    ) -> dict[str, Any]:
        """GET /api/videos/{id}/comments (top level, or the replies to ``parent_id``)."""
        params = _page(cursor, limit)
        if parent_id:
            params["parent_id"] = parent_id
        return await self._json("GET", f"/api/videos/{_quote(video_id)}/comments", params=params)

    async def thread(self, video_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """Top-level comments plus the replies of those that have any (one level deep)."""
        top = (await self.comments(video_id, limit=limit)).get("items") or []
        parents = [c for c in top if c.get("reply_count")][:20]
        pages = await asyncio.gather(
            *(self.comments(video_id, limit=limit, parent_id=c["id"]) for c in parents)
        )
        replies = [r for page in pages for r in page.get("items") or []]
        return top + replies

    async def post_comment(
        self, video_id: str, body: str, parent_id: str | None = None
    ) -> dict[str, Any]:
        """POST /api/videos/{id}/comments."""
        payload: dict[str, Any] = {"body": body}
        if parent_id:
            payload["parent_id"] = parent_id
        return await self._json("POST", f"/api/videos/{_quote(video_id)}/comments", json=payload)

    async def delete_comment(self, comment_id: str) -> None:
        """DELETE /api/comments/{id}."""
        await self._json("DELETE", f"/api/comments/{_quote(comment_id)}")

    async def notifications(self, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        """GET /api/notifications (newest first)."""
        return await self._json("GET", "/api/notifications", params=_page(cursor, limit))

    # -- moderation ----------------------------------------------------------------------------

    async def report(
        self, target: str, target_id: str, reason: str, text: str | None = None
    ) -> dict[str, Any]:
        """POST /api/reports (the same report again answers the open one)."""
        payload: dict[str, Any] = {"target": target, "id": target_id, "reason": reason}
        if text:
            payload["text"] = text
        return await self._json("POST", "/api/reports", json=payload)

    async def admin_reports(self, limit: int = 50) -> dict[str, Any]:
        """GET /api/admin/reports (admins): open reports grouped by target, newest first."""
        return await self._json("GET", "/api/admin/reports", params={"limit": limit})

    async def admin_act(
        self, target: str, target_id: str, action: str, reason: str | None = None
    ) -> dict[str, Any]:
        """POST /api/admin/reports/{target}/{id}/{action} (dismiss, remove, sensitive, suspend,
        unsuspend)."""
        path = f"/api/admin/reports/{_quote(target)}/{_quote(target_id)}/{_quote(action)}"
        return await self._json("POST", path, json={"reason": reason} if reason else None)

    async def set_sensitive(self, video_id: str, on: bool = True) -> dict[str, Any]:
        """PUT (or DELETE) /api/videos/{id}/sensitive: your video (admins: any)."""
        return await self._json(
            "PUT" if on else "DELETE", f"/api/videos/{_quote(video_id)}/sensitive"
        )

    async def admin_settings(self) -> dict[str, Any]:
        """GET /api/admin/settings (admins): {registration}."""
        return await self._json("GET", "/api/admin/settings")

    async def update_admin_settings(self, **settings: Any) -> dict[str, Any]:
        """PATCH /api/admin/settings (admins): e.g. registration="invite"."""
        return await self._json("PATCH", "/api/admin/settings", json=settings)

    async def create_invite(self, uses: int = 1, expires_in_days: float | None = None) -> dict:
        """POST /api/admin/invites (admins): a new invite code (shown only in this answer)."""
        body: dict[str, Any] = {"uses": uses}
        if expires_in_days is not None:
            body["expires_in_days"] = expires_in_days
        return await self._json("POST", "/api/admin/invites", json=body)

    async def admin_audit(self, limit: int = 50) -> dict[str, Any]:
        """GET /api/admin/audit (admins): the moderation audit log, newest first."""
        return await self._json("GET", "/api/admin/audit", params={"limit": limit})

    async def read_all_notifications(self) -> None:
        """POST /api/notifications/read-all."""
        await self._json("POST", "/api/notifications/read-all")

    async def read_notification(self, notification_id: int) -> None:
        """POST /api/notifications/{id}/read."""
        await self._json("POST", f"/api/notifications/{int(notification_id)}/read")

    # -- feeds, search, events ----------------------------------------------------------------

    async def feed(
        self, kind: str = "for-you", cursor: str | None = None, limit: int = 10
    ) -> dict[str, Any]:
        """GET /api/feed/{kind} with kind one of for-you, following, trending."""
        if kind not in FEED_KINDS:
            raise ValueError(f"unknown feed {kind!r}")
        return await self._json("GET", f"/api/feed/{kind}", params=_page(cursor, limit))

    async def get_weights(self) -> dict[str, float]:
        """GET /api/feed/weights."""
        return await self._json("GET", "/api/feed/weights")

    async def put_weights(self, weights: dict[str, float]) -> dict[str, float]:
        """PUT /api/feed/weights (the server may take a partial set)."""
        return await self._json("PUT", "/api/feed/weights", json=weights)

    async def search(self, query: str) -> dict[str, Any]:
        """GET /api/search?q= -> {videos, users, hashtags}."""
        return await self._json("GET", "/api/search", params={"q": query})

    async def events(self) -> AsyncIterator[ServerEvent]:
        """Iterate over the Server-Sent Events of ``/api/events`` until the stream ends."""
        headers = self._headers({"Accept": "text/event-stream"})
        timeout = httpx.Timeout(10.0, read=None)
        try:
            async with self._http.stream(
                "GET", "/api/events", headers=headers, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _problem(response)
                event, data, event_id = "message", [], None
                async for line in response.aiter_lines():
                    if not line:
                        if data:
                            yield ServerEvent(event, _decode(data), event_id)
                        event, data = "message", []
                        continue
                    if line.startswith(":"):
                        continue
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "event":
                        event = value
                    elif field == "data":
                        data.append(value)
                    elif field == "id":
                        event_id = value
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise ServerUnavailable(f"event stream lost: {exc}") from exc

    # -- feed lab -----------------------------------------------------------------------------

    async def lab_simulate(
        self,
        weights: dict[str, float] | None = None,
        *,
        users: int = 50,
        steps: int = 20,
        seed: int = 0,
    ) -> dict[str, Any]:
        """POST /api/lab/simulate -> metric curves of a small synthetic-user simulation."""
        body: dict[str, Any] = {"users": users, "steps": steps, "seed": seed}
        if weights:
            body["weights"] = weights
        return await self._json("POST", "/api/lab/simulate", json=body, timeout=300.0)

    async def diet(self, limit: int = 20) -> dict[str, Any]:
        """GET /api/me/diet -> hashtags shown in your feeds vs the ones you engaged with."""
        return await self._json("GET", "/api/me/diet", params={"limit": limit})


def _decode(lines: list[str]) -> Any:
    text = "\n".join(lines)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _page(cursor: str | None, limit: int) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if cursor:
        params["cursor"] = cursor
    return params
