"""Big files stay cheap (issue 18, point 9): the clients file is read entry by entry from YAML events, and
``generate`` writes its YAML entry by entry. What these readers and writers must keep: the values PyYAML's
safe loader (with YAML 1.2 scalars) gave, and problems that name the file's line, never its text.

The time and memory figures are the benchmark's (benchmarks/big_files.py, docs/PERFORMANCE.md): no timed test.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from provider.cli.csv_import import parse_client_list
from provider.cli.generate import roster_yaml, write_roster_yaml
from provider.errors import RosterInvalid
from provider.roster.clients_file import read_clients_file
from provider.roster.parsing import CLIENTS_UNREAD, StreamedClients
from provider.roster.stack_config import parse_stack_config


def entries_of(tmp_path: Path, text: str) -> list[Any]:
    (tmp_path / "clients.yaml").write_text(text, encoding="utf-8")
    clients, _, problems = read_clients_file("clients.yaml", tmp_path)
    assert problems == [] and clients is not CLIENTS_UNREAD
    assert isinstance(clients, StreamedClients)
    read = list(clients)
    assert clients.problems == []
    return read


def test_scalars_read_as_yaml_1_2_core_and_collections_as_pypyaml_builds_them(tmp_path: Path) -> None:
    text = """\
- plain: [yes, on, No, 2024-01-31, '1:20', 0174592-8, 1_000, 0o17]
  numbers: [42, -7, +3, 1.5, 1e3, .5, .inf, -.Inf]
  words: [true, False, TRUE, null, ~, 'true', "42", !!str 42, !!int "42", !!float '1']
  text: |
    two
    lines
  empty:
"""
    (entry,) = entries_of(tmp_path, text)
    assert entry["plain"] == ["yes", "on", "No", "2024-01-31", "1:20", "0174592-8", "1_000", "0o17"]
    assert entry["numbers"][:6] == [42, -7, 3, 1.5, 1000.0, 0.5]
    assert entry["numbers"][6:] == [math.inf, -math.inf]
    assert entry["words"] == [True, False, True, None, None, "true", "42", "42", 42, 1.0]
    assert entry["text"] == "two\nlines\n" and entry["empty"] is None


def test_anchors_aliases_and_merge_keys_work_as_in_pyyaml(tmp_path: Path) -> None:
    text = """\
- &base {businessId: 2925630-9, name: Acme Oy, erp: procountor, teams: &teams [North]}
- <<: *base
  businessId: 1572860-0
  teams: *teams
- {<<: [{name: First}, {name: Second, erp: netvisor}], businessId: 2077474-0}
"""
    first, second, third = entries_of(tmp_path, text)
    assert second == {**first, "businessId": "1572860-0"}
    assert third == {"name": "First", "erp": "netvisor", "businessId": "2077474-0"}
    assert yaml.safe_load(text)[1] == second  # what PyYAML's own loader builds


def test_aliases_shared_by_two_thousand_clients_are_read(tmp_path: Path) -> None:
    """Shared dimensions and tags by alias, a few values per client: well within the aliases' budget."""
    lines = [
        "- {businessId: 2925630-9, name: Acme Oy, erp: procountor, dimensions: &dims [Kustannuspaikka, "
        "Projekti, Osasto], tags: &tags {office: Tampere, team: North}}"
    ]
    lines += [
        f"- {{name: Asiakas {n}, erp: procountor, dimensions: *dims, tags: *tags}}" for n in range(1999)
    ]
    entries = entries_of(tmp_path, "\n".join(lines) + "\n")
    assert len(entries) == 2000 and entries[-1]["dimensions"] == ["Kustannuspaikka", "Projekti", "Osasto"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("- {a: 1}\n- !!python/object:os.system {}\n", "line 2, column 3: the tag"),
        ("- {a: *nowhere}\n", "line 1, column 7: found undefined alias 'nowhere'"),
        ("- " + "[" * 80 + "]" * 80 + "\n", "nested deeper than 64 levels"),
        ("- {a: 1}\n---\n- {b: 2}\n", "more than one YAML document"),
        ("- {[x]: 1}\n", "a key that is a list or a mapping"),
        (
            "- &loop {businessId: 2925630-9, self: *loop}\n",
            "line 1, column 39: alias 'loop' refers to a node",
        ),
        # "Billion laughs": 30 levels of aliases of aliases, 2^30 values from 1 KB.
        (
            "- {x0: &a0 {p: 1, q: 1}, "
            + ", ".join(f"x{i}: &a{i} {{p: *a{i - 1}, q: *a{i - 1}}}" for i in range(1, 31))
            + "}\n",
            "aliases stand for more than 200,000 values",
        ),
    ],
)
def test_what_the_reader_refuses_is_one_problem_with_its_place(tmp_path: Path, text: str, says: str) -> None:
    (tmp_path / "clients.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RosterInvalid) as caught:
        parse_stack_config({"roster:clientsFile": "clients.yaml"}, tmp_path)
    (problem,) = caught.value.problems
    assert problem.entry == "clients.yaml" and problem.message.startswith("is not valid YAML: ")
    assert says in problem.message


def test_bad_bytes_far_down_the_file_name_their_offset_and_nothing_else(tmp_path: Path) -> None:
    good = "".join(f"- {{businessId: 2925630-9, name: Acme {n} Oy, erp: procountor}}\n" for n in range(5000))
    (tmp_path / "clients.yaml").write_bytes(good.encode() + "- name: Öljy\n".encode("latin-1"))
    with pytest.raises(RosterInvalid) as caught:
        parse_stack_config({"roster:clientsFile": "clients.yaml"}, tmp_path)
    # The entries before the bad bytes are no roster: no duplicate business IDs or missing keys reported.
    (problem,) = caught.value.problems
    assert f"is not UTF-8 text (byte {len(good.encode()) + 8})" in problem.message


NAMES = [
    "Öljy-Äijät Oy",
    "yes",
    "No",
    "null",
    "123",
    "1e5",
    "2024-01-31",
    "0174592-8",
    "Oy: Ab",
    "# hash",
    "a #b",
    "- dash",
    "trailing ",
    "quote 'single' and \"double\"",
    "line\\break",
    "&anchor",
    "*alias",
    "Kahvila & Leipomo (Pori)",
    "x' ; touch /tmp/pwned ; echo '",
    "\u2028",
]


def test_generated_yaml_reads_back_as_written_in_yaml_1_1_and_1_2(tmp_path: Path) -> None:
    entries: list[dict[str, Any]] = [
        {"businessId": "0174592-8", "name": name, "erp": "procountor", "teams": [name, "Team North"]}
        for name in NAMES
    ]
    entries.append({"businessId": "2925630-9", "name": "A", "erp": "netvisor", "teams": [], "adopt": True})
    text = roster_yaml(entries)
    assert yaml.safe_load(text) == {"config": {"roster:clients": entries}}
    assert entries_of(tmp_path, text.split("roster:clients:\n", 1)[1]) == entries
    # As yaml.safe_dump lays it out, for the plain cases the docs show.
    assert roster_yaml(entries[:1]).startswith(
        "config:\n  roster:clients:\n  - businessId: 0174592-8\n    name: Öljy-Äijät Oy\n"
        "    erp: procountor\n    teams:\n    - Öljy-Äijät Oy\n    - Team North\n"
    )


def test_an_empty_roster_is_an_empty_list() -> None:
    out = io.StringIO()
    write_roster_yaml([], out)
    assert yaml.safe_load(out.getvalue()) == {"config": {"roster:clients": []}}


def test_a_client_list_is_read_in_one_pass_with_its_line_numbers() -> None:
    data = "\n\nY-tunnus;Nimi;Järjestelmä\r\n2077474-0;Kahvila;Procountor\r\n\r\n1618033-3;Kirja;netvisor\r\n"
    listed = parse_client_list(data.encode("utf-8"))
    assert [(row.line, str(row.business_id), row.erp) for row in listed.clients] == [
        (4, "2077474-0", "procountor"),
        (6, "1618033-3", "netvisor"),
    ]
    assert [str(note) for note in listed.notes] == [
        "line 1: blank line before the header, skipped",
        "line 2: blank line before the header, skipped",
        "line 5: blank line, skipped",
    ]
    assert json.dumps(listed.separator) == '";"'
