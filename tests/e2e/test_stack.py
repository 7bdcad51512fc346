"""The lab stack as an operator runs it (scripts/stack.sh, ``make up``/``make down``).

One test starts the whole stack in a temporary directory — PostgreSQL, moto's S3 server, a
Prefect server, a process work pool with one worker, ``qgov serve`` — submits an ingest that
the worker runs against PostgreSQL and the S3 store, follows it to the end, checks the result
through the command line, the HTTP API, the object store and ``qgov audit verify --blobs``,
and stops everything by its recorded PID in a ``finally``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import QGOV

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "scripts" / "stack.sh"
PLAINTEXT = b"qubit,t1_us\n0,112.4\n1,95.2\n"
FORGE = """\
import sys
from flows.submit import submit
home, path, pool = sys.argv[1:]
params = {"home": home, "principal": "mallory", "path": path, "dataset": "calib"}
print(submit("qgov-ingest", pool, params))
"""

pytestmark = pytest.mark.skipif(not shutil.which("setsid"), reason="scripts/stack.sh needs util-linux's setsid")


def _exports(path: Path) -> dict[str, str]:
    """The variables an ``export K='V'`` file sets (stack.env, client.env)."""
    found = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            key, value = line.removeprefix("export ").split("=", 1)
            found[key] = value.strip("'")
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of the processes that name ``text`` (the stack's directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(f"{entry.name} {cmdline}")
    return found


def _qgov(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QGOV, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def _logs(stack: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(stack.glob("logs/*.log")))


@pytest.mark.slow
def test_a_worker_of_the_lab_stack_ingests_into_postgresql_and_s3() -> None:
    stack = Path(tempfile.mkdtemp(prefix="qgov-stack-"))  # not under pytest's 0700 tree: 'postgres' must reach it
    base = {k: v for k, v in os.environ.items() if not k.startswith(("QGOV_", "PREFECT_", "AWS_"))}
    base |= {"QGOV_PYTHON": sys.executable, "PYTHONPATH": str(REPO), "QGOV_STACK_ADMIN": "ada"}
    pids: dict[str, int] = {}
    try:
        up = subprocess.run(
            ["bash", str(STACK), "up", str(stack)], env=base, capture_output=True, text=True, timeout=900
        )
        pids = {p.name: int(p.read_text()) for p in (stack / "pids").glob("*")}
        assert up.returncode == 0, up.stderr + _logs(stack)
        assert set(pids) == {"postgres", "moto", "prefect-server", "prefect-worker", "qgov-serve"}
        assert (stack / "stack.env").stat().st_mode & 0o077 == 0  # it names the database and S3 keys
        env = base | _exports(stack / "stack.env")
        assert env["QGOV_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["QGOV_STORAGE_URL"].startswith("s3://") and env["QGOV_WORK_POOL"] == "qgov-lab"

        assert _qgov(env, "dataset", "register", "calib", "--subject-type", "none").returncode == 0
        data = stack / "data"
        data.mkdir()
        (data / "calibration.csv").write_bytes(PLAINTEXT)
        submitted = _qgov(env, "ingest", str(data), "-d", "calib", "--json")
        assert submitted.returncode == 0, submitted.stderr
        run_id = json.loads(submitted.stdout)["run_id"]

        followed = _qgov(env, "runs", "show", run_id[:8], "--wait", "--json")
        assert followed.returncode == 0, followed.stdout + followed.stderr + _logs(stack)
        status = json.loads(followed.stdout)
        assert (status["id"], status["flow"], status["state"]) == (run_id, "qgov-ingest", "Completed")
        assert status["deployment"] == "qgov-lab" and status["tasks_done"] == status["tasks_total"] > 0

        listed = _qgov(env, "artifact", "list", "--dataset", "calib", "--json")
        assert listed.returncode == 0, listed.stderr
        (artifact,) = json.loads(listed.stdout)["artifacts"]
        assert artifact["path"] == "calibration.csv" and artifact["size"] == len(PLAINTEXT)

        client = _exports(stack / "client.env")  # the API that qgov serve answers
        request = urllib.request.Request(
            f"{client['QGOV_URL']}/api/v1/artifacts/{artifact['id']}",
            headers={"Authorization": f"Bearer {client['QGOV_TOKEN']}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)["sha256"] == artifact["sha256"]

        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="qgov", Prefix="store/").get("Contents", [])]
        stored = [k for k in keys if k.endswith(artifact["sha256"])]
        assert stored, keys  # the worker wrote the object to S3, not to a local directory
        assert PLAINTEXT not in s3.get_object(Bucket="qgov", Key=stored[0])["Body"].read()
        assert not (Path(env["QGOV_HOME"]) / "blobs").exists()

        verified = _qgov(env, "audit", "verify", "--blobs")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "objects intact: 1 decrypted and re-hashed" in verified.stdout

        # A run submitted straight to Prefect for someone qgov does not know: the worker checks
        # the capability table itself, so the run fails and nothing is ingested.
        forged = subprocess.run(
            [sys.executable, "-c", FORGE, env["QGOV_HOME"], str(data), env["QGOV_WORK_POOL"]],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        refused = _qgov(env, "runs", "show", forged.stdout.strip(), "--wait")
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "Failed" in refused.stdout and "mallory" in refused.stdout, refused.stdout
        assert len(json.loads(_qgov(env, "artifact", "list", "--json").stdout)["artifacts"]) == 1
    finally:
        down = subprocess.run(["bash", str(STACK), "down", str(stack)], env=base, capture_output=True, text=True)
        left = {name: pid for name, pid in pids.items() if _alive(pid)}
        for pid in left.values():  # only what this stack started, by its PID
            os.kill(pid, signal.SIGKILL)
        stray = _processes_mentioning(str(stack))
        shutil.rmtree(stack, ignore_errors=True)
    assert down.returncode == 0, down.stderr
    assert not left, f"still running after 'stack.sh down': {left}"
    assert not stray, f"processes of the stack left behind: {stray}"


@pytest.fixture
def pool_store(cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A store with a dataset and a folder to ingest, the command line in embedded mode."""
    assert cli("init", "--name", "alice").returncode == 0
    assert cli("dataset", "register", "calib", "--subject-type", "none").returncode == 0
    data = tmp_path / "data"
    data.mkdir()
    (data / "calibration.csv").write_bytes(PLAINTEXT)
    return data


MISCONFIGURED = {
    "no Prefect server": ({"QGOV_WORK_POOL": "qgov-lab", "PREFECT_API_URL": ""}, (), "PREFECT_API_URL: not set"),
    "no such deployment": (
        {"QGOV_WORK_POOL": "nosuch-pool"},
        (),
        "QGOV_WORK_POOL=nosuch-pool: no deployment qgov-ingest/nosuch-pool on http",
    ),
    "--as with a pool": (
        {"QGOV_WORK_POOL": "qgov-lab"},
        ("--as", "alice"),
        "--as alice: not available with QGOV_WORK_POOL",
    ),
}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case", MISCONFIGURED.values(), ids=MISCONFIGURED.keys())
def test_a_submission_that_cannot_reach_a_worker_is_one_line_and_ingests_nothing(
    cli,  # type: ignore[no-untyped-def]
    pool_store: Path,
    case: tuple[dict[str, str], tuple[str, ...], str],
) -> None:
    extra, prefix, message = case
    done = cli(*prefix, "ingest", str(pool_store), "-d", "calib", extra_env=extra)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in done.stderr, done.stderr
    listed = cli("artifact", "list", "--dataset", "calib", "--json")
    assert json.loads(listed.stdout)["artifacts"] == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_runs_show_names_a_run_prefix_that_matches_nothing(cli, pool_store: Path) -> None:  # type: ignore[no-untyped-def]
    done = cli("runs", "show", "ffffffff", "--json")
    assert done.returncode == 4, done.stdout + done.stderr
    assert json.loads(done.stdout)["error"]["message"] == "run ffffffff: no such flow run"
    bad = cli("runs", "show", "xyz!")
    assert bad.returncode == 2 and "expected a flow run id or a unique prefix" in bad.stderr
