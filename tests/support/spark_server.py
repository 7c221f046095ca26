"""A real Spark Thrift Server (HiveServer2 protocol) for tests, started from the pyspark wheel:
    spark-submit --class org.apache.spark.sql.hive.thriftserver.HiveThriftServer2 spark-internal
with an embedded Derby metastore and a warehouse folder in a temporary directory, bound to 127.0.0.1.
The pyspark wheel ships the spark-hive-thriftserver jar; a JRE comes from Debian's packages when `java`
is missing (default-jre-headless, when we are root)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class Unavailable(RuntimeError):
    """Spark cannot run here; the message says why (used as the skip reason)."""


def ensure_java() -> str:
    java = shutil.which("java")
    if java:
        return java
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Unavailable("未安装 Java，且当前不是 root，无法 apt-get install default-jre-headless")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "default-jre-headless"]):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            raise Unavailable(f"apt-get 安装 default-jre-headless 失败：{r.stderr[-300:]}")
    java = shutil.which("java")
    if not java:
        raise Unavailable("安装 default-jre-headless 后仍找不到 java")
    return java


def spark_home() -> Path:
    try:
        import pyspark
    except ImportError as e:
        raise Unavailable("未安装 pyspark（可选依赖 spark；make test 会自动安装）") from e
    home = Path(pyspark.__file__).parent
    jars = list((home / "jars").glob("spark-hive-thriftserver_*.jar"))
    if not jars:
        raise Unavailable(f"pyspark {pyspark.__version__} 的安装包里没有 spark-hive-thriftserver 的 jar")
    return home


def spark_env() -> dict[str, str]:
    """Environment for Spark processes: the venv's Python for workers, loopback only, UTC."""
    return {**os.environ, "SPARK_HOME": str(spark_home()), "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1", "TZ": "UTC"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class ThriftServer:
    port: int
    proc: subprocess.Popen
    root_dir: Path
    started_s: float  # seconds from spark-submit to the port answering

    def url(self, user: str = "analyst", database: str = "default") -> str:
        return f"hive://{user}@127.0.0.1:{self.port}/{database}"

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return (self.root_dir / "server.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.root_dir, ignore_errors=True)


def start(*, cores: int = 2, memory: str = "1g", timeout_s: float = 180) -> ThriftServer:
    ensure_java()
    home = spark_home()
    root = Path(tempfile.mkdtemp(prefix="million-sts-"))
    port = _free_port()
    cmd = ["nice", "-n", "5", str(home / "bin" / "spark-submit"), "--master", f"local[{cores}]",
           "--driver-memory", memory, "--name", "million-test-thrift",
           "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
           "--conf", f"spark.sql.warehouse.dir={root / 'warehouse'}",
           "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=4",
           "--conf", "spark.sql.session.timeZone=UTC",
           "--conf", f"spark.driver.extraJavaOptions=-Dderby.system.home={root} -Duser.timezone=UTC",
           "--hiveconf", f"javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName={root / 'metastore_db'};create=true",
           "--hiveconf", f"hive.server2.thrift.port={port}", "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1",
           "spark-internal"]
    log = open(root / "server.log", "w")  # noqa: SIM115 - lives as long as the server
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=root, env=spark_env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    server = ThriftServer(port, proc, root, 0.0)
    while not _listening(port):
        if proc.poll() is not None or time.monotonic() - t0 > timeout_s:
            tail = server.log_tail(600)
            server.stop()
            raise Unavailable(f"Spark Thrift Server 启动失败：{tail}")
        time.sleep(0.5)
    server.started_s = time.monotonic() - t0
    return server
