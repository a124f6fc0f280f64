"""The user documentation stays in step with the code it describes: the fault and row message
tables, the environment variables, the commands and their options, and the links."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from switchvox_server.bulk.messages import RowMessage
from switchvox_server.cli import _parser
from switchvox_server.faults import FAULTS
from switchvox_server.settings import Settings

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
FAULTS_PAGE = DOCS / "faults.md"
CONFIGURATION_PAGE = DOCS / "configuration.md"
CLI_PAGE = DOCS / "cli.md"
PAGES = [
    README,
    ROOT / "CHANGELOG.md",
    *(
        DOCS / name
        for name in (
            "methods.md",
            "csv.md",
            "faults.md",
            "configuration.md",
            "deployment.md",
            "testing.md",
            "cli.md",
            "profiles.md",
        )
    ),
]

# A cell separator of a Markdown table row: a pipe not escaped with a backslash.
_CELL_SEPARATOR = re.compile(r"(?<!\\)\|")
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def table_rows(text: str, heading: str) -> list[list[str]]:
    """The body rows of the first table under `## heading`, each as its stripped cells."""
    section = text.split(f"\n## {heading}\n", 1)
    assert len(section) == 2, f"no section '## {heading}'"
    body = section[1].split("\n## ", 1)[0]
    rows = []
    for line in body.splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in _CELL_SEPARATOR.split(line.strip())[1:-1]]
        if set("".join(cells)) <= {"-", " ", ":"}:
            continue  # the delimiter row
        rows.append(cells)
    assert rows, f"no table under '## {heading}'"
    return rows[1:]  # without the header row


def test_every_fault_has_its_row_in_the_fault_table() -> None:
    """Each fault of faults.py: one row with its code, its exact template and its origin."""
    rows = table_rows(FAULTS_PAGE.read_text(), "Fault codes")
    by_code = {row[0]: row for row in rows}
    assert len(by_code) == len(rows), "a code has more than one row"
    for fault in FAULTS.all():
        row = by_code.get(str(fault.code))
        assert row is not None, f"fault {fault.code} is missing from docs/faults.md"
        assert row[1:3] == [f"`{fault.template}`", fault.origin.value], row


def test_the_fault_table_lists_no_other_codes() -> None:
    """The fault table of docs/faults.md lists exactly the codes of faults.py."""
    rows = table_rows(FAULTS_PAGE.read_text(), "Fault codes")
    assert sorted(row[0] for row in rows) == sorted(str(fault.code) for fault in FAULTS.all())


def test_every_row_message_has_its_row_in_the_row_message_table() -> None:
    """Each RowMessage: one row with its identifier, its exact template and its origin."""
    rows = table_rows(FAULTS_PAGE.read_text(), "Row messages")
    by_name = {row[0]: row for row in rows}
    assert len(by_name) == len(rows), "an identifier has more than one row"
    assert sorted(by_name) == sorted(f"`{message.name}`" for message in RowMessage)
    for message in RowMessage:
        row = by_name[f"`{message.name}`"]
        assert row[1:3] == [f"`{message.template}`", message.origin.value], row


class _RecordingEnviron(Mapping[str, str]):
    """An empty environment that remembers every name looked up in it."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __getitem__(self, name: str) -> str:
        self.names.append(name)
        raise KeyError(name)

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self.names.append(name)
        return default

    def __contains__(self, name: object) -> bool:
        self.names.append(str(name))
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def environment_variables() -> list[str]:
    """Every variable `Settings.from_environ` reads, found by watching it read."""
    environ = _RecordingEnviron()
    Settings.from_environ(environ)
    return list(dict.fromkeys(environ.names))


def test_the_variables_are_found() -> None:
    """The recording sees the variables (it would pass vacuously if it saw none)."""
    names = environment_variables()
    assert {"DATABASE_URL", "SWITCHVOX_ADMIN_PASSWORD", "SWITCHVOX_DIGEST"} <= set(names)
    source = (ROOT / "src" / "switchvox_server" / "settings.py").read_text()
    quoted = set(re.findall(r'"((?:SWITCHVOX_|DATABASE_)[A-Z0-9_]*)"', source))
    assert quoted == set(names)


@pytest.mark.parametrize("page", [CONFIGURATION_PAGE, README], ids=lambda page: page.name)
def test_every_environment_variable_is_documented(page: Path) -> None:
    """Every environment variable that settings.py reads is named on the page."""
    text = page.read_text()
    missing = [name for name in environment_variables() if f"`{name}`" not in text]
    assert not missing, f"{page.name} does not mention {missing}"


def subcommands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """(`command subcommand`, its parser) for every command, nested ones too."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                full = f"{prefix} {name}".strip()
                yield full, child
                yield from subcommands(child, full)


def test_every_command_is_documented_in_the_cli_page() -> None:
    """Every subcommand of the command line is named in docs/cli.md."""
    text = CLI_PAGE.read_text()
    commands = [name for name, _ in subcommands(_parser())]
    assert {"serve", "migrate", "admin add", "templates show", "import", "seed"} <= set(commands)
    missing = [name for name in commands if f"`{name}" not in text]
    assert not missing, f"docs/cli.md does not mention {missing}"


def test_every_option_is_documented_in_the_cli_page() -> None:
    """Every long option of every subcommand is named in docs/cli.md."""
    text = CLI_PAGE.read_text()
    missing = [
        f"{name} {option}"
        for name, parser in subcommands(_parser())
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help" and option not in text
    ]
    assert not missing, f"docs/cli.md does not mention {missing}"


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown page."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_relative_links_lead_to_files_and_headings(page: Path) -> None:
    """Every relative link of the page leads to a file, and to a heading where it names one."""
    for target in _LINK.findall(page.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        name, _, anchor = target.partition("#")
        path = (page.parent / name).resolve() if name else page
        assert path.exists(), f"{page.name} links to {target}, which does not exist"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path), f"{page.name} links to {target}: no such heading"
