"""Start and stop the Neo4j test server built in this folder (`make neo4j-server`), from Python.

    with Neo4jTestServer(tmp / "neo4j") as server:   # waits for the ready line and for Bolt
        server.uri, server.user, server.password       # bolt://127.0.0.1:<free port>, "neo4j", ...

`settings={"dbms.cypher.min_replan_interval": "1h"}` passes other Neo4j settings (`--conf`), for
benchmarks that compare configurations. `http=True` also starts the HTTP connector (another free
port), which serves Neo4j Browser at `server.browser_url`; it adds several seconds to the start,
so it is off unless asked for.

Used by the test suite (tests/conftest.py: one server per session) and bench/bench_sinks.py. The
server binds port 0 on 127.0.0.1, so the kernel picks a free port: two sessions never collide.
It dies with the process that started it (PR_SET_PDEATHSIG, then its own SIGTERM handler shuts
Neo4j down), so a killed test run leaves no server behind.
"""
from __future__ import annotations

import ctypes
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
JAR = HERE / "target" / "neo4j-test-server.jar"
USER = "neo4j"

# JVM options of Neo4j's own launcher that matter here (its --add-opens are in the jar's manifest).
JVM_OPTIONS = (
    "-XX:+UseG1GC", "-XX:-OmitStackTraceInFastThrow", "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024", "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
)


class Neo4jServerError(RuntimeError):
    pass


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


class Neo4jTestServer:
    def __init__(self, data_dir: Path | str, *, password: str | None = None, http: bool = False,
                 heap: str = "1g", pagecache: str = "256m", settings: dict[str, str] | None = None,
                 startup_timeout: float = 300.0):
        self.data_dir = Path(data_dir).resolve()
        self.password = password or secrets.token_urlsafe(18)
        self.user = USER
        self.http = http
        self.heap = heap
        self.pagecache = pagecache
        self.settings = dict(settings or {})
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.uri: str | None = None
        self.http_url: str | None = None
        self.version: str | None = None
        self.bolt_port: int | None = None
        self.start_seconds: float | None = None  # from launch to Bolt answering, for reports

    @property
    def browser_url(self) -> str | None:
        """Neo4j Browser (with `http=True`), its connect form filled with the real Bolt address:
        Browser's discovery would offer port 7687, since the server advertises no other."""
        return f"{self.http_url}/browser/?dbms={self.uri}" if self.http_url else None

    @property
    def stderr_path(self) -> Path:
        return self.data_dir / "logs" / "stderr.log"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, bolt_port: int = 0) -> "Neo4jTestServer":
        """Launch, wait for the ready line, then for a real Bolt round trip. `bolt_port` 0 lets
        the kernel pick; a restart may ask for the port it had before."""
        java = shutil.which("java")
        if java is None:
            raise Neo4jServerError("java is not installed (OpenJDK 17 runs the Neo4j test server)")
        if not JAR.is_file():
            raise Neo4jServerError(f"{JAR} is missing: build it with `make neo4j-server`")
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        command = [java, f"-Xms{self.heap}", f"-Xmx{self.heap}", *JVM_OPTIONS, "-jar", str(JAR),
                   "--data", str(self.data_dir), "--bolt-port", str(bolt_port),
                   "--pagecache", self.pagecache]
        if self.http:
            command += ["--http-port", "0"]
        for name, value in self.settings.items():
            command += ["--conf", f"{name}={value}"]
        env = {**os.environ, "NEO4J_PASSWORD": self.password}
        began = time.monotonic()
        with open(self.stderr_path, "ab") as stderr:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=stderr, env=env, preexec_fn=_die_with_parent)
        try:
            line = self._ready_line(began + self.startup_timeout)
            words = line.split()
            self.uri = words[1]
            self.bolt_port = int(self.uri.rsplit(":", 1)[1])
            self.http_url = next((w for w in words if w.startswith("http://")), None)
            self.version = words[-1]
            self._wait_for_bolt(began + self.startup_timeout)
        except BaseException:
            self.kill()
            raise
        self.start_seconds = time.monotonic() - began
        return self

    def _ready_line(self, deadline: float) -> str:
        stdout = self.process.stdout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Neo4jServerError(f"the Neo4j test server exited at start-up (code "
                                       f"{self.process.returncode}): {self.log_tail()}")
            ready, _, _ = select.select([stdout], [], [], 0.2)
            if ready:
                line = stdout.readline().decode("utf-8", "replace").strip()
                if line.startswith("ready "):
                    return line
        raise Neo4jServerError(f"the Neo4j test server was not ready within {self.startup_timeout:.0f} s: "
                               f"{self.log_tail()}")

    def _wait_for_bolt(self, deadline: float) -> None:
        import neo4j

        while True:
            try:
                with neo4j.GraphDatabase.driver(self.uri, auth=(self.user, self.password)) as driver:
                    driver.verify_connectivity()
                    return
            except Exception as error:  # noqa: BLE001 - anything but an answer means "not yet"
                if time.monotonic() > deadline or not self.alive():
                    raise Neo4jServerError(f"Bolt at {self.uri} does not answer: {error}") from None
                time.sleep(0.2)

    def log_tail(self, lines: int = 15) -> str:
        parts = []
        for path in (self.stderr_path, self.data_dir / "logs" / "console.log"):
            try:
                parts += path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                pass
        return "\n".join(parts)

    def stop(self, timeout: float = 120.0) -> None:
        """SIGTERM: Neo4j checkpoints and shuts down cleanly; killed only if it hangs."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close()

    def kill(self) -> None:
        """A crash (SIGKILL): for tests of what a store survives."""
        if self.alive():
            self.process.kill()
            self.process.wait()
        self._close()

    def _close(self) -> None:
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> "Neo4jTestServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
