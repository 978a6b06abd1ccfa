"""Small pieces of the console that need no server."""

from pathlib import Path

from kostyor_tui.app import run_console, without_credentials
from kostyor_tui.config import load_settings


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
    settings = load_settings(config_path=config, environ={})
    code = run_console(settings)
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("kostyor-tui: ") and err.count("\n") == 1
    assert "Traceback" not in err
