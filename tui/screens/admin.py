"""The Admin screen (admins only): the report queue and its actions, the audit log, and who may
register. Every rule is the server's; this screen shows its answers and sends the actions."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Static,
    TabbedContent,
    TabPane,
)

from shortstack.tui.plain_text import clean, plain
from shortstack.tui.screens.base import BaseScreen
from shortstack.tui.widgets.status_line import StatusLine

REGISTRATION_MODES = {
    "open": "open: anyone may register",
    "invite": "invite: an admin's invite code is needed",
    "closed": "closed: only admins create accounts",
}
#: key -> (server action, what the toast says, the targets it applies to)
ACTIONS = {
    "dismiss": ("dismiss", "reports dismissed", ("video", "comment", "user")),
    "remove": ("remove", "removed (kept 30 days for an appeal)", ("video", "comment")),
    "sensitive": ("sensitive", "marked sensitive", ("video",)),
    "suspend": ("suspend", "account suspended", ("user",)),
}


def cell(value: object) -> Text:
    """A table cell of server or user text: shown literally (a DataTable reads str as markup)."""
    return plain(value, single_line=True)


def content_text(item: dict[str, Any]) -> str:
    """One line of what was reported: a caption, a comment or a profile."""
    content = item.get("content") or {}
    if not content:
        return "(gone)"
    if item.get("target") == "user":
        what = f"@{content.get('handle', '?')} {content.get('display_name') or ''}".strip()
        return what + ("  [suspended]" if content.get("suspended_at") else "")
    author = content.get("author") or "?"
    body = content.get("caption") if item.get("target") == "video" else content.get("body")
    flags = []
    if content.get("removed_at"):
        flags.append("removed")
    if content.get("sensitive"):
        flags.append("sensitive")
    return f"@{author}: {body or ''}" + (f"  [{', '.join(flags)}]" if flags else "")


class AdminScreen(BaseScreen):
    """Reports (newest first, grouped by target), the audit log and the registration mode."""

    DEFAULT_CSS = """
    AdminScreen #admin-title { padding: 0 1; }
    AdminScreen DataTable { height: 1fr; }
    AdminScreen #admin-reason { margin: 0 1; }
    AdminScreen #admin-help { padding: 0 1; color: $text-muted; }
    AdminScreen #admin-settings { padding: 1 2; }
    AdminScreen #admin-settings-note { color: $text-muted; padding: 1 0 0 0; }
    AdminScreen #admin-invite-title { padding: 1 0 0 0; }
    AdminScreen #admin-invite-row { height: auto; }
    AdminScreen #admin-invite-uses { width: 12; }
    """

    BINDINGS = [
        Binding("escape", "app.home", "Feed", id="admin.back"),
        Binding("d", "act('dismiss')", "Dismiss", id="admin.dismiss"),
        Binding("r", "act('remove')", "Remove", id="admin.remove"),
        Binding("s", "act('sensitive')", "Sensitive", id="admin.sensitive"),
        Binding("u", "act('suspend')", "Suspend", id="admin.suspend"),
        Binding("ctrl+r", "reload", "Reload", id="admin.reload"),
        Binding("1", "tab('reports')", "Reports", show=False, id="admin.tab_reports"),
        Binding("2", "tab('audit')", "Audit log", show=False, id="admin.tab_audit"),
        Binding("3", "tab('settings')", "Settings", show=False, id="admin.tab_settings"),
    ]
    #: tab -> the widget that takes the focus there (focus left in another tab pulls it back)
    TAB_FOCUS = {
        "reports": "#admin-reports",
        "audit": "#admin-audit",
        "settings": "#admin-registration",
    }

    def __init__(self) -> None:
        super().__init__()
        self.reports: list[dict[str, Any]] = []
        self.audit: list[dict[str, Any]] = []
        self.registration: str | None = None

    def compose(self) -> ComposeResult:
        yield Label(Text("Admin", style="bold"), id="admin-title")
        with TabbedContent(id="admin-tabs"):
            with TabPane("Reports", id="tab-reports"):
                yield DataTable(id="admin-reports", cursor_type="row", zebra_stripes=True)
                yield Input(
                    placeholder="reason (written to the audit log; needed to suspend)",
                    id="admin-reason",
                    max_length=1000,
                )
                yield Static(
                    "d dismiss · r remove · s mark sensitive · u suspend the account"
                    " (of a reported user) · ctrl+r reload · 1 2 3 tabs",
                    id="admin-help",
                )
            with TabPane("Audit log", id="tab-audit"):
                yield DataTable(id="admin-audit", cursor_type="row", zebra_stripes=True)
            with TabPane("Settings", id="tab-settings"), Vertical(id="admin-settings"):
                yield Label(Text("Registration", style="bold"))
                with RadioSet(id="admin-registration"):
                    for mode, label in REGISTRATION_MODES.items():
                        yield RadioButton(label, id=f"registration-{mode}")
                yield Static("", id="admin-settings-note")
                yield Label(Text("Invite codes", style="bold"), id="admin-invite-title")
                with Horizontal(id="admin-invite-row"):
                    yield Input(
                        value="1",
                        placeholder="uses",
                        id="admin-invite-uses",
                        max_length=5,
                        restrict=r"[0-9]*",
                    )
                    yield Button("New invite code", id="admin-invite-create")
                yield Static("", id="admin-invite-code")
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        reports = self.query_one("#admin-reports", DataTable)
        reports.add_columns("target", "id", "reporters", "reasons", "content", "last report")
        audit = self.query_one("#admin-audit", DataTable)
        audit.add_columns("when", "who", "action", "target", "reason")
        self.action_reload()
        reports.focus()

    def action_tab(self, name: str) -> None:
        self.query_one("#admin-tabs", TabbedContent).active = f"tab-{name}"
        self.query_one(self.TAB_FOCUS[name]).focus()

    # -- loading --------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.load_reports()
        self.load_audit()
        self.load_settings()

    @work(exclusive=True, group="admin-reports", exit_on_error=False)
    async def load_reports(self) -> None:
        app = self.ss_app
        page = await app.call(app.api.admin_reports(limit=200))
        if not isinstance(page, dict):
            return
        self.reports = list(page.get("items") or [])
        table = self.query_one("#admin-reports", DataTable)
        table.clear()
        for item in self.reports:
            table.add_row(
                cell(item.get("target", "")),
                cell(item.get("target_id", "")),
                str(item.get("reporters", 0)),
                cell(", ".join(item.get("reasons") or [])),
                cell(content_text(item)[:80]),
                cell(item.get("last_reported_at", "")),
            )
        if not self.reports:
            table.add_row("", "", "", "", Text("no open reports", style="dim italic"), "")

    @work(exclusive=True, group="admin-audit", exit_on_error=False)
    async def load_audit(self) -> None:
        app = self.ss_app
        page = await app.call(app.api.admin_audit(limit=100), quiet=True)
        if not isinstance(page, dict):
            return
        self.audit = list(page.get("items") or [])
        table = self.query_one("#admin-audit", DataTable)
        table.clear()
        for entry in self.audit:
            table.add_row(
                cell(entry.get("created_at", "")),
                cell(f"@{entry.get('actor', '?')}"),
                cell(entry.get("action", "")),
                cell(f"{entry.get('target', '')} {entry.get('target_id', '')}"),
                cell((entry.get("reason") or "")[:80]),
            )

    @work(exclusive=True, group="admin-settings", exit_on_error=False)
    async def load_settings(self) -> None:
        app = self.ss_app
        settings = await app.call(app.api.admin_settings(), quiet=True)
        if isinstance(settings, dict):
            self._show_registration(str(settings.get("registration", "")))

    def _show_registration(self, mode: str) -> None:
        self.registration = mode
        button = self.query(f"#registration-{mode}").first(RadioButton) if mode else None
        if button is not None and not button.value:
            with self.prevent(RadioSet.Changed):
                button.value = True
        note = self.query_one("#admin-settings-note", Static)
        note.update(f"In force now: {REGISTRATION_MODES.get(mode, mode)}")

    # -- actions --------------------------------------------------------------------------------

    @property
    def selected(self) -> dict[str, Any] | None:
        """The report group under the cursor (None when the queue is empty)."""
        table = self.query_one("#admin-reports", DataTable)
        if not self.reports or table.cursor_row is None:
            return None
        if 0 <= table.cursor_row < len(self.reports):
            return self.reports[table.cursor_row]
        return None

    def action_act(self, key: str) -> None:
        item = self.selected
        if item is None:
            self.ss_app.toast("No report selected: the queue is empty", severity="warning")
            return
        action, said, targets = ACTIONS[key]
        if item["target"] not in targets:
            self.ss_app.toast(
                f"{key} applies to a reported {' or '.join(targets)}, not a {item['target']}",
                severity="warning",
            )
            return
        reason = self.query_one("#admin-reason", Input).value.strip() or None
        if action == "suspend" and not reason:
            self.ss_app.toast("Write the reason first: the user sees it", severity="warning")
            self.query_one("#admin-reason", Input).focus()
            return
        self.send(item, action, reason, said)

    @work(group="admin-act", exit_on_error=False)
    async def send(self, item: dict[str, Any], action: str, reason: str | None, said: str) -> None:
        app = self.ss_app
        result = await app.call(
            app.api.admin_act(item["target"], item["target_id"], action, reason)
        )
        if result is None:
            return
        app.toast(f"{item['target']} {clean(item['target_id'], single_line=True)}: {said}")
        self.query_one("#admin-reason", Input).value = ""
        self.load_reports()
        self.load_audit()

    @on(Input.Submitted, "#admin-reason")
    def _reason_done(self) -> None:
        self.query_one("#admin-reports", DataTable).focus()

    @on(RadioSet.Changed, "#admin-registration")
    def _registration_chosen(self, event: RadioSet.Changed) -> None:
        mode = (event.pressed.id or "").removeprefix("registration-")
        if mode and mode != self.registration:
            self.set_registration(mode)

    @on(Button.Pressed, "#admin-invite-create")
    def _invite_pressed(self) -> None:
        text = self.query_one("#admin-invite-uses", Input).value.strip()
        uses = int(text) if text.isdigit() else 0
        if not 1 <= uses <= 10_000:
            self.ss_app.toast("Uses: a number from 1 to 10000", severity="warning")
            return
        self.create_invite(uses)

    @work(group="admin-invite", exit_on_error=False)
    async def create_invite(self, uses: int) -> None:
        app = self.ss_app
        invite = await app.call(app.api.create_invite(uses))
        if isinstance(invite, dict):
            note = Text()
            note.append(clean(invite.get("code", ""), single_line=True), style="bold")
            note.append(f"  ({uses} use(s), until {clean(invite.get('expires_at', ''))})")
            note.append("\nShown once: copy it now.", style="dim")
            self.query_one("#admin-invite-code", Static).update(note)
            self.load_audit()

    @work(exclusive=True, group="admin-settings", exit_on_error=False)
    async def set_registration(self, mode: str) -> None:
        app = self.ss_app
        settings = await app.call(app.api.update_admin_settings(registration=mode))
        if isinstance(settings, dict):
            self._show_registration(str(settings.get("registration", "")))
            app.toast(f"Registration is {settings.get('registration')} now")
            self.load_audit()
        elif self.registration:  # refused: show what is really in force
            self._show_registration(self.registration)
