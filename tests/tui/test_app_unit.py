"""Small pieces of the console that need no server."""

from pathlib import Path

from textual.binding import Binding

from kostyor_tui.app import KostyorApp, without_credentials
from kostyor_tui.cli import main
from kostyor_tui.screens.confirm import ConfirmScreen
from kostyor_tui.screens.discover import DiscoverScreen
from kostyor_tui.screens.help import HelpScreen
from kostyor_tui.screens.main import MainScreen
from kostyor_tui.screens.report import ReportScreen
from kostyor_tui.screens.start_upgrade import StartUpgradeScreen
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.widgets.cluster_list import ClusterList
from kostyor_tui.widgets.keyed_table import KeyedTable


def test_the_header_never_shows_credentials_from_the_url():
    assert without_credentials("http://ops:s3cret@kostyor.example:5055/k/") == (
        "http://kostyor.example:5055/k/"
    )
    assert without_credentials("https://kostyor.example/") == "https://kostyor.example/"


def test_a_failing_password_command_is_one_clear_line_not_a_traceback(tmp_path: Path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(
        '[profiles.default]\napi_url = "http://127.0.0.1:9/"\n'
        'username = "ops"\npassword_command = ["false"]\n'
    )
    config.chmod(0o600)
    # The console's errors before the screen is taken over reach the CLI's one boundary.
    code = main(["--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("kostyor-tui: error: password_command: 'false' failed")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_every_binding_has_an_id_so_it_can_be_remapped():
    classes = [
        KostyorApp,
        MainScreen,
        UpgradeScreen,
        ConfirmScreen,
        StartUpgradeScreen,
        DiscoverScreen,
        HelpScreen,
        ReportScreen,
        ClusterList,
        KeyedTable,
    ]
    ids = []
    for cls in classes:
        for binding in cls.__dict__["BINDINGS"]:
            assert isinstance(binding, Binding) and binding.id, (cls.__name__, binding)
            ids.append(binding.id)
    assert len(ids) == len(set(ids))
    keys = {b.key for b in KeyedTable.BINDINGS}
    assert {"j", "k"} <= keys
