"""`kostyor-tui completion bash|zsh|fish`: a static completion script, generated from the
command-line parsers with shtab (imported here only), so that Tab never starts Python.

It completes the modes (`serve`, `config`, `completion`), every option, the command
names after `--command`, each command's own options once its name is typed, the
values of options with choices (`-f`, `--quote`, `-c` and `--sort-column`: the
command's columns), and cluster names where a cluster is expected, read with plain
shell from the cache file the last headless command wrote (`headless.cache`), if it
is at most an hour old.

shtab knows subcommands, not `--command NAME`. The parser given to it is the main
parser with each command's parser added as a subcommand; its output is then adjusted
in a few exact places (each checked: a shtab whose output differs fails loudly, and
the tests with it):

- bash: shtab's walker switches to a subcommand's options at its name wherever it
  stands, so `--command NAME` works as it is; the words offered first are cut to the
  modes (`kostyor-tui list-hosts` is not how a command is run).
- zsh and fish: their scripts read a subcommand only as the first positional word,
  so `--command` is declared there as a flag and the name after it is that word;
  command names are offered only after `--command`, modes only without it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping

from kostyor_tui.headless.cache import APP_NAME, FILE_NAME, MAX_AGE_MINUTES
from kostyor_tui.headless.views import VIEWS

PROG = "kostyor-tui"
MODES = ("serve", "config", "completion")
_FUNCTION = "_kostyor_tui_clusters"
# Where platformdirs puts the cache on Linux (and $XDG_CACHE_HOME when set), and on macOS.
_CACHE_DIR = {
    "bash": '"${XDG_CACHE_HOME:-$HOME/.cache}"',
    "zsh": '"${XDG_CACHE_HOME:-$HOME/.cache}"',
    "fish": "$cache_home",
}

_PREAMBLE = {
    "bash": f"""\
# Cluster names: the file the last kostyor-tui command that listed clusters wrote, if
# fresh; read line by line (never expanded or run: a name comes from a server).
{_FUNCTION}() {{
  local file={{cache_dir}}/{APP_NAME}/{FILE_NAME} name
  [[ -f $file && -n $(find "$file" -mmin -{MAX_AGE_MINUTES} 2>/dev/null) ]] || return 0
  while IFS= read -r name; do
    [[ $name == "$1"* ]] && printf '%s\\n' "$name"
  done < "$file"
}}
""",
    "zsh": f"""\
# Cluster names: the file the last kostyor-tui command that listed clusters wrote, if
# fresh; split into lines (never expanded or run: a name comes from a server).
{_FUNCTION}() {{
  local file={{cache_dir}}/{APP_NAME}/{FILE_NAME}
  local -a fresh names
  fresh=( $file(N.mm-{MAX_AGE_MINUTES}) )
  (( $#fresh )) || return 1
  names=( ${{(f)"$(<$file)"}} )
  compadd -a names
}}
""",
    "fish": f"""\
# Cluster names: the file the last kostyor-tui command that listed clusters wrote, if
# fresh; printed line by line (never expanded or run: a name comes from a server).
function {_FUNCTION}
  set -l cache_home $XDG_CACHE_HOME
  test -n "$cache_home"; or set cache_home $HOME/.cache
  set -l file {{cache_dir}}/{APP_NAME}/{FILE_NAME}
  test -f $file; or return
  test -n "$(find $file -mmin -{MAX_AGE_MINUTES} 2>/dev/null)"; or return
  string split -- \\n (string collect < $file)
end
""",
}


def _cache_dir(shell: str) -> str:
    if sys.platform == "darwin":
        return '"$HOME/Library/Caches"'
    return _CACHE_DIR[shell]


def completion_parser(
    main: argparse.ArgumentParser, commands: Mapping[str, argparse.ArgumentParser], shell: str
) -> argparse.ArgumentParser:
    """The main parser with every command's parser as a subcommand, annotated for shtab."""
    modes = next(a for a in main._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in commands.items():
        modes.add_parser(name, help=parser.description, add_help=False)
        modes.choices[name] = parser
        columns = VIEWS[name].columns
        for action in parser._actions:
            if action.dest in ("columns", "sort_columns"):
                action.choices = columns
            elif action.dest in ("cluster", "upgrade_uuid"):
                action.complete = {  # type: ignore[attr-defined]
                    "bash": _FUNCTION,
                    "zsh": _FUNCTION,
                    "fish": f"({_FUNCTION})",
                }
    # `completion`'s long description would be its line in zsh's list.
    modes.choices["completion"].description = None
    command = next(a for a in main._actions if a.dest == "command")
    if shell == "bash":
        command.choices = list(commands)
    else:
        command.nargs = 0
    return main


def completion_script(
    shell: str, main: argparse.ArgumentParser, commands: Mapping[str, argparse.ArgumentParser]
) -> str:
    """The completion script for `shell`, from the main parser and each command's."""
    import shtab  # only here: it is not needed to run anything else

    parser = completion_parser(main, commands, shell)
    preamble = _PREAMBLE[shell].replace("{cache_dir}", _cache_dir(shell))
    script = shtab.complete(parser, shell, preamble=preamble)
    adjust = {"bash": _adjust_bash, "zsh": _adjust_zsh, "fish": _adjust_fish}[shell]
    return adjust(script, commands) + "\n"


def _replace_once(pattern: str, replacement: str, script: str, what: str) -> str:
    new, count = re.subn(pattern, lambda _: replacement, script, flags=re.MULTILINE | re.DOTALL)
    if count != 1:
        raise RuntimeError(f"shtab's {what} is not where it was expected: cannot adjust it")
    return new


def _adjust_bash(script: str, commands: Mapping[str, argparse.ArgumentParser]) -> str:
    # The first word: a mode, not a command (those come after --command).
    return _replace_once(
        r"^_shtab_kostyor_tui_pos_0_choices=\(.*?\)$",
        f"_shtab_kostyor_tui_pos_0_choices=({' '.join(MODES)})",
        script,
        "bash list of first words",
    )


def _zsh_entries(names: Mapping[str, str]) -> str:
    return "\n".join(f"      {name}:{_zsh_quote(summary)}" for name, summary in names.items())


def _zsh_quote(text: str) -> str:
    return "'" + (text or "").replace("'", "'\"'\"'") + "'"


def _adjust_zsh(script: str, commands: Mapping[str, argparse.ArgumentParser]) -> str:
    modes = {
        "serve": "run the embedded Kostyor-compatible server",
        "config": "write or show the configuration",
        "completion": "print a shell completion script",
    }
    named = {name: parser.description or "" for name, parser in commands.items()}
    function = f"""_shtab_kostyor_tui_commands() {{
  local -a _commands
  if (( ${{words[(I)--command]}} )); then
    _commands=(
{_zsh_entries(named)}
    )
  else
    _commands=(
{_zsh_entries(modes)}
    )
  fi
  _describe 'kostyor-tui commands' _commands
}}
"""
    return _replace_once(
        r"^_shtab_kostyor_tui_commands\(\) \{\n.*?\n\}\n", function, script, "zsh command list"
    )


def _adjust_fish(script: str, commands: Mapping[str, argparse.ArgumentParser]) -> str:
    first = r"-n '_shtab_kostyor_tui_using; and test \$_shtab_kostyor_tui_npos -eq 0' -a "
    for name in (*MODES, *commands):
        condition = (
            "; and __fish_seen_argument -l command"
            if name in commands
            else "; and not __fish_seen_argument -l command"
        )
        script = _replace_once(
            f"{first}{re.escape(name)} ",
            f"-n '_shtab_kostyor_tui_using; and test $_shtab_kostyor_tui_npos -eq 0"
            f"{condition}' -a {name} ",
            script,
            f"fish line for {name}",
        )
    return script
