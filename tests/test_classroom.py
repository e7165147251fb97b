"""The class server (`python -m explorer serve --classroom`, `explorer.server`, `ui.join`): identities a
crafted link cannot forge, joining with a code and a unique name, no uploaded code run anywhere on a
class server (library, links, picker), the serve command's Streamlit settings, and the join door in
AppTest. The local app (`streamlit run app.py`) is checked to have no door."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.server.identity import Identity, IdentityError, secret, sign, verify
from explorer.server.roster import Roster, WrongCodeError, clean_name
from explorer.server.settings import ENV_JOIN, ENV_TEACHER, ClassSettings, ClassSettingsError

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
CLASS = ClassSettings(address="127.0.0.1", port=8599, join_code="maple-42", teacher_code="oak-tree-7")


@pytest.fixture
def serving(monkeypatch, tmp_path):
    """This process serves CLASS with its data folder in tmp_path."""
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    for k, v in CLASS.environ().items():
        monkeypatch.setenv(k, v)
    return tmp_path


# ---- identities ----------------------------------------------------------------------------------------------
def test_a_token_names_one_member_and_any_edit_is_refused():
    key, other = b"a" * 32, b"b" * 32
    ada = Identity("0123456789ab", "Ada", "student")
    t = sign(ada, key)
    assert verify(t, key) == ("0123456789ab", "student")
    sid, role, mac = t.split(".")
    forged = [f"ba9876543210.{role}.{mac}",  # another student's id with Ada's MAC
              f"{sid}.teacher.{mac}",  # Ada promoting herself
              f"{sid}.{role}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",  # a MAC one character off
              sign(ada, other),  # signed by another server
              f"{sid}.{role}", "", "x" * 200, f"{sid}.{role}.{mac}.extra"]
    for bad in forged:
        with pytest.raises(IdentityError, match="join again"):
            verify(bad, key)


def test_the_key_is_private_and_kept(tmp_path):
    k = secret(tmp_path)
    p = tmp_path / "class" / "secret.key"
    assert len(k) == 32 and p.stat().st_mode & 0o777 == 0o600
    assert secret(tmp_path) == k  # the next start signs with the same key: links keep working


def test_joining_gives_roles_by_code_and_names_are_unique(tmp_path):
    r = Roster(tmp_path)
    ada, t_ada = r.join(CLASS, "maple-42", "Ada  Lovelace")
    teacher, t_teacher = r.join(CLASS, " oak-tree-7 ", "Ms Hopper")
    assert (ada.name, ada.role, teacher.role) == ("Ada Lovelace", "student", "teacher")
    assert r.admit(t_ada) == ada and r.admit(t_teacher) == teacher
    assert ada.id != teacher.id
    with pytest.raises(WrongCodeError, match="not this class's code"):
        r.join(CLASS, "maple-43", "Bob")
    with pytest.raises(IdentityError, match="is taken"):
        r.join(CLASS, "maple-42", "ada lovelace")  # a second Ada cannot take over the first one's name
    assert [m.name for m in r.members()] == ["Ada Lovelace", "Ms Hopper"]
    # a class started afresh (new roster, same key) admits no old link
    (tmp_path / "class" / "roster.sqlite3").unlink()
    with pytest.raises(IdentityError, match="nobody in this class"):
        Roster(tmp_path).admit(t_ada)


@pytest.mark.parametrize("name, why", [("", "type a display name"), ("x" * 41, "at most 40"),
                                       ("<script>", "letters, digits"), ("Ada\u202e", "letters, digits")])
def test_bad_names_are_refused_with_the_fix(name, why):
    with pytest.raises(IdentityError, match=why):
        clean_name(name)


# ---- settings and the serve command ------------------------------------------------------------------------------
def test_the_streamlit_command_limits_hosts_and_turns_off_telemetry():
    s = ClassSettings(address="0.0.0.0", host="lab-pc.school.edu", port=8600, join_code="maple-42",
                      teacher_code="oak-tree-7")
    cmd = s.streamlit_command("app.py")
    opts = [(cmd[i], cmd[i + 1]) for i in range(5, len(cmd), 2)]
    hosts = [v for k, v in opts if k == "--server.allowedHosts"]
    assert hosts == ["lab-pc.school.edu", "localhost", "127.0.0.1"]  # never "*", never the wildcard address
    assert [v for k, v in opts if k == "--server.corsAllowedOrigins"] == [f"http://{h}:8600" for h in hosts]
    want = {"--server.address": "0.0.0.0", "--server.port": "8600", "--server.headless": "true",
            "--browser.gatherUsageStats": "false", "--server.enableCORS": "true",
            "--server.enableXsrfProtection": "true", "--server.enableAgentApi": "false"}
    assert want.items() <= dict(opts).items()
    assert s.environ() == {ENV_JOIN: "maple-42", ENV_TEACHER: "oak-tree-7"}


@pytest.mark.parametrize("kw, why", [(dict(join_code="ab"), "--join-code must be at least 4"),
                                     (dict(teacher_code="short"), "--teacher-code must be at least 8"),
                                     (dict(teacher_code="maple-42"), "must differ"),
                                     (dict(address="0.0.0.0"), "add --host"),
                                     (dict(address="not an address"), "not an IP address"),
                                     (dict(port=0), "not a TCP port")])
def test_bad_settings_say_what_to_fix(kw, why):
    with pytest.raises(ClassSettingsError, match=why):
        ClassSettings(**{**dict(join_code="maple-42", teacher_code="oak-tree-7"), **kw})


def _serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer", "serve", *args, "--dry-run"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_serve_prints_the_class_command_and_hides_the_teacher_code():
    p = _serve("--classroom", "--address", "127.0.0.1", "--port", "8601", "--join-code", "maple-42",
               "--teacher-code", "oak-tree-7")
    assert p.returncode == 0, p.stderr
    cmd_line = p.stdout.strip().splitlines()[-1]
    assert f"{ENV_JOIN}=maple-42" in cmd_line and "oak-tree-7" not in cmd_line
    assert "streamlit run" in cmd_line and "--server.allowedHosts 127.0.0.1" in cmd_line
    assert "the teacher joins with the code: oak-tree-7" in p.stdout  # told once, on the teacher's terminal
    local = _serve()
    assert local.returncode == 0 and ENV_JOIN not in local.stdout and "--server.address 127.0.0.1" in local.stdout
    refused = _serve("--address", "0.0.0.0")
    assert refused.returncode == 2 and "add --classroom" in refused.stderr


# ---- no uploaded code runs on a class server ---------------------------------------------------------------------
def _model_file(folder: Path, marker: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    f = folder / "net.py"
    f.write_text(f"open({str(marker)!r}, 'w').write('ran')\nimport torch\n"
                 "class Net(torch.nn.Module):\n    input_shape = (2,)\n"
                 "    def __init__(self):\n        super().__init__(); self.fc = torch.nn.Linear(2, 2)\n"
                 "    def forward(self, x):\n        return self.fc(x)\n")
    return f"{f}:Net"


def test_a_class_server_runs_no_python_model_file(serving):
    from explorer import paths
    from explorer.links.codec import check_model
    from explorer.models.load import load
    from explorer.models.spec import ModelSpecError
    from explorer.models.user_store import check_allowed

    marker = serving / "ran.txt"
    spec = _model_file(paths.user_models(), marker)  # in the models folder: the local app would run it
    for refuse in (lambda: load(spec), lambda: check_allowed(spec)):
        with pytest.raises(ModelSpecError, match="class server: Python model files .* are not run here"):
            refuse()
    assert "class server" in check_model("file", spec)
    assert not marker.exists()  # not imported, not even in the sandbox
    assert load("moons_mlp").model is not None  # the zoo still opens


def test_the_local_app_still_runs_a_model_file_from_its_folder(monkeypatch, tmp_path):
    from explorer import paths
    from explorer.models.load import load

    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(ENV_JOIN, raising=False)
    marker = tmp_path / "ran.txt"
    spec = _model_file(paths.user_models(), marker)
    assert load(spec).example_input.shape == (1, 2) and marker.exists()


# ---- the door, in AppTest -----------------------------------------------------------------------------------------
def _app(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def _who(at: AppTest) -> str:
    v = at.query_params.get("who")
    return v[0] if isinstance(v, list) else v


def test_a_student_joins_and_a_reload_keeps_them(serving):
    at = _app()
    assert [t.value for t in at.title] == ["Join the class"] and not at.exception
    at.text_input(key="join.code").input("wrong-code")
    at.text_input(key="join.name").input("Ada")
    at.button[0].click().run()
    assert any("not this class's code" in e.value for e in at.error) and "who" not in at.query_params
    at.text_input(key="join.code").input("maple-42")
    at.button[0].click().run()
    assert not at.exception and "Join the class" not in [t.value for t in at.title]
    token = _who(at)
    assert token and Roster(serving).admit(token).name == "Ada"
    assert any("**Ada** · student" in c.value for c in at.sidebar.caption)
    again = _app({"who": token})  # a reload: a new session with the same link
    assert not again.exception and "Join the class" not in [t.value for t in again.title]
    assert any("**Ada** · student" in c.value for c in again.sidebar.caption) and _who(again) == token


def test_a_crafted_link_is_refused_and_asks_to_join(serving):
    ada, token = Roster(serving).join(CLASS, "maple-42", "Ada")
    sid, role, mac = token.split(".")
    for bad in (f"{sid}.teacher.{mac}", f"ffffffffffff.{role}.{mac}", "nonsense"):
        at = _app({"who": bad})
        assert not at.exception
        assert any("not valid on this server" in e.value for e in at.error)
        assert [t.value for t in at.title] == ["Join the class"]


def test_the_picker_offers_no_python_file_on_a_class_server(serving, monkeypatch):
    _, token = Roster(serving).join(CLASS, "maple-42", "Ada")
    at = AppTest.from_file(str(ROOT / "pages/1_Architecture.py"), default_timeout=TIMEOUT)
    at.session_state["explorer.member"] = Roster(serving).admit(token)
    at.run()
    sources = at.sidebar.radio(key="arch.source").options
    assert "Python file" not in sources and "ONNX upload" in sources
    monkeypatch.delenv(ENV_JOIN)
    at2 = AppTest.from_file(str(ROOT / "pages/1_Architecture.py"), default_timeout=TIMEOUT).run()
    assert "Python file" in at2.sidebar.radio(key="arch.source").options


def test_the_local_app_has_no_door(monkeypatch, tmp_path):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(ENV_JOIN, raising=False)
    at = _app()
    assert not at.exception and "Join the class" not in [t.value for t in at.title]
    assert "who" not in at.query_params


def test_live_pages_refresh_less_often_as_more_students_follow_their_jobs(monkeypatch):
    """The local app refreshes a live page every REFRESH_S; a class server gives each live page an interval
    that grows with the number of sessions following live jobs, so thirty students' refreshes together stay
    within their share of the server's one Python thread, and never past the upper bound."""
    from ui import jobs

    monkeypatch.delenv(ENV_JOIN, raising=False)
    assert jobs.refresh_s(following=30) == jobs.REFRESH_S
    for k, v in CLASS.environ().items():
        monkeypatch.setenv(k, v)
    lo, hi = jobs.CLASS_REFRESH_S
    every = [jobs.refresh_s(following=n) for n in (1, 5, 10, 20, 30, 100)]
    assert every == sorted(every) and every[0] == lo and every[-1] == hi
    for n, s in zip((1, 5, 10, 20, 30, 100), every):  # their refreshes' share, where the bounds allow it
        assert n * jobs.REFRESH_COST_S / s <= jobs.REFRESH_SHARE + 1e-9 or s == hi
    monkeypatch.setattr(jobs, "_FOLLOWING", {"a": 0.0})  # a session seen long ago no longer counts
    assert jobs.refresh_s() == lo


def test_a_class_server_imports_what_prune_needs_before_the_students_arrive(monkeypatch):
    """`ui.warmup`: the local app imports torch in the background; a class server also torch-pruning and
    onnxruntime (2.3 s of the one Python thread at the first *Prune* otherwise, every session waiting); then
    what was imported is frozen out of the garbage collector's full collections."""
    import importlib

    from ui import warmup

    import gc

    seen: list[str] = []
    monkeypatch.setattr(importlib, "import_module", seen.append)
    monkeypatch.setattr(gc, "freeze", lambda: seen.append("gc.freeze"))  # not this test process's objects
    monkeypatch.delenv(ENV_JOIN, raising=False)
    warmup._run()
    assert seen == [*warmup.MODULES, "gc.freeze"]  # what was imported, then out of the collector's view
    seen.clear()
    monkeypatch.setenv(ENV_JOIN, "maple-42")
    warmup._run()
    assert seen == [*warmup.MODULES, "torch_pruning", "onnxruntime", "gc.freeze"]
