"""`kostyor-tui completion bash|zsh|fish`, sourced in a real shell; and the cluster-name
cache it reads, written by the commands that list clusters.

bash runs interactively (`bash --norc -i`): the script is sourced, the completion
function `complete -p` names is called with COMP_WORDS and COMP_CWORD set, as bash does
on Tab. fish (`complete -C`) and zsh (syntax) are checked where they are installed.
"""

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kostyor_tui.commands import COMMANDS
from kostyor_tui.headless.cache import cache_path, remember_clusters
from kostyor_tui.server.runner import BackgroundServer
from tests.headless.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


def script(cli: Cli, shell: str) -> str:
    result = cli("completion", shell)
    assert result.code == 0, result.err
    assert result.err == ""
    return result.out


BASH_DRIVER = r"""
source "$SCRIPT"
fn=$(complete -p kostyor-tui | sed -E 's/.* -F ([^ ]+) .*/\1/')
complete_line() {
  COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()
  "$fn"
  printf '%s|' "${COMPREPLY[@]}"; printf '\n'
}
"""


def bash_complete(script_path: Path, cache_home: Path, *lines: list[str]) -> list[list[str]]:
    """What Tab offers after each line of words (the last word being completed)."""
    calls = "".join(
        "complete_line " + " ".join(f"'{word}'" for word in words) + "\n" for words in lines
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-i"],
        input=BASH_DRIVER + calls + "exit\n",
        env={**os.environ, "SCRIPT": str(script_path), "XDG_CACHE_HOME": str(cache_home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answers = [line for line in done.stdout.splitlines() if line.endswith("|") or line == ""]
    assert len(answers) == len(lines), done.stdout
    return [[word for word in answer.split("|") if word] for answer in answers]


def test_bash_completes_commands_flags_and_cluster_names(
    cli: Cli, tmp_path: Path, cache_home: Path
) -> None:
    path = tmp_path / "kostyor-tui.bash"
    path.write_text(script(cli, "bash"))
    remember_clusters(["home_lab", "staging", "datacenter_east"])
    answers = bash_complete(
        path,
        cache_home,
        ["kostyor-tui", ""],
        ["kostyor-tui", "--comm"],
        ["kostyor-tui", "--command", "list-"],
        ["kostyor-tui", "--command", ""],
        ["kostyor-tui", "--command", "list-upgrades", "--clu"],
        ["kostyor-tui", "--command", "list-upgrades", "--cluster", "st"],
        ["kostyor-tui", "--api-url", "http://x:1", "--command", "cluster-status", ""],
        ["kostyor-tui", "--command", "list-hosts", "home_lab", "-f", ""],
        ["kostyor-tui", "--command", "list-clusters", "-c", ""],
        ["kostyor-tui", "--command", "upgrade-status", "home_lab", "--wa"],
        ["kostyor-tui", "completion", ""],
    )
    assert answers == [
        # The first word is a mode: commands are run with --command.
        ["serve", "config", "completion"],
        ["--command"],
        [name for name in COMMANDS if name.startswith("list-")],
        list(COMMANDS),
        ["--cluster"],
        ["staging"],
        ["datacenter_east", "home_lab", "staging"],
        ["table", "json", "yaml", "value", "csv", "shell"],
        ["id", "name", "version", "status"],
        ["--watch", "--wait"],
        ["bash", "zsh", "fish"],
    ]


def test_bash_offers_no_stale_or_unsafe_names(cli: Cli, tmp_path: Path, cache_home: Path) -> None:
    path = tmp_path / "kostyor-tui.bash"
    path.write_text(script(cli, "bash"))
    # Names a shell could misread never reach the file.
    remember_clusters(["ok", "$(touch x)", "a b", "-flag", "\x1b[2J", "tab\tname", None])
    assert cache_path().read_text() == "ok\n"
    line = ["kostyor-tui", "--command", "list-hosts", ""]
    assert bash_complete(path, cache_home, line) == [["ok"]]
    # An hour old: not offered any more.
    old = time.time() - 2 * 3600
    os.utime(cache_path(), (old, old))
    assert bash_complete(path, cache_home, line) == [[]]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_commands_flags_and_cluster_names(
    cli: Cli, tmp_path: Path, cache_home: Path
) -> None:
    path = tmp_path / "kostyor-tui.fish"
    path.write_text(script(cli, "fish"))
    remember_clusters(["home_lab", "staging"])
    lines = [
        "kostyor-tui ",
        "kostyor-tui --command list-",
        "kostyor-tui --command list-hosts ",
        "kostyor-tui --command list-hosts home_lab --sort-",
    ]
    program = f"source {path}\n" + "".join(
        f"complete -C '{line}' | cut -f1 | string join ' '\n" for line in lines
    )
    done = subprocess.run(
        ["fish", "--no-config", "-c", program],
        env={**os.environ, "XDG_CACHE_HOME": str(cache_home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [sorted(line.split()) for line in done.stdout.splitlines()] == [
        ["audit", "completion", "config", "rehearse", "serve", "web"],
        sorted(name for name in COMMANDS if name.startswith("list-")),
        ["home_lab", "staging"],
        ["--sort-ascending", "--sort-column", "--sort-descending"],
    ]


def test_zsh_script_is_generated_and_valid(cli: Cli, tmp_path: Path) -> None:
    text = script(cli, "zsh")
    assert text.startswith("#compdef kostyor-tui")
    assert all(name in text for name in COMMANDS)
    assert "_kostyor_tui_clusters" in text
    if shutil.which("zsh"):
        path = tmp_path / "_kostyor-tui"
        path.write_text(text)
        done = subprocess.run(["zsh", "-n", str(path)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr


def test_completion_needs_no_client_and_a_known_shell(cli: Cli) -> None:
    probe = (
        "import sys\n"
        "from kostyor_tui.cli import main\n"
        "main(['completion', 'bash'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'httpcore', "
        "'textual', 'yaml') or m == 'kostyor_tui.api.client')\n"
        "print(repr(heavy), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stderr.strip() == "[]"
    assert "complete -o bashdefault -F" in done.stdout
    wrong = cli("completion", "tcsh")
    assert wrong.code == 2
    assert "invalid choice: 'tcsh'" in wrong.err


def test_commands_that_list_clusters_write_the_cache(
    server: BackgroundServer, cli: Cli, cache_home: Path
) -> None:
    assert not cache_path().exists()
    # A command that resolves a cluster lists them too, even when it then fails.
    result = cli("--api-url", server.url, "--command", "cluster-status", "no_such_cluster")
    assert result.code == 3
    names = cache_path().read_text().split()
    assert names == sorted(["home_lab", "staging", "legacy", "datacenter_east"])
    assert cache_path().is_relative_to(cache_home)
    # A command that never lists them leaves the file alone.
    before = cache_path().stat().st_mtime_ns
    assert cli("--api-url", server.url, "--command", "list-discovery-methods").code == 0
    assert cache_path().stat().st_mtime_ns == before
