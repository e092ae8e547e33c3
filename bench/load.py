"""HTTP throughput of the REST list on gunicorn with 2 workers, under a load generator on
loopback.

The server: ``gunicorn --workers 2 run:app`` (sync workers: the brief's command), and
``--workers 2 --threads 4`` (gthread: what ``make run`` serves), with the production
settings (``APP_ENV=production``, a random ``SECRET_KEY``, ``DEMO_MODE=true`` so the demo
accounts keep their password, ``RATE_LIMIT_ENABLED=false``, ``REDIS_URL`` on database 5)
and the bench database. No access log.

The client: this process, asyncio with raw sockets (HTTP/1.1; a connection is kept while
the server keeps it, reopened when it closes it — sync workers close after each
response), ``BENCH_LOAD_CONCURRENCY`` connections each sending its next request as soon
as the last one is answered, for ``BENCH_LOAD_SECONDS`` after a 3-second warm-up. The
requests carry a JWT from ``POST /api/v1/security/login``. The generator shares the 2
cores with gunicorn and PostgreSQL: its own CPU time is reported with the machine's.
"""
from __future__ import annotations

import asyncio
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from bench.measure import p95
from bench.settings import ROOT

CONFIGS = (("sync", ["--workers", "2"]), ("gthread", ["--workers", "2", "--threads", "4"]))
#: a request not answered within this many seconds counts as an error (and the run goes on)
REQUEST_TIMEOUT = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [float(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU s, CPU s of its exited and waited-for children) of ``pid``."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def server_cpu(master: int) -> tuple[float, dict]:
    """CPU seconds used so far by gunicorn (``master``, its workers, and workers that have
    exited) and by PostgreSQL (the postmaster's children — backends and parallel workers,
    those running and those that have exited). Differences of two calls are the CPU the
    server used in between; PostgreSQL's share includes any other client of the server."""
    stats = {int(p): _stat(int(p)) for p in os.listdir("/proc") if p.isdigit()}
    stats = {pid: st for pid, st in stats.items() if st is not None}
    total, workers = 0.0, {}
    for pid, (parent, own, children) in stats.items():
        if pid == master:
            total += own + children
        elif parent == master:
            total += own
            workers[pid] = own
        elif _comm(pid) == "postgres":
            is_postmaster = _comm(parent) != "postgres"
            total += own + (children if is_postmaster else 0)
    return total, workers


def start(settings, args: list[str], port: int):
    env = {**os.environ, "DATABASE_URL": settings.url, "SECRET_KEY": secrets.token_hex(32),
           "APP_ENV": "production", "DEMO_MODE": "true", "RATE_LIMIT_ENABLED": "false",
           "REDIS_URL": settings.redis_url, "PYTHONUNBUFFERED": "1"}
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
    proc = subprocess.Popen([gunicorn, "-c", os.path.join(ROOT, "bench", "gunicorn_conf.py"), *args,
                             "--bind", f"127.0.0.1:{port}", "--timeout", "120", "run:app"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = log.name
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited: " + _tail(proc.log_path))
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login/")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.3)
    stop(proc)
    raise RuntimeError("gunicorn did not answer within 90 s")


def _tail(path: str, size: int = 20000) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - size))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _workers(master: int) -> list[int]:
    """The pids of the worker processes of the gunicorn master ``master``."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == master:
                        found.append(int(name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def thread_dump(proc) -> str:
    """The stacks of every thread of every worker (faulthandler, see bench/gunicorn_conf.py)."""
    import signal

    mark = os.path.getsize(proc.log_path)
    for pid in _workers(proc.pid):
        os.kill(pid, signal.SIGPWR)
    time.sleep(2)
    with open(proc.log_path, "rb") as fh:
        fh.seek(mark)
        return fh.read().decode("utf-8", "replace")[-30000:]


def stop(proc) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    try:
        os.remove(proc.log_path)
    except OSError:
        pass


def token(port: int, username: str, password: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/api/v1/security/login", body=json.dumps(
        {"username": username, "password": password, "provider": "db"}), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"API login answered {response.status}: {body[:300]!r}")
    return json.loads(body)["access_token"]


async def _exchange(reader, writer, request: bytes):
    """Send one request, read its response: (status, headers)."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers


async def _client(port: int, request: bytes, stop_at: float, record_from: float, latencies: list, errors: list,
                  warm: list):
    reader = writer = None
    while True:
        now = time.perf_counter()
        if now >= stop_at:
            break
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), REQUEST_TIMEOUT)
            started = time.perf_counter()
            status, headers = await asyncio.wait_for(_exchange(reader, writer, request), REQUEST_TIMEOUT)
            took = (time.perf_counter() - started) * 1000
            if started >= record_from:
                (latencies if status == 200 else errors).append(took if status == 200 else status)
            else:
                warm.append(took)
            if headers.get("connection", "").lower() == "close":
                writer.close()
                reader = writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as error:
            if time.perf_counter() >= record_from:
                errors.append(type(error).__name__)
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def generate(port: int, path: str, bearer: str, seconds: float, concurrency: int, warmup: float = 3.0,
             master: int | None = None) -> dict:
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {bearer}\r\n"
               f"Accept: application/json\r\nConnection: keep-alive\r\n\r\n").encode()
    latencies: list = []
    errors: list = []
    warm: list = []

    async def main():
        begin = time.perf_counter()
        await asyncio.gather(*[_client(port, request, begin + warmup + seconds, begin + warmup, latencies, errors,
                                       warm) for _ in range(concurrency)])

    cpu_before, process_before = _machine_cpu(), time.process_time()
    server_before, workers_before = server_cpu(master) if master else (0.0, {})
    wall_before = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - wall_before
    cpu_after, process_after = _machine_cpu(), time.process_time()
    server_after, workers_after = server_cpu(master) if master else (0.0, {})
    used = server_after - server_before
    split = sorted((round(workers_after[p] - workers_before[p], 1) for p in workers_after if p in workers_before),
                   reverse=True)
    total_requests = len(latencies) + len(errors) + len(warm)  # (the server's CPU covers the warm-up too)
    busy = (cpu_after[0] - cpu_before[0]) / max(1.0, cpu_after[1] - cpu_before[1])
    result = {"seconds": seconds, "concurrency": concurrency, "requests": len(latencies), "errors": len(errors),
              "error_kinds": sorted({str(e) for e in errors})[:5],
              "requests_per_s": round(len(latencies) / seconds, 1),
              "median_ms": round(statistics.median(latencies), 1) if latencies else None,
              "p95_ms": round(p95(latencies), 1) if latencies else None,
              "machine_cpu_busy_pct": round(100 * busy, 1),
              "server_cpu_pct_of_two_cores": round(100 * used / wall / 2, 1),
              "server_cpu_ms_per_request": round(1000 * used / max(1, total_requests), 1),
              "worker_cpu_s": split,
              "generator_cpu_pct_of_one_core": round(100 * (process_after - process_before) / wall, 1)}
    return result


def run(settings, ids: dict, log) -> list[dict]:
    from bench.pages import api_url

    endpoints = [
        ("residents", api_url("person", column="community", op="rel_o_m", value=ids["community"],
                              sort=("name", "asc"), n=20)),
        ("ledger", api_url("ledger_entry", column="community", op="rel_o_m", value=ids["community"],
                           sort=("at", "desc"), n=20)),
    ]
    results = []
    for name, args in CONFIGS:
        port = _free_port()
        proc = start(settings, args, port)
        try:
            bearer = token(port, "street", "Hongse@2026")
            for endpoint, path in endpoints:
                result = generate(port, path, bearer, settings.load_seconds, settings.load_concurrency,
                                  master=proc.pid)
                if "TimeoutError" in result["error_kinds"]:
                    result["thread_dump"] = thread_dump(proc)
                result.update({"server": f"gunicorn {' '.join(args)} ({name})", "worker_class": name,
                               "endpoint": endpoint, "path": path, "user": "street (JWT)"})
                log(f"  {result['server']}, {endpoint}: {result['requests_per_s']} req/s, median "
                    f"{result['median_ms']} ms, p95 {result['p95_ms']} ms, {result['errors']} errors, machine CPU "
                    f"{result['machine_cpu_busy_pct']} %, server {result['server_cpu_ms_per_request']} ms CPU/request")
                results.append(result)
        finally:
            stop(proc)
    return results
