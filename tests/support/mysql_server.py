"""A real MariaDB server for tests: installed from Debian packages if missing (when we are root),
started on 127.0.0.1 with a throw-away data directory, stopped afterwards."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class Unavailable(RuntimeError):
    """MariaDB cannot be installed or started here; the message says why (used as the skip reason)."""


@dataclass
class MySQLServer:
    port: int
    admin_url: str  # loader account: all privileges on the test database only
    reader_url: str  # SELECT (+ CREATE TEMPORARY TABLES, for branch-scoped users) without FILE
    proc: subprocess.Popen
    root_dir: Path
    select_only_url: str = ""  # SELECT and nothing else: scoped SQL must be refused on it

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.root_dir, ignore_errors=True)


def _ensure_installed() -> str:
    daemon = shutil.which("mariadbd") or shutil.which("mysqld") or "/usr/sbin/mariadbd"
    if Path(daemon).exists():
        return daemon
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Unavailable("未安装 MariaDB，且当前不是 root，无法 apt-get install mariadb-server")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "mariadb-server"]):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            raise Unavailable(f"apt-get 安装 mariadb-server 失败：{r.stderr[-300:]}")
    return shutil.which("mariadbd") or "/usr/sbin/mariadbd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(root_dir: Path | None = None, database: str = "bank") -> MySQLServer:
    """`root_dir` defaults to a fresh folder in /tmp: the server runs as the mysql user, which must be
    able to reach it (pytest's own temp folders are private to root)."""
    daemon = _ensure_installed()
    if root_dir is None:
        root_dir = Path(tempfile.mkdtemp(prefix="million-mariadb-"))
        root_dir.chmod(0o755)
    install_db = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    client = shutil.which("mariadb") or shutil.which("mysql")
    if not install_db or not client:
        raise Unavailable("找不到 mariadb-install-db 或 mariadb 客户端")
    root_dir.mkdir(parents=True, exist_ok=True)
    user = "mysql" if os.geteuid() == 0 else None
    if user:
        shutil.chown(root_dir, user, user)
    data = root_dir / "data"
    sock = root_dir / "sock"
    cmd = [install_db, f"--datadir={data}", "--auth-root-authentication-method=normal", "--skip-test-db"]
    if user:
        cmd.append(f"--user={user}")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise Unavailable(f"mariadb-install-db 失败：{r.stderr[-300:]}")
    port = _free_port()
    args = [daemon, "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={port}",
            "--bind-address=127.0.0.1", f"--pid-file={root_dir / 'pid'}", "--skip-log-bin",
            "--innodb-buffer-pool-size=256M", "--max-connections=200", "--local-infile=0"]
    if user:
        args.append(f"--user={user}")
    log = open(root_dir / "server.log", "w")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while not sock.exists():
        if proc.poll() is not None or time.time() > deadline:
            raise Unavailable(f"MariaDB 启动失败：{(root_dir / 'server.log').read_text()[-400:]}")
        time.sleep(0.2)
    sql = (f"CREATE DATABASE {database} CHARACTER SET utf8mb4; "
           "CREATE USER 'loader'@'127.0.0.1' IDENTIFIED BY 'loader-pw'; "
           f"GRANT ALL ON {database}.* TO 'loader'@'127.0.0.1'; "
           "CREATE USER 'reader'@'127.0.0.1' IDENTIFIED BY 'reader-pw'; "
           f"GRANT SELECT, CREATE TEMPORARY TABLES ON {database}.* TO 'reader'@'127.0.0.1'; "
           "CREATE USER 'selectonly'@'127.0.0.1' IDENTIFIED BY 'selectonly-pw'; "
           f"GRANT SELECT ON {database}.* TO 'selectonly'@'127.0.0.1';")
    r = subprocess.run([client, "--no-defaults", f"--socket={sock}", "-uroot", "-e", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        proc.kill()
        raise Unavailable(f"初始化 MariaDB 账户失败：{r.stderr[-300:]}")
    return MySQLServer(port, f"mysql+pymysql://loader:loader-pw@127.0.0.1:{port}/{database}",
                       f"mysql+pymysql://reader:reader-pw@127.0.0.1:{port}/{database}", proc, root_dir,
                       f"mysql+pymysql://selectonly:selectonly-pw@127.0.0.1:{port}/{database}")
