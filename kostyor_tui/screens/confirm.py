"""A yes/no question whose default answer (focused, and on Escape) is the safe "No"."""

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "answer(False)", "No", id="confirm.escape"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("left,h", "app.focus_previous", "Previous", show=False, id="confirm.left"),
        Binding("right,l", "app.focus_next", "Next", show=False, id="confirm.right"),
    ]

    def __init__(self, question: str, detail: str, yes_label: str) -> None:
        super().__init__()
        self._question = question
        self._detail = detail
        self._yes_label = yes_label

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="confirm-dialog", classes="dialog"):
            yield Label(self._question, id="confirm-question", classes="dialog-title", markup=False)
            yield Label(self._detail, id="confirm-detail", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("No", id="confirm-no", variant="primary")
                yield Button(self._yes_label, id="confirm-yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)
