"""The feed lab: blend-weight inputs, a small simulation run on the server, curves drawn in place."""

from __future__ import annotations

from typing import Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from shortstack.tui.client_app import ClientApp
from shortstack.tui.plain_text import clean
from shortstack.tui.widgets.status_line import StatusLine

WEIGHTS = ("content", "collaborative", "following", "trending", "freshness", "explore")
DEFAULT_WEIGHTS = {
    "content": 1.0,
    "collaborative": 1.0,
    "following": 0.8,
    "trending": 0.3,
    "freshness": 0.2,
    "explore": 0.15,
}
SIZES = {"users": (30, 1, 100), "steps": (15, 1, 30), "seed": (0, 0, 2**31 - 1)}
MAX_RUNS = 4  # curves of the last runs stay on the plot, one line each
ALL_METRICS = ("hit_rate", "coverage", "diversity", "bubble", "creator_gini", "new_exposure")
SMALL_METRICS = ("bubble", "coverage")
#: line colour of the n-th kept run: plotext's name and the same colour for the legend
RUN_COLOURS = (
    ("cyan", "#00d7d7"),
    ("orange", "#ffaf00"),
    ("green", "#5faf5f"),
    ("magenta", "#d75fd7"),
)
LABELS = {
    "hit_rate": "hit rate",
    "coverage": "coverage",
    "diversity": "intra-list diversity",
    "bubble": "filter-bubble index",
    "creator_gini": "creator Gini",
    "new_exposure": "new-upload exposure",
}


def _fmt(value: float) -> str:
    return f"{value:g}"


def run_label(weights: dict[str, float], previous: dict[str, float] | None = None) -> str:
    """Name of a run for the legend: the weights that differ from the defaults."""
    changed = [
        f"{k}={_fmt(v)}" for k, v in weights.items() if abs(v - DEFAULT_WEIGHTS.get(k, v)) > 1e-9
    ]
    return ",".join(changed) or "defaults"


def plot_text(
    runs: dict[str, dict[str, list[float]]], metrics: tuple[str, ...], width: int, height: int
) -> Text:
    """The runs' curves drawn with plotext (one line per run, one panel per metric)."""
    import plotext as plt

    cols = 3 if len(metrics) > 4 else len(metrics)
    rows = -(-len(metrics) // cols)
    plt.clear_figure()
    plt.plotsize(max(width, 20), max(height, 6))
    plt.subplots(rows, cols)
    for n, metric in enumerate(metrics):
        plt.subplot(n // cols + 1, n % cols + 1)
        plt.theme("dark")
        for i, curves in enumerate(runs.values()):
            ys = curves.get(metric) or []
            colour = RUN_COLOURS[i % len(RUN_COLOURS)][0]
            plt.plot(list(range(1, len(ys) + 1)), ys, color=colour)
        plt.title(LABELS.get(metric, metric))
    text = plt.build()
    plt.clear_figure()
    return Text.from_ansi(text, no_wrap=True)


def diet_text(diet: dict[str, Any], width: int = 60) -> Text:
    """Topics shown in your feeds vs engaged with, as paired bars."""
    text = Text()
    text.append("My feed's diet", style="bold")
    text.append(
        f"  {diet.get('videos_shown', 0)} videos shown, {diet.get('videos_engaged', 0)} engaged"
        " (liked, commented, shared or watched to the end)\n",
        style="dim",
    )
    topics = diet.get("topics") or []
    if not topics:
        text.append("Nothing yet: scroll your For You feed first.", style="dim italic")
        return text
    bar = max(8, min(30, (width - 30) // 2))
    for topic in topics[:12]:
        tag = clean("#" + str(topic.get("tag", "?")), single_line=True)[:16]
        shown, engaged = float(topic.get("shown_share", 0)), float(topic.get("engaged_share", 0))
        text.append(f"{tag:<17}")
        text.append("█" * max(0, round(shown * bar)), style="#5fd7ff")
        text.append(f" {shown:>4.0%} shown".ljust(bar - round(shown * bar) + 12))
        text.append("█" * max(0, round(engaged * bar)), style="#ff5f87")
        text.append(f" {engaged:>4.0%} engaged\n")
    return text


class LabScreen(Screen[None]):
    """Feed lab: set blend weights, run a small simulation, compare the curves of recent runs."""

    CSS_PATH = "lab.tcss"
    BINDINGS = [
        Binding("ctrl+r", "run", "Run", id="lab.run", tooltip="Run a simulation"),
        Binding("ctrl+l", "clear", "Clear", id="lab.clear", tooltip="Forget earlier runs"),
        Binding("ctrl+d", "diet", "Diet", id="lab.diet", tooltip="Reload my feed's diet"),
        Binding("escape", "back", "Back", id="lab.back", tooltip="Go back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[str, dict[str, list[float]]] = {}
        self.finals: dict[str, dict[str, float]] = {}
        self.diet: dict[str, Any] | None = None
        self.prefilled = False  # the inputs hold the user's own weights (or the defaults)

    @property
    def ss_app(self) -> ClientApp:
        return cast(ClientApp, self.app)

    def compose(self) -> ComposeResult:
        yield Label(Text("Feed lab", style="bold"), id="lab-title")
        with Horizontal(id="lab-controls"):
            for name in WEIGHTS:
                with Vertical(classes="lab-field"):
                    yield Label(name)
                    yield Input(
                        _fmt(DEFAULT_WEIGHTS[name]), id=f"lab-{name}", type="number", compact=True
                    )
            for name, (default, _, _) in SIZES.items():
                with Vertical(classes="lab-field lab-size"):
                    yield Label(name)
                    yield Input(str(default), id=f"lab-{name}", type="integer", compact=True)
            yield Button("Run", id="lab-run", variant="primary", compact=True)
        yield Static(Text("Set the weights and press Run (ctrl+r).", style="dim"), id="lab-summary")
        yield Static(id="lab-plot")
        yield Static(id="lab-diet")
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.prefill()
        self.load_diet()

    def on_resize(self) -> None:
        self.redraw()

    # -- inputs -----------------------------------------------------------------------------

    @work(exclusive=True, group="lab-prefill")
    async def prefill(self) -> None:
        """Start from the signed-in user's own weights."""
        if self.ss_app.api.token:
            weights = await self.ss_app.call(self.ss_app.api.get_weights(), quiet=True)
            if isinstance(weights, dict):
                for name in WEIGHTS:
                    if name in weights:
                        self.query_one(f"#lab-{name}", Input).value = _fmt(float(weights[name]))
        self.prefilled = True

    def read_inputs(self) -> tuple[dict[str, float], dict[str, int]] | str:
        """Weights and sizes from the inputs, or a one-line error."""
        weights: dict[str, float] = {}
        for name in WEIGHTS:
            raw = self.query_one(f"#lab-{name}", Input).value.strip()
            try:
                value = float(raw)
            except ValueError:
                return f"{name}: {raw!r} is not a number"
            high = 1.0 if name == "explore" else 10.0
            if not 0 <= value <= high:
                return f"{name} must be between 0 and {high:g}"
            weights[name] = value
        sizes: dict[str, int] = {}
        for name, (_, low, high) in SIZES.items():
            raw = self.query_one(f"#lab-{name}", Input).value.strip()
            try:
                value = int(raw)
            except ValueError:
                return f"{name}: {raw!r} is not a whole number"
            if not low <= value <= high:
                return f"{name} must be between {low} and {high}"
            sizes[name] = value
        return weights, sizes

    # -- actions ----------------------------------------------------------------------------

    @on(Button.Pressed, "#lab-run")
    def _run_pressed(self) -> None:
        self.action_run()

    def action_run(self) -> None:
        self.run_simulation()

    def action_clear(self) -> None:
        self.runs.clear()
        self.finals.clear()
        self.query_one("#lab-summary", Static).update(Text("Cleared.", style="dim"))
        self.redraw()

    def action_diet(self) -> None:
        self.load_diet()

    async def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:  # pushed on top of another screen
            self.app.pop_screen()
        else:  # opened as a mode of its own
            await self.app.run_action("home")

    @work(exclusive=True, group="lab-run")
    async def run_simulation(self) -> None:
        """Ask the server for a simulation with the inputs' weights; redraw the curves."""
        summary = self.query_one("#lab-summary", Static)
        parsed = self.read_inputs()
        if isinstance(parsed, str):
            summary.update(Text(parsed, style="bold red"))
            return
        weights, sizes = parsed
        button = self.query_one("#lab-run", Button)
        button.disabled = True
        summary.update(
            Text(f"Running {sizes['users']} users x {sizes['steps']} steps…", style="italic")
        )
        try:
            result = await self.ss_app.call(
                self.ss_app.api.lab_simulate(weights, **sizes), quiet=False, long=True
            )
        finally:
            button.disabled = False
        if not isinstance(result, dict):
            summary.update(Text("The simulation did not run (see the message).", style="dim"))
            return
        label = run_label(result.get("weights") or weights) + f" seed {sizes['seed']}"
        self.runs.pop(label, None)
        self.runs[label] = result.get("curves") or {}
        self.finals[label] = result.get("final") or {}
        while len(self.runs) > MAX_RUNS:
            oldest = next(iter(self.runs))
            self.runs.pop(oldest)
            self.finals.pop(oldest, None)
        summary.update(self.summary_text(result.get("seconds", 0.0)))
        self.redraw()

    def summary_text(self, seconds: float) -> Text:
        text = Text()
        for n, (label, final) in enumerate(self.finals.items()):
            if n:
                text.append("\n")
            text.append("━━ ", style=RUN_COLOURS[n % len(RUN_COLOURS)][1])
            text.append(clean(label, single_line=True), style="bold")
            for metric in ALL_METRICS:
                if metric in final:
                    text.append(f"  {LABELS[metric]} {final[metric]:.2f}")
        text.append(f"   ({seconds:.1f} s)", style="dim")
        return text

    def redraw(self) -> None:
        """Draw the kept runs' curves to fit the plot area."""
        found = self.query("#lab-plot")
        if not found:  # a resize can arrive before the widgets exist
            return
        plot = found.first(Static)
        if not self.runs:
            plot.update(Text(""))
            return
        width, height = plot.size.width or 80, plot.size.height or 16
        metrics = ALL_METRICS if width >= 100 and height >= 18 else SMALL_METRICS
        plot.update(plot_text(self.runs, metrics, width, height))

    @work(exclusive=True, group="lab-diet")
    async def load_diet(self) -> None:
        """For the signed-in user: hashtags shown in their feeds vs engaged with."""
        box = self.query_one("#lab-diet", Static)
        if not self.ss_app.api.token:
            box.update(Text("Log in to see your own feed's diet.", style="dim italic"))
            return
        diet = await self.ss_app.call(self.ss_app.api.diet(), quiet=True)
        if isinstance(diet, dict):
            self.diet = diet
            box.update(diet_text(diet, box.size.width or 80))
