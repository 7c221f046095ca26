#!/usr/bin/env bash
# Create the virtual environment and install the project. Works on a fresh Debian/Ubuntu machine:
# if the venv module is missing (Debian splits it out) and we are root, install python3-venv.
#
# Every install takes the exact versions and sha256 hashes in requirements.lock (made by scripts/lock.sh),
# so every machine gets the same packages. The installer is uv (from PyPI, pinned below; much faster than
# pip: parallel downloads, cached unpacked wheels); when uv cannot be had or fails, plain pip installs the
# same lock. INSTALLER=pip forces pip.
set -euo pipefail
PYTHON="${1:-python3}"
VENV="${2:-.venv}"
LOCK="${LOCK:-requirements.lock}"
UV_VERSION="0.13.9"
INSTALLER="${INSTALLER:-uv}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "需要 Python 3.11+（找到：$("$PYTHON" --version 2>&1)）/ Python 3.11+ is required" >&2
  exit 1
fi
if [ ! -f "$LOCK" ]; then
  echo "缺少锁定文件 $LOCK / $LOCK is missing" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> 创建虚拟环境 / creating $VENV"
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      "$PYTHON" -m venv "$VENV"
    else
      echo "请先安装 python3-venv：sudo apt-get install python3-venv" >&2
      exit 1
    fi
  fi
fi

# uv: the venv's own, else one on PATH, else uv==$UV_VERSION from PyPI into the venv. Empty: use pip.
find_uv() {
  if [ "$INSTALLER" = pip ]; then return 0; fi
  if [ -x "$VENV/bin/uv" ]; then echo "$VENV/bin/uv"; return 0; fi
  if command -v uv >/dev/null; then command -v uv; return 0; fi
  if "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" >&2 \
      && [ -x "$VENV/bin/uv" ]; then
    echo "$VENV/bin/uv"
  fi
}

install_uv() {
  "$1" pip install --python "$VENV/bin/python" --require-hashes -r "$LOCK" \
    && "$1" pip install --python "$VENV/bin/python" --no-deps --no-build-isolation -e .
}

install_pip() {
  "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar on --require-hashes -r "$LOCK" \
    && "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --no-deps --no-build-isolation -e .
}

echo "==> 按 $LOCK 安装依赖 / installing the locked dependencies and the project"
UV_BIN="$(find_uv || true)"
if [ -n "$UV_BIN" ]; then
  echo "    安装器 / installer: uv ($("$UV_BIN" --version))"
  if install_uv "$UV_BIN"; then
    exit 0
  fi
  echo "uv 安装失败，改用 pip / uv failed, falling back to pip" >&2
else
  echo "    安装器 / installer: pip（uv 不可用 / uv unavailable）"
fi
install_pip
