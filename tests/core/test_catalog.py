"""Plan file validation: ``check_files``, ``flask tracker check-plans`` and start-up."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tracker import create_app
from tracker.catalog import get_catalog
from tracker.core.checks import PlanError
from tracker.core.roadmaps import PLANS_DIR, check_files, load_catalog
from tracker.jobs.cli import tracker_cli

ROOT = Path(__file__).resolve().parents[2]
FLASK = ROOT / ".venv" / "bin" / "flask"

ROADMAP = """\
id = "py"
title = "Python: 60 days"
language = "Python"
summary = "A short roadmap for tests."
outcome = "You can write Python."
days = 60

[[phases]]
id = "month-1"
title = "Month 1"
days = 30

[[phases.milestones]]
id = "basics"
topic = "Syntax"
title = "The basics"
learn = "Variables and loops."
done_when = ["You wrote a loop."]
links = [{ title = "Tutorial", url = "https://docs.python.org/3/tutorial/" }]

[[phases.milestones]]
id = "functions"
topic = "Syntax"
title = "Functions"
learn = "Define and call functions."
done_when = ["You wrote a function."]

[[phases]]
id = "month-2"
title = "Month 2"
days = 30

[[phases.milestones]]
id = "packages"
topic = "Tooling"
title = "Packages"
learn = "Build a package."
done_when = ["You built a wheel."]
"""

# (name, replace this, with this, the problem reported as "<file>: <field>: <problem>")
ROADMAP_ERRORS = [
    ("unknown key", "days = 60\n", 'days = 60\ncolour = "red"\n', "colour: unknown key"),
    (
        "unknown milestone key",
        'learn = "Variables and loops."\n',
        'learn = "Variables and loops."\nhours = 3\n',
        "phases[0].milestones[0].hours: unknown key",
    ),
    (
        "duplicate milestone id",
        'id = "functions"',
        'id = "basics"',
        "phases[0].milestones[1].id: duplicate id 'basics'",
    ),
    (
        "duplicate milestone id across phases",
        'id = "packages"',
        'id = "basics"',
        "phases[1].milestones[0].id: duplicate id 'basics'",
    ),
    (
        "phase days do not add up",
        "days = 60\n",
        "days = 90\n",
        "days: is 90 but the phases add up to 60",
    ),
    ("empty title", 'title = "Python: 60 days"', 'title = ""', "title: must be a non-empty string"),
    (
        "blank milestone title",
        'title = "Functions"',
        'title = "   "',
        "phases[0].milestones[1].title: must be a non-empty string",
    ),
    (
        "bad URL",
        "https://docs.python.org/3/tutorial/",
        "docs.python.org/tutorial",
        "phases[0].milestones[0].links[0].url: 'docs.python.org/tutorial' is not an http(s) URL",
    ),
    (
        "URL scheme",
        "https://docs.python.org/3/tutorial/",
        "javascript:alert(1)",
        "phases[0].milestones[0].links[0].url: 'javascript:alert(1)' is not an http(s) URL",
    ),
    ("invalid TOML", "days = 60\n", "days = = 60\n", "(file): invalid TOML: "),
    (
        "missing required key",
        'summary = "A short roadmap for tests."\n',
        "",
        "summary: is required",
    ),
    (
        "missing milestone key",
        'done_when = ["You built a wheel."]\n',
        "",
        "phases[1].milestones[0].done_when: is required",
    ),
    ("bad slug", 'id = "py"', 'id = "Py Thon"', "id: 'Py Thon' must use only a-z, 0-9 and '-'"),
    (
        # Stored as "<roadmap>/<milestone>" in a 120-character column.
        "long id",
        'id = "basics"',
        f'id = "{"b" * 51}"',
        f"phases[0].milestones[0].id: '{'b' * 51}' is longer than 50 characters",
    ),
    (
        "days not a number",
        "days = 60\n",
        'days = "60"\n',
        "days: must be a whole number from 1 to 3650",
    ),
    (
        "too many milestones",
        'days = 30\n\n[[phases.milestones]]\nid = "packages"',
        'days = 1\n\n[[phases.milestones]]\nid = "packages"\n[[phases.milestones]]\nid = "more"',
        "phases[1].milestones: 2 milestones do not fit in 1 days",
    ),
]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def broken_roadmap(tmp_path: Path, old: str, new: str) -> Path:
    assert old in ROADMAP, old
    return write(tmp_path / "py.toml", ROADMAP.replace(old, new, 1))


def broken_decision(tmp_path: Path) -> Path:
    text = (PLANS_DIR / "decision.toml").read_text(encoding="utf-8")
    return write(
        tmp_path / "decision.toml",
        text.replace("points = { go = 2 }", "points = { python = 2 }", 1),
    )


@pytest.fixture(scope="module")
def cli_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """Return an app on a throwaway SQLite file: check-plans touches no database."""
    database = tmp_path_factory.mktemp("cli") / "cli.sqlite"
    return create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": f"sqlite:///{database}"}
    )


def check_plans(app: Flask, *paths: Path) -> Any:
    runner = app.test_cli_runner()
    return runner.invoke(tracker_cli, ["check-plans", *map(str, paths)])


def test_valid_roadmap_has_no_problems(tmp_path: Path) -> None:
    path = write(tmp_path / "py.toml", ROADMAP)
    assert check_files([path]) == []


def test_real_plans_have_no_problems() -> None:
    assert check_files(sorted(PLANS_DIR.glob("*.toml"))) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"), [e[1:] for e in ROADMAP_ERRORS], ids=[e[0] for e in ROADMAP_ERRORS]
)
def test_check_files_reports_file_field_problem(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    path = broken_roadmap(tmp_path, old, new)
    problems = check_files([path])
    assert any(p.startswith(f"{path}: {problem}") for p in problems), problems
    assert all(p.startswith(f"{path}: ") for p in problems)


def test_check_files_reports_unknown_points_key(tmp_path: Path) -> None:
    path = broken_decision(tmp_path)
    assert check_files([path]) == [
        f"{path}: questions[0].answers[0].points.python: unknown key (use go, rust, both)"
    ]


def test_check_files_reads_every_file(tmp_path: Path) -> None:
    bad = broken_roadmap(tmp_path, 'title = "Python: 60 days"', 'title = ""')
    missing = tmp_path / "missing.toml"
    problems = check_files([PLANS_DIR / "go.toml", bad, missing, broken_decision(tmp_path)])
    assert [p.split(": ")[0] for p in problems] == [
        str(bad),
        str(missing),
        str(tmp_path / "decision.toml"),
    ]
    assert problems[1] == f"{missing}: (file): cannot read: No such file or directory"


@pytest.mark.parametrize(
    ("old", "new", "problem"), [e[1:] for e in ROADMAP_ERRORS], ids=[e[0] for e in ROADMAP_ERRORS]
)
def test_check_plans_command_fails_on_a_bad_file(
    cli_app: Flask, tmp_path: Path, old: str, new: str, problem: str
) -> None:
    path = broken_roadmap(tmp_path, old, new)
    result = check_plans(cli_app, path)
    assert result.exit_code == 1
    assert f"{path}: {problem}" in result.stderr
    assert "OK" not in result.stdout


def test_check_plans_command_fails_on_unknown_points_key(cli_app: Flask, tmp_path: Path) -> None:
    path = broken_decision(tmp_path)
    result = check_plans(cli_app, path)
    assert result.exit_code == 1
    assert f"{path}: questions[0].answers[0].points.python: unknown key" in result.stderr


def test_check_plans_command_passes_real_plans(cli_app: Flask) -> None:
    result = check_plans(cli_app)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "3 plan file(s) OK."
    result = check_plans(cli_app, *sorted(PLANS_DIR.glob("*.toml")))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "3 plan file(s) OK."


def test_check_plans_command_is_on_the_flask_cli() -> None:
    """Run the real command line against the real plans: it exits 0."""
    result = subprocess.run(
        [FLASK, "--app", "app", "tracker", "check-plans"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "3 plan file(s) OK." in result.stdout


def test_check_plans_works_when_the_app_cannot_load(tmp_path: Path) -> None:
    """The command is an entry point, so a bad plan file cannot hide its own errors."""
    plans = copy_plans(tmp_path)
    bad = broken_roadmap(plans, 'title = "Python: 60 days"', 'title = ""')
    env = {
        **os.environ,
        "TRACKER_PLANS_DIR": str(plans),
        "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}",
    }
    # The app itself refuses to load with that plans folder (a subprocess would say so
    # only slowly, after a traceback)...
    with pytest.raises(PlanError, match="title: must be a non-empty string"):
        create_app(
            {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "sqlite://", "PLANS_DIR": plans}
        )
    # ...but check-plans still runs and names the file and field.
    result = subprocess.run(
        [FLASK, "--app", "app", "tracker", "check-plans", str(bad)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"{bad}: title: must be a non-empty string"
    assert result.stdout == ""


def copy_plans(tmp_path: Path) -> Path:
    plans = tmp_path / "plans"
    shutil.copytree(PLANS_DIR, plans)
    return plans


def bad_plans_dir(tmp_path: Path, file: str, old: str, new: str) -> Path:
    plans = copy_plans(tmp_path)
    path = plans / file
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return plans


@pytest.mark.parametrize(
    ("file", "old", "new", "problem"),
    [
        ("go.toml", "days = 90", "days = 91", "go.toml: days: is 91 but the phases add up to 90"),
        (
            "rust.toml",
            'id = "month-2"',
            'id = "month-1"',
            "rust.toml: phases[1].id: duplicate id 'month-1'",
        ),
        (
            "decision.toml",
            'roadmaps = ["go"]',
            'roadmaps = ["golang"]',
            "decision.toml: outcomes.go.roadmaps[0]: unknown roadmap 'golang'",
        ),
        (
            "decision.toml",
            "points = { go = 2 }",
            "points = { go = 7 }",
            "decision.toml: questions[0].answers[0].points.go: must be a whole number from 0 to 3",
        ),
        (
            "decision.toml",
            'kind = "multi"',
            'kind = "many"',
            "decision.toml: questions[5].kind: 'many' must be 'single' or 'multi'",
        ),
        ("rust.toml", 'id = "rust"', 'id = "go"', "rust.toml: id: roadmap 'go' is defined twice"),
    ],
)
def test_app_refuses_to_start_on_a_bad_plan_file(
    tmp_path: Path, file: str, old: str, new: str, problem: str
) -> None:
    plans = bad_plans_dir(tmp_path, file, old, new)
    config = {
        "TESTING": True,
        "SECRET_KEY": "test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
        "PLANS_DIR": plans,
    }
    with pytest.raises(PlanError) as info:
        create_app(config)
    assert f"{plans}/{problem}" in info.value.problems
    assert f"{plans}/{problem}" in str(info.value)


def test_app_loads_the_plans_dir_it_is_given(tmp_path: Path) -> None:
    plans = bad_plans_dir(
        tmp_path, "go.toml", 'title = "Go for backend work: 90-day roadmap"', 'title = "Go, edited"'
    )
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "sqlite://", "PLANS_DIR": plans}
    )
    with app.app_context():
        assert get_catalog().roadmaps["go"].title == "Go, edited"


def test_empty_decision_file_lists_what_is_missing(tmp_path: Path) -> None:
    plans = copy_plans(tmp_path)
    write(plans / "decision.toml", "")
    with pytest.raises(PlanError) as info:
        load_catalog(plans)
    assert f"{plans}/decision.toml: title: is required" in info.value.problems
    assert f"{plans}/decision.toml: outcomes: is required" in info.value.problems


def test_missing_ids_are_reported_once(tmp_path: Path) -> None:
    text = ROADMAP.replace('id = "basics"\n', "").replace('id = "functions"\n', "")
    path = write(tmp_path / "py.toml", text)
    assert check_files([path]) == [
        f"{path}: phases[0].milestones[0].id: is required",
        f"{path}: phases[0].milestones[1].id: is required",
    ]


def test_decision_problems_are_listed_once_in_a_stable_order(tmp_path: Path) -> None:
    text = (PLANS_DIR / "decision.toml").read_text(encoding="utf-8")
    text = text.replace('kind = "multi"\n', "", 1)
    text = text.replace("points = { go = 2 }", "points = { rust = 8, go = 9, both = 7 }", 1)
    path = write(tmp_path / "decision.toml", text)
    points = f"{path}: questions[0].answers[0].points"
    assert check_files([path]) == [
        f"{points}.both: must be a whole number from 0 to 3",
        f"{points}.go: must be a whole number from 0 to 3",
        f"{points}.rust: must be a whole number from 0 to 3",
        f"{path}: questions[5].kind: is required",
    ]


def test_check_files_lists_every_problem_at_once(tmp_path: Path) -> None:
    # A top-level field was checked only when nothing else was wrong, so fixing one
    # problem used to reveal the next.
    text = ROADMAP.replace('title = "', 'colour = "blue"\ntitle = "', 1)
    top_title = text.index('title = "')
    text = text[:top_title] + 'title = ""' + text[text.index("\n", top_title):]
    path = write(tmp_path / "py.toml", text)
    problems = check_files([path])
    assert f"{path}: colour: unknown key" in problems
    assert f"{path}: title: must be a non-empty string" in problems
