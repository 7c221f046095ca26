#!/usr/bin/env bash
# Create the virtual environment and install the project. Works on a fresh Debian/Ubuntu machine:
# if the venv module is missing (Debian splits it out) and we are root, install python3-venv.
set -euo pipefail
PYTHON="${1:-python3}"
VENV="${2:-.venv}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "需要 Python 3.11+（找到：$("$PYTHON" --version 2>&1)）/ Python 3.11+ is required" >&2
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
echo "==> 安装依赖 / installing the project and its dependencies (first time: a few minutes)"
"$VENV/bin/python" -m pip install --upgrade --quiet pip
"$VENV/bin/python" -m pip install --progress-bar on -e '.[dev]'
