"""Ingest benchmark: qgov against native baselines on the same files, in one run.

    .venv/bin/python benchmarks/ingest.py            # full: 1 GiB file, 10,000 x 1 KiB, 3 repeats
    .venv/bin/python benchmarks/ingest.py --quick    # smoke test: 64 MiB, 1,000 files, 1 repeat

Prints exactly one JSON document on stdout; progress goes to stderr.

A. one big file of random bytes
   native: ``openssl dgst -sha256`` + ``openssl enc -aes-256-ctr`` (subprocesses), and the
           same followed by an fsync of openssl's output (like for like: qgov fsyncs a blob);
   qgov:   ``ingest_flow`` in-process, timed around the call, after a warm-up flow run
           (Prefect's one-off start-up is reported on its own);
   peak RSS of a separate process that ingests the big file.
B. many small files (100 subdirectories)
   native: ``dvc add DIR`` in a fresh git + DVC repository, and the same followed by
           syncfs(2) of its filesystem (like for like: qgov makes many blobs durable with
           syncfs, see ``storage.backends``);
   qgov:   ``ingest_flow`` in-process, as in A.
C. the ``qgov ingest … --json`` command line end to end (interpreter, imports, Prefect's
   ephemeral server) on the tree of B and on the file of A.

Process layout (so that everything is cleaned up, even on failure):

* the main process generates the files, runs C and the peak-RSS child, and owns the
  scratch directory; it never imports Prefect;
* ``--worker`` runs A and B: the native baselines as subprocesses and qgov in-process,
  alternating; it exits normally so Prefect stops its ephemeral server at exit;
* ``--child-ingest`` ingests one path into an existing store and reports its peak RSS.
  It is started through a tiny launcher process because Linux carries a process's
  ``ru_maxrss`` across fork+exec: a child started straight from a big parent would
  report the parent's peak, not its own.

Every child runs in its own session; after it exits the main process makes sure no
process of that session is left (Prefect's server is a grandchild), and on failure it
ends them. The scratch directory is removed in a ``finally``.

Ratios are reported both ways (against the baseline as it is, and against the baseline
made as durable as qgov's output); the targets are judged like for like. Every timed run
records the load average before it: the machine may be shared, read the figures with it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 8 << 20
SMALL_FILE_BYTES = 1024
SMALL_SUBDIRS = 100
DATASET = "bench"
USER = "bench"
TARGET_BIG_RATIO = 1.3
TARGET_PEAK_RSS_MIB = 256
TARGET_SMALL_RATIO = 1.0
BENCH_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "DVC_NO_ANALYTICS": "1",
}
# Start a command as a grandchild so that its ru_maxrss starts from a small process.
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"


def note(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _ensure_importable() -> None:
    # Run as a script, this file's folder comes first on sys.path, and benchmarks/lineage.py
    # would shadow the ``lineage`` package: the repository root goes first instead.
    here = Path(__file__).resolve().parent
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if p and Path(p).resolve() not in (here, ROOT)]


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _r(value: float, digits: int = 4) -> float:
    return round(value, digits)


# -- child processes -------------------------------------------------------------
_live: list[subprocess.Popen[bytes]] = []


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _end_group(proc: subprocess.Popen[bytes], grace: float = 10.0) -> list[str]:
    """Make sure nothing of ``proc``'s session (its pgid is its pid) is left running.

    Waits ``grace`` seconds for processes that are shutting down on their own (Prefect's
    server stops at interpreter exit), then sends SIGTERM, then SIGKILL.
    """
    actions: list[str] = []
    pgid = proc.pid
    if proc.poll() is None:
        actions.append("terminated")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + grace
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not _group_alive(pgid):
            break
        actions.append(f"left-over processes got {sig.name}")
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 5
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
    if proc in _live:
        _live.remove(proc)
    return actions


def run(
    cmd: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float,
    stdout: int | None = subprocess.PIPE,
    stderr: int | None = subprocess.PIPE,
    check: bool = True,
) -> tuple[float, str, str]:
    """Run ``cmd`` in its own session; return (wall seconds, stdout, stderr)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=stdout, stderr=stderr, start_new_session=True)
    _live.append(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
        elapsed = time.perf_counter() - started
    except BaseException:
        _end_group(proc, grace=0)
        raise
    leftovers = _end_group(proc)
    if leftovers:
        note(f"{Path(cmd[0]).name}: {', '.join(leftovers)}")
    out_s = out.decode(errors="replace") if out else ""
    err_s = err.decode(errors="replace") if err else ""
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"command failed (exit {proc.returncode}): {' '.join(map(str, cmd))}\n--- stderr tail ---\n{err_s[-3000:]}"
            f"\n--- stdout tail ---\n{out_s[-1500:]}"
        )
    return elapsed, out_s, err_s


# -- files --------------------------------------------------------------------
def make_big_file(path: Path, mib: int) -> str:
    digest = hashlib.sha256()
    remaining = mib << 20
    with open(path, "wb") as handle:
        while remaining:
            chunk = os.urandom(min(CHUNK, remaining))
            digest.update(chunk)
            handle.write(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def make_small_tree(root: Path, count: int) -> int:
    for d in range(SMALL_SUBDIRS):
        (root / f"d{d:02d}").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (root / f"d{i % SMALL_SUBDIRS:02d}" / f"f{i:06d}.bin").write_bytes(os.urandom(SMALL_FILE_BYTES))
    return count * SMALL_FILE_BYTES


def warm(path: Path) -> None:
    """Read a file or every file of a tree once, so timed runs start from a warm page cache."""
    buffer = bytearray(CHUNK)
    files = [path] if path.is_file() else [Path(d) / f for d, _, fs in os.walk(path) for f in fs]
    for name in files:
        with open(name, "rb", buffering=0) as handle:
            while handle.readinto(buffer):
                pass


def _load1() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def settle() -> None:
    """Write back dirty pages of earlier steps so they do not land in the next timed run."""
    os.sync()


def tool_path(name: str) -> list[str]:
    candidate = ROOT / ".venv" / "bin" / name
    if candidate.exists():
        return [str(candidate)]
    sibling = Path(sys.executable).parent / name
    if sibling.exists():
        return [str(sibling)]
    module = {"dvc": "dvc", "qgov": "governance.cli.main"}[name]
    return [sys.executable, "-m", module]


# -- in-process qgov (worker and child) ----------------------------------------------
def make_store(home: Path) -> Any:
    """A fresh store with a key, an admin and the benchmark dataset; returns its Settings."""
    _ensure_importable()
    from governance.app import App
    from governance.catalog import DatasetSpec, grant_initial_admin, register_dataset
    from governance.config import load_settings
    from governance.keys import create_key_file

    settings = load_settings({"QGOV_HOME": str(home)}).model_copy(update={"user": USER})
    app = App(settings)
    try:
        create_key_file(app)
        grant_initial_admin(app)
        register_dataset(app, DatasetSpec(name=DATASET, owner=USER))
    finally:
        app.close()
    return settings


def timed_flow(settings: Any, path: Path) -> tuple[float, Any]:
    """The flow's own wall time, measured around the ``ingest_flow`` call only."""
    from flows.ingest import ingest_flow
    from flows.runtime import flow_settings
    from flows.session import flow_args

    with flow_settings():
        started = time.perf_counter()
        report = ingest_flow(*flow_args(settings), str(path), DATASET)
        elapsed = time.perf_counter() - started
    if report.failed or report.quarantined:
        raise RuntimeError(f"ingest of {path}: failed={report.failed[:3]} quarantined={report.quarantined[:3]}")
    return elapsed, report


def forget_apps() -> None:
    """Close the per-settings App the flow cached (its store is about to be deleted)."""
    from flows import session

    apps = getattr(session, "_apps", None)
    if isinstance(apps, dict):
        for app in apps.values():
            app.close()
        apps.clear()


def _vmhwm_kib() -> int | None:
    try:
        match = re.search(r"VmHWM:\s+(\d+)\s+kB", Path("/proc/self/status").read_text())
    except OSError:
        return None
    return int(match.group(1)) if match else None


# -- worker: A and B, qgov in-process ---------------------------------------------------
def worker_main(config_path: Path) -> None:
    cfg = json.loads(config_path.read_text())
    scratch = Path(cfg["scratch"])
    big, tiny, tree = Path(cfg["big"]), Path(cfg["tiny"]), Path(cfg["tree"])
    repeat, timeout = cfg["repeat"], cfg["timeout"]
    result: dict[str, Any] = {}
    _ensure_importable()

    from flows.runtime import configure_prefect

    configure_prefect(scratch)  # PREFECT_HOME is already set (scratch/prefect-worker); this fills in the rest
    started = time.perf_counter()
    import flows.ingest  # noqa: F401 - imports Prefect: timed as part of its start-up

    import_s = time.perf_counter() - started

    note("worker: warm-up flow run on a tiny file (starts Prefect's ephemeral server)")
    home = scratch / "w-warmup"
    settings = make_store(home)
    first_s, _ = timed_flow(settings, tiny)
    second_s, _ = timed_flow(settings, tiny)  # unchanged: the flow's fixed overhead
    forget_apps()
    shutil.rmtree(home)
    result["prefect_startup"] = {
        "import_flows_ingest_s": _r(import_s),
        "first_flow_run_s": _r(first_s),
        "second_flow_run_s": _r(second_s),
        "note": "first_flow_run_s is the warm-up: a 1 KiB file into a fresh store, including the start of "
        "Prefect's ephemeral server and the creation of its database in a fresh PREFECT_HOME; "
        "second_flow_run_s is the same file again (already ingested, so nothing is written): "
        "a flow run's fixed cost once Prefect is up. Excluded from the qgov timings below.",
    }

    # A: big file ------------------------------------------------------------
    openssl_runs: list[dict[str, float]] = []
    qgov_big: list[float] = []
    qgov_big_load: list[float | None] = []
    qgov_big_cpu: list[float] = []
    dgst_cmd = ["openssl", "dgst", "-sha256", str(big)]
    for i in range(repeat):
        outdir = scratch / f"a-native-{i}"
        outdir.mkdir()
        out = outdir / "big.enc"
        enc_cmd = [
            "openssl",
            "enc",
            "-aes-256-ctr",
            "-K",
            secrets.token_hex(32),
            "-iv",
            secrets.token_hex(16),
            "-in",
            str(big),
            "-out",
            str(out),
        ]
        warm(big)
        settle()
        load = _load1()
        cpu_before = _children_cpu()
        dgst_s, dgst_out, _ = run(dgst_cmd, timeout=timeout)
        enc_s, _, _ = run(enc_cmd, timeout=timeout)
        native_cpu = _children_cpu() - cpu_before
        if cfg["big_sha256"] not in dgst_out or out.stat().st_size != big.stat().st_size:
            raise RuntimeError(f"openssl baseline produced unexpected output: {dgst_out!r}, {out.stat().st_size} bytes")
        fsync_started = time.perf_counter()
        fd = os.open(out, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_s = time.perf_counter() - fsync_started
        shutil.rmtree(outdir)
        openssl_runs.append(
            {
                "dgst_s": _r(dgst_s),
                "enc_s": _r(enc_s),
                "sum_s": _r(dgst_s + enc_s),
                "fsync_output_s": _r(fsync_s),
                "sum_fsync_s": _r(dgst_s + enc_s + fsync_s),
                "cpu_s": _r(native_cpu),
                "load1_before": load,
            }
        )
        note(f"A native  run {i + 1}/{repeat}: dgst {dgst_s:.3f} s + enc {enc_s:.3f} s = {dgst_s + enc_s:.3f} s")

        home = scratch / f"a-qgov-{i}"
        settings = make_store(home)
        warm(big)
        settle()
        qgov_big_load.append(_load1())
        cpu_started = time.process_time()
        flow_s, report = timed_flow(settings, big)
        qgov_big_cpu.append(_r(time.process_time() - cpu_started))
        if report.ingested != 1 or report.artifacts[0]["sha256"] != cfg["big_sha256"]:
            raise RuntimeError(f"qgov ingest of the big file: unexpected report {report}")
        forget_apps()
        shutil.rmtree(home)
        qgov_big.append(_r(flow_s))
        note(f"A qgov    run {i + 1}/{repeat}: {flow_s:.3f} s")
    result["big_native"] = {
        "commands": [
            "openssl dgst -sha256 FILE",
            "openssl enc -aes-256-ctr -K <64 hex> -iv <32 hex> -in FILE -out OUTFILE",
        ],
        "runs": openssl_runs,
        "median_dgst_s": _r(_median([r["dgst_s"] for r in openssl_runs])),
        "median_enc_s": _r(_median([r["enc_s"] for r in openssl_runs])),
        "median_s": _r(_median([r["sum_s"] for r in openssl_runs])),
        "median_fsync_s": _r(_median([r["sum_fsync_s"] for r in openssl_runs])),
        "median_cpu_s": _r(_median([r["cpu_s"] for r in openssl_runs])),
        "note": "median_s is the median of dgst+enc per run (output not made durable); median_fsync_s adds "
        "os.fsync of openssl's output right after enc (like 'openssl enc ... -out F && sync F'), "
        "as qgov fsyncs the blob it writes",
    }
    result["big_qgov"] = {
        "runs_s": qgov_big,
        "median_s": _r(_median(qgov_big)),
        "load1_before": qgov_big_load,
        "cpu_s": qgov_big_cpu,
        "median_cpu_s": _r(_median(qgov_big_cpu)),
        "cpu_note": "time.process_time() of the worker around the flow (all its threads); the Prefect "
        "server's own CPU is not counted",
    }

    # B: small files -------------------------------------------------------------
    dvc = cfg["dvc"]
    from storage.backends import _syncfs  # the same syscall qgov's publish uses

    dvc_runs: list[float] = []
    dvc_sync_runs: list[float] = []
    dvc_load: list[float | None] = []
    dvc_cpu: list[float] = []
    qgov_small_cpu: list[float] = []
    qgov_small: list[float] = []
    qgov_small_load: list[float | None] = []
    n_small = cfg["small_files"]
    for i in range(repeat):
        repo = scratch / f"b-dvc-{i}"
        repo.mkdir()
        run(["git", "init", "-q"], cwd=repo, timeout=timeout)
        run([*dvc, "init", "-q"], cwd=repo, timeout=timeout)
        shutil.copytree(tree, repo / "data")
        warm(repo / "data")
        settle()
        dvc_load.append(_load1())
        cpu_before = _children_cpu()
        dvc_s, _, _ = run([*dvc, "add", "-q", "data"], cwd=repo, timeout=timeout)
        dvc_cpu.append(_r(_children_cpu() - cpu_before))
        sync_started = time.perf_counter()
        if not _syncfs(repo):
            os.sync()
        sync_s = time.perf_counter() - sync_started
        pointer = (repo / "data.dvc").read_text()
        match = re.search(r"nfiles:\s*(\d+)", pointer)
        if not match or int(match.group(1)) != n_small:
            raise RuntimeError(f"dvc add: unexpected data.dvc:\n{pointer}")
        shutil.rmtree(repo)
        dvc_runs.append(_r(dvc_s))
        dvc_sync_runs.append(_r(dvc_s + sync_s))
        note(f"B dvc add run {i + 1}/{repeat}: {dvc_s:.3f} s (+ syncfs {sync_s:.3f} s)")

        home = scratch / f"b-qgov-{i}"
        settings = make_store(home)
        warm(tree)
        settle()
        qgov_small_load.append(_load1())
        cpu_started = time.process_time()
        flow_s, report = timed_flow(settings, tree)
        qgov_small_cpu.append(_r(time.process_time() - cpu_started))
        if report.ingested != n_small:
            raise RuntimeError(f"qgov ingest of the tree: {report.ingested} of {n_small} files ingested")
        forget_apps()
        shutil.rmtree(home)
        qgov_small.append(_r(flow_s))
        note(f"B qgov    run {i + 1}/{repeat}: {flow_s:.3f} s")
    result["small_dvc"] = {
        "command": "dvc add -q DIR (fresh git init + dvc init repository holding a copy of DIR)",
        "runs_s": dvc_runs,
        "median_s": _r(_median(dvc_runs)),
        "runs_syncfs_s": dvc_sync_runs,
        "median_syncfs_s": _r(_median(dvc_sync_runs)),
        "load1_before": dvc_load,
        "cpu_s": dvc_cpu,
        "median_cpu_s": _r(_median(dvc_cpu)),
        "note": "median_syncfs_s adds syncfs(2) of the repository's filesystem right after 'dvc add' "
        "(dvc does not fsync; qgov makes its blobs durable with syncfs when it publishes many)",
    }
    result["small_qgov"] = {
        "runs_s": qgov_small,
        "median_s": _r(_median(qgov_small)),
        "load1_before": qgov_small_load,
        "cpu_s": qgov_small_cpu,
        "median_cpu_s": _r(_median(qgov_small_cpu)),
    }
    result["big_sha256"] = cfg["big_sha256"]
    Path(cfg["out"]).write_text(json.dumps(result))
    note("worker: done")


# -- child: one ingest in a process of its own, for its peak RSS -----------------------
def child_main(args: argparse.Namespace) -> None:
    _ensure_importable()
    from flows.runtime import configure_prefect
    from governance.config import load_settings

    settings = load_settings({"QGOV_HOME": args.home}).model_copy(update={"user": USER})
    configure_prefect(settings.home)
    import flows.ingest  # noqa: F401

    warmup_s = None
    if args.warmup:
        warmup_s, _ = timed_flow(settings, Path(args.warmup))
    hwm_before = _vmhwm_kib()
    flow_s, report = timed_flow(settings, Path(args.child_ingest))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    doc = {
        "ru_maxrss_kib": usage.ru_maxrss,
        "vmhwm_kib": _vmhwm_kib(),
        "vmhwm_before_big_ingest_kib": hwm_before,
        "warmup_flow_s": warmup_s,
        "flow_s": flow_s,
        "ingested": report.ingested,
        "bytes_ingested": report.bytes_ingested,
    }
    Path(args.out).write_text(json.dumps(doc))


# -- main: generate, run worker, RSS child and CLI, report ------------------------------
def cli_env(scratch: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QGOV_")}
    env.update(QGOV_HOME=str(home), PREFECT_HOME=str(scratch / "prefect-cli"))
    return env


def cli_store(qgov: list[str], scratch: Path, home: Path, timeout: float) -> dict[str, float]:
    env = cli_env(scratch, home)
    init_s, _, _ = run([*qgov, "init", "--name", USER, "--json"], env=env, timeout=timeout)
    register_s, _, _ = run([*qgov, "dataset", "register", DATASET, "--json"], env=env, timeout=timeout)
    return {"init_s": _r(init_s), "register_s": _r(register_s)}


def cli_ingest(
    qgov: list[str], scratch: Path, home: Path, path: Path, expect: int, timeout: float
) -> tuple[float, str]:
    cmd = [*qgov, "ingest", str(path), "-d", DATASET, "--json"]
    warm(path)
    settle()
    wall_s, out, _ = run(cmd, env=cli_env(scratch, home), timeout=timeout)
    doc = json.loads(out)
    if doc.get("ingested") != expect or doc.get("failed") or doc.get("quarantined"):
        raise RuntimeError(
            f"qgov ingest {path}: ingested {doc.get('ingested')} of {expect}, failed {doc.get('failed')}"
        )
    return wall_s, " ".join(["qgov", "ingest", "PATH", "-d", DATASET, "--json"])


def environment_facts(scratch_parent: Path) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    def pkg(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    openssl = subprocess.run(["openssl", "version"], capture_output=True, text=True, check=False).stdout.strip()
    try:
        mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        mem_mib = int(mem.group(1)) // 1024 if mem else None
    except OSError:
        mem_mib = None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_mib": mem_mib,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "openssl": openssl,
        "dvc": pkg("dvc"),
        "prefect": pkg("prefect"),
        "tink": pkg("tink"),
        "qgov": pkg("qgov"),
        "scratch_parent": str(scratch_parent),
        "loadavg_at_start": _loadavg(),
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def orchestrate(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    big_mib, n_small, repeat, timeout = args.big_mib, args.small_files, args.repeat, args.timeout
    run_started = time.perf_counter()
    facts = environment_facts(scratch.parent)
    qgov, dvc = tool_path("qgov"), tool_path("dvc")
    facts["qgov_command"], facts["dvc_command"] = qgov, dvc

    data = scratch / "data"
    data.mkdir()
    big, tiny, tree = data / "big.bin", data / "tiny" / "tiny.bin", data / "tree"
    tiny.parent.mkdir()
    tiny.write_bytes(os.urandom(SMALL_FILE_BYTES))
    note(f"generating {big_mib} MiB of random bytes in {big}")
    big_sha = make_big_file(big, big_mib)
    note(f"generating {n_small} files of {SMALL_FILE_BYTES} B in {SMALL_SUBDIRS} subdirectories")
    make_small_tree(tree, n_small)
    settle()

    # A + B in the worker -------------------------------------------------------------
    config = {
        "scratch": str(scratch),
        "big": str(big),
        "big_sha256": big_sha,
        "tiny": str(tiny),
        "tree": str(tree),
        "small_files": n_small,
        "repeat": repeat,
        "timeout": timeout,
        "dvc": dvc,
        "out": str(scratch / "worker-result.json"),
    }
    config_path = scratch / "worker-config.json"
    config_path.write_text(json.dumps(config))
    worker_env = dict(os.environ, PREFECT_HOME=str(scratch / "prefect-worker"))
    note("starting the worker (A and B: native baselines and in-process qgov, alternating)")
    run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(config_path)],
        env=worker_env,
        timeout=timeout * 4,
        stdout=sys.stderr.fileno(),
        stderr=None,
    )
    worker = json.loads(Path(config["out"]).read_text())

    if args.skip_cli:
        return _report(args, facts, worker, None, None, run_started)

    # A: peak RSS of a process ingesting the big file --------------------------------
    note("peak RSS: ingesting the big file in a process of its own")
    rss_home = scratch / "rss-home"
    cli_store(qgov, scratch, rss_home, timeout)
    rss_out = scratch / "rss.json"
    child_env = dict(cli_env(scratch, rss_home), PREFECT_HOME=str(scratch / "prefect-child"))
    warm(big)
    settle()
    run(
        [
            sys.executable,
            "-c",
            LAUNCHER,
            sys.executable,
            str(Path(__file__).resolve()),
            "--child-ingest",
            str(big),
            "--home",
            str(rss_home),
            "--warmup",
            str(tiny),
            "--out",
            str(rss_out),
        ],
        env=child_env,
        timeout=timeout,
        stdout=sys.stderr.fileno(),
        stderr=None,
    )
    rss = json.loads(rss_out.read_text())
    if rss["ingested"] != 1:
        raise RuntimeError(f"peak-RSS child: unexpected result {rss}")
    shutil.rmtree(rss_home)

    # C: command line end to end --------------------------------------------------------
    note("CLI: first run on a tiny file (creates the Prefect database used by the CLI runs)")
    warm_home = scratch / "c-warmup"
    cli_store(qgov, scratch, warm_home, timeout)
    cli_first_s, _ = cli_ingest(qgov, scratch, warm_home, tiny, 1, timeout)
    cli_fixed_s, _ = cli_ingest(qgov, scratch, warm_home, tiny, 0, timeout)  # already ingested: fixed cost
    shutil.rmtree(warm_home)

    note("CLI: qgov ingest of the small-file tree")
    home = scratch / "c-small"
    small_store = cli_store(qgov, scratch, home, timeout)
    cli_small_s, cli_cmd = cli_ingest(qgov, scratch, home, tree, n_small, timeout)
    shutil.rmtree(home)
    note(f"CLI small files: {cli_small_s:.3f} s")

    note("CLI: qgov ingest of the big file")
    home = scratch / "c-big"
    big_store = cli_store(qgov, scratch, home, timeout)
    cli_big_s, _ = cli_ingest(qgov, scratch, home, big, 1, timeout)
    shutil.rmtree(home)
    note(f"CLI big file: {cli_big_s:.3f} s")

    cli = {
        "command": cli_cmd,
        "note": "wall time of the subprocess: interpreter start, imports, Prefect's ephemeral server start, "
        "the flow, and exit; fresh store per run (made by 'qgov init' and 'qgov dataset register', "
        "not timed in wall_s); the CLI's Prefect database was created by one earlier run (first_run_tiny_file_s)",
        "first_run_tiny_file_s": _r(cli_first_s),
        "fixed_cost_s": _r(cli_fixed_s),
        "fixed_cost_note": "the same 1 KiB file again into the same store (already ingested, nothing written): "
        "interpreter, imports, Prefect's ephemeral server start and a flow run that does no work",
        "small_files": {"wall_s": _r(cli_small_s), "files": n_small, "store_setup": small_store},
        "big_file": {"wall_s": _r(cli_big_s), "mib": big_mib, "store_setup": big_store},
    }
    return _report(args, facts, worker, rss, cli, run_started)


def _report(
    args: argparse.Namespace,
    facts: dict[str, Any],
    worker: dict[str, Any],
    rss: dict[str, Any] | None,
    cli: dict[str, Any] | None,
    run_started: float,
) -> dict[str, Any]:
    big_mib, n_small, repeat = args.big_mib, args.small_files, args.repeat
    peak_mib = rss["ru_maxrss_kib"] / 1024 if rss else None
    native_big = worker["big_native"]
    qgov_big = worker["big_qgov"]
    big_ratio_bare = qgov_big["median_s"] / native_big["median_s"]
    big_ratio = qgov_big["median_s"] / native_big["median_fsync_s"]  # like for like: both durable
    small_ratio_bare = worker["small_qgov"]["median_s"] / worker["small_dvc"]["median_s"]
    small_ratio = worker["small_qgov"]["median_s"] / worker["small_dvc"]["median_syncfs_s"]
    big_bytes = big_mib << 20
    return {
        "benchmark": "qgov ingest against native baselines",
        "command": " ".join([Path(sys.executable).name, "benchmarks/ingest.py", *sys.argv[1:]]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "repeat": repeat,
        "cache": "warm",
        "environment": facts,
        "files": {
            "big": {
                "bytes": big_bytes,
                "mib": big_mib,
                "sha256": worker["big_sha256"],
                "content": "random bytes (os.urandom), written in 8 MiB chunks",
            },
            "small": {
                "count": n_small,
                "bytes_each": SMALL_FILE_BYTES,
                "total_bytes": n_small * SMALL_FILE_BYTES,
                "subdirectories": SMALL_SUBDIRS,
                "names": "dNN/fNNNNNN.bin",
                "content": "random bytes (every file distinct)",
            },
        },
        "method": [
            "cache warm: every input is read once before each timed run (dropping the page cache is not possible here)",
            "os.sync() before each timed run so earlier writes are not flushed during it",
            "each qgov measurement uses a fresh QGOV_HOME (sqlite database and blob directory) under the "
            "scratch directory; the native outputs go to the same filesystem",
            "qgov in-process times are the wall time around ingest_flow(...) only, inside "
            "flows.runtime.flow_settings() (no heartbeats), after a warm-up flow run in the same process; "
            "they include the flow building its App "
            "(engine, schema check) for the fresh store",
            "baseline and qgov runs alternate (baseline first) in each repeat; medians are reported",
            "qgov fsyncs every blob and the directories it publishes into (syncfs when it publishes many); "
            "openssl and dvc add do not, so each baseline is also timed followed by an fsync of openssl's "
            "output / a syncfs after dvc add: 'ratio' is like for like (durable against durable, the target), "
            "'ratio_vs_not_durable' against the bare baseline",
            "load1_before: the 1-minute load average just before each timed run (the machine may be shared)",
        ],
        "prefect_startup": worker["prefect_startup"],
        "big_file": {
            "native": native_big,
            "qgov": qgov_big,
            "throughput_mib_s": {
                "native": _r(big_mib / native_big["median_s"], 1),
                "qgov": _r(big_mib / qgov_big["median_s"], 1),
            },
            "ratio": _r(big_ratio, 3),
            "ratio_vs_not_durable": _r(big_ratio_bare, 3),
            "cpu_ratio": _r(qgov_big["median_cpu_s"] / native_big["median_cpu_s"], 3),
            "target_ratio": TARGET_BIG_RATIO,
            "meets_target": big_ratio <= TARGET_BIG_RATIO,
            "peak_rss": None
            if rss is None or peak_mib is None
            else {
                "mib": _r(peak_mib, 1),
                "target_mib": TARGET_PEAK_RSS_MIB,
                "meets_target": peak_mib <= TARGET_PEAK_RSS_MIB,
                "source": "resource.getrusage(RUSAGE_SELF).ru_maxrss of a process that ingests the big file "
                "(started via a launcher so it does not inherit the parent's peak); Prefect's ephemeral server "
                "is a separate process and not counted",
                "vmhwm_mib": _r(rss["vmhwm_kib"] / 1024, 1) if rss["vmhwm_kib"] else None,
                "before_big_ingest_mib": _r(rss["vmhwm_before_big_ingest_kib"] / 1024, 1)
                if rss["vmhwm_before_big_ingest_kib"]
                else None,
                "child_flow_s": _r(rss["flow_s"]),
            },
        },
        "small_files": {
            "dvc": worker["small_dvc"],
            "qgov": worker["small_qgov"],
            "files_per_s": {
                "dvc": _r(n_small / worker["small_dvc"]["median_s"], 0),
                "qgov": _r(n_small / worker["small_qgov"]["median_s"], 0),
            },
            "ratio": _r(small_ratio, 3),
            "ratio_vs_not_durable": _r(small_ratio_bare, 3),
            "cpu_ratio": _r(worker["small_qgov"]["median_cpu_s"] / worker["small_dvc"]["median_cpu_s"], 3),
            "target_ratio": TARGET_SMALL_RATIO,
            "meets_target": small_ratio <= TARGET_SMALL_RATIO,
        },
        "cli": cli if cli is not None else "not run (--skip-cli)",
        "targets": {
            "big_file_ratio": {
                "value": _r(big_ratio, 3),
                "target": f"<= {TARGET_BIG_RATIO}",
                "met": big_ratio <= TARGET_BIG_RATIO,
            },
            "big_file_peak_rss_mib": "not measured (--skip-cli)"
            if peak_mib is None
            else {
                "value": _r(peak_mib, 1),
                "target": f"<= {TARGET_PEAK_RSS_MIB}",
                "met": peak_mib <= TARGET_PEAK_RSS_MIB,
            },
            "small_files_ratio": {
                "value": _r(small_ratio, 3),
                "target": f"<= {TARGET_SMALL_RATIO}",
                "met": small_ratio <= TARGET_SMALL_RATIO,
            },
        },
        "benchmark_wall_s": _r(time.perf_counter() - run_started, 1),
        "loadavg_at_end": _loadavg(),
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: 64 MiB, 1,000 small files, 1 repeat")
    parser.add_argument(
        "--big-mib", type=int, default=None, help="size of the big file in MiB (default 1024; 64 with --quick)"
    )
    parser.add_argument(
        "--small-files", type=int, default=None, help="number of 1 KiB files (default 10000; 1000 with --quick)"
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs of each A/B measurement (default 3; 1 with --quick)"
    )
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds any one subprocess may take (default 3600)"
    )
    parser.add_argument(
        "--scratch-parent", type=Path, default=Path(tempfile.gettempdir()), help="where the scratch directory is made"
    )
    parser.add_argument(
        "--skip-cli",
        action="store_true",
        help="run A and B only: no peak-RSS child, no command-line runs (each starts a Prefect server)",
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-ingest", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    args.big_mib = args.big_mib if args.big_mib is not None else (64 if quick else 1024)
    args.small_files = args.small_files if args.small_files is not None else (1000 if quick else 10000)
    args.repeat = args.repeat if args.repeat is not None else (1 if quick else 3)
    if args.big_mib < 1 or args.small_files < 1 or args.repeat < 1:
        parser.error("--big-mib, --small-files and --repeat must be at least 1")
    return args


def _on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        worker_main(args.worker)
        return 0
    if args.child_ingest:
        child_main(args)
        return 0

    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)
    for key in [k for k in os.environ if k.startswith("QGOV_")]:
        del os.environ[key]  # every store here is a fresh one under the scratch directory
    if os.environ.pop("PREFECT_API_URL", None):
        note("PREFECT_API_URL was set; unset for the benchmark (flows run on the local ephemeral server)")
    for tool in ("openssl", "git"):
        if shutil.which(tool) is None:
            print(f"benchmark needs {tool!r} on PATH", file=sys.stderr)
            return 2

    args.scratch_parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.scratch_parent).free
    need = (3 * args.big_mib << 20) + 8 * args.small_files * 4096 + (512 << 20)
    if free < need:
        print(
            f"benchmark needs about {need >> 20} MiB free in {args.scratch_parent}, found {free >> 20} MiB",
            file=sys.stderr,
        )
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="qgov-bench-", dir=args.scratch_parent))
    os.environ.update(BENCH_ENV)
    os.environ.update(
        PREFECT_HOME=str(scratch / "prefect"),
        DVC_SITE_CACHE_DIR=str(scratch / "dvc-site-cache"),
        DVC_GLOBAL_CONFIG_DIR=str(scratch / "dvc-global-config"),
        DVC_SYSTEM_CONFIG_DIR=str(scratch / "dvc-system-config"),
    )
    note(
        f"scratch directory {scratch}; big file {args.big_mib} MiB, "
        f"{args.small_files} small files, repeat {args.repeat}"
    )
    try:
        doc = orchestrate(args, scratch)
    finally:
        for proc in list(_live):
            _end_group(proc, grace=0)
        shutil.rmtree(scratch, ignore_errors=True)
        if scratch.exists():
            note(f"could not remove all of {scratch}")
        else:
            note(f"removed {scratch}")
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
