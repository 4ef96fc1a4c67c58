"""The chatserver command: agents, tokens, migrations, and clear errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from chatserver import cli


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], stdin: str = "", *, tty: bool = False
) -> tuple[int, str, str]:
    import sys

    old = sys.stdin
    sys.stdin = _Terminal(stdin) if tty else io.StringIO(stdin)
    try:
        code = cli.main(args)
    finally:
        sys.stdin = old
    out, err = capsys.readouterr()
    return code, out, err


def test_agent_add_list_and_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Agents are added with a hashed password, listed, and get API tokens."""
    db = str(tmp_path / "chat.db")
    code, out, _ = run(
        [
            "agent",
            "add",
            "ayse",
            "--name",
            "Ayşe Yılmaz",
            "--department",
            "finance",
            "--department",
            "complaints",
            "--max-chats",
            "4",
            "--password-stdin",
            "--db",
            db,
        ],
        capsys,
        stdin="a long enough password\n",
    )
    assert code == 0 and "added agent ayse (id 1, agent, max 4 chats)" in out
    code, out, _ = run(["agent", "list", "--db", db], capsys)
    assert code == 0
    header, row = out.strip().splitlines()
    assert header.split() == ["ID", "USERNAME", "NAME", "ROLE", "DEPARTMENTS", "MAX", "STATE"]
    assert "Ayşe Yılmaz" in row and "complaints,finance" in row and row.split()[-1] == "active"

    code, out, err = run(["token", "create", "ayse", "--label", "crm", "--db", db], capsys)
    assert code == 0 and out.startswith("cst_") and len(out.strip()) > 40
    assert "shown only once" in err

    import sqlite3

    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM agents").fetchone()
        (token_hash,) = conn.execute("SELECT token_hash FROM api_tokens").fetchone()
    assert stored.startswith("$argon2id$") and "a long enough" not in stored
    assert out.strip().encode() not in token_hash


def test_password_prompt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --password-stdin, on a terminal, the password is asked twice and must match."""
    answers = iter(["first password", "other password"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: next(answers))
    code, _, err = run(["agent", "add", "ali", "--db", str(tmp_path / "c.db")], capsys, tty=True)
    assert code == 1 and "the two passwords differ" in err
    answers = iter(["same password", "same password"])
    code, out, _ = run(["agent", "add", "ali", "--db", str(tmp_path / "c.db")], capsys, tty=True)
    assert code == 0 and "added agent ali" in out


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["agent", "add", "ayse", "--password-stdin"], "short\n", "at least 8 characters"),
        (
            ["agent", "add", "ayse", "--password-stdin", "--max-chats", "0"],
            "long password\n",
            "--max-chats",
        ),
        (["token", "create", "nobody"], "", "no agent named 'nobody'"),
    ],
)
def test_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], stdin: str, message: str
) -> None:
    """Bad input is refused with a readable message and exit code 1."""
    code, _, err = run([*args, "--db", str(tmp_path / "c.db")], capsys, stdin=stdin)
    assert code == 1 and message in err and err.startswith("chatserver: error:")


def test_duplicate_username(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Usernames are unique, case-insensitively."""
    db = str(tmp_path / "c.db")
    assert (
        run(["agent", "add", "ayse", "--password-stdin", "--db", db], capsys, "password1\n")[0] == 0
    )
    code, _, err = run(
        ["agent", "add", "AYSE", "--password-stdin", "--db", db], capsys, "password1\n"
    )
    assert code == 1 and "already exists" in err


def test_migrate_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """migrate creates the schema once and then has nothing to do."""
    db = str(tmp_path / "c.db")
    code, out, _ = run(["migrate", "--db", db], capsys)
    assert code == 0 and "applied migration(s) 1" in out
    code, out, _ = run(["migrate", "--db", db], capsys)
    assert code == 0 and "nothing to do" in out


def test_bad_configuration_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A broken config file stops the command with a clear message."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text("port = 'x'")
    code, _, err = run(["migrate", "--config", str(cfg), "--db", str(tmp_path / "c.db")], capsys)
    assert code == 1 and "port" in err


def test_cannot_open_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A database path that cannot be created is a clear error, not a traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run(["migrate", "--db", str(blocker / "sub" / "c.db")], capsys)
    assert code == 1 and "cannot open database" in err


def test_members_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A CSV fills the built-in directory; re-importing updates; bad rows are named."""
    db = str(tmp_path / "c.db")
    csv_file = tmp_path / "members.csv"
    csv_file.write_text(
        "member_id,username,email,name,birthdate\n"
        "m-1,mehmet42,m@example.com,Mehmet,1990-05-01\n"
        "m-2,ayse7,a@example.com,,\n",
        encoding="utf-8",
    )
    code, out, _ = run(["members", "import", str(csv_file), "--db", db], capsys)
    assert code == 0 and "imported 2 member(s)" in out
    csv_file.write_text("member_id,username,email\nm-1,mehmet42,new@example.com\n")
    assert run(["members", "import", str(csv_file), "--db", db], capsys)[0] == 0
    import sqlite3

    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT member_id, email, birthdate FROM members ORDER BY 1").fetchall()
    assert rows == [("m-1", "new@example.com", None), ("m-2", "a@example.com", None)]
    csv_file.write_text("member_id,username,email,birthdate\nm-3,x,x@example.com,05/01/1990\n")
    code, _, err = run(["members", "import", str(csv_file), "--db", db], capsys)
    assert code == 1 and "line 2" in err and "YYYY-MM-DD" in err
    csv_file.write_text("member_id,username\nm-3,x\n")
    code, _, err = run(["members", "import", str(csv_file), "--db", db], capsys)
    assert code == 1 and "missing email" in err
