"""Collect what the code left in its work folder, trusting nothing about it: only regular files at the
top level, opened without following symlinks, with a single link, of an allowed type whose content
matches the extension, under size and count caps. Everything else is listed as rejected with a reason."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass

from million.sandbox.limits import Limits

KINDS = {".png": "png", ".svg": "svg", ".csv": "csv", ".json": "json", ".html": "html", ".md": "md",
         ".txt": "txt", ".xlsx": "xlsx"}
_SAFE_NAME = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z\u4e00-\u9fff _.()\-]{0,119}$")
_SVG_ACTIVE = re.compile(rb"<script|javascript:|<foreignObject|\son[a-z]+\s*=", re.IGNORECASE)
_MAX_REJECTED_LISTED = 20


@dataclass
class OutputFile:
    name: str
    kind: str
    data: bytes


def _text(data: bytes) -> str | None:
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def content_matches(kind: str, data: bytes) -> bool:
    """Does the content really look like `kind`? (Magic bytes for binary types, structure for text.)"""
    if kind == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    if kind == "xlsx":
        if not data.startswith(b"PK\x03\x04"):
            return False
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return False
        return "[Content_Types].xml" in names and "xl/workbook.xml" in names
    text = _text(data)
    if text is None:
        return False
    if kind == "json":
        try:
            json.loads(text)
        except ValueError:
            return False
        return True
    if kind == "svg":
        head = text.lstrip()[:4096]
        return head.startswith(("<?xml", "<svg", "<!--", "<!DOCTYPE svg")) and "<svg" in text \
            and not _SVG_ACTIVE.search(data)
    return True  # csv / html / md / txt: UTF-8 text without NUL bytes


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def collect(folder: str, limits: Limits, *, inputs: dict[str, str] | None = None
            ) -> tuple[list[OutputFile], list[str]]:
    """(accepted outputs, rejection notes). `inputs` maps provided file names to their digest: those
    come back only if the code changed them."""
    inputs = inputs or {}
    accepted: list[OutputFile] = []
    rejected: list[str] = []
    total = 0
    max_one = limits.max_output_mb * 1024 * 1024
    max_total = limits.max_total_output_mb * 1024 * 1024
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        names = sorted(os.listdir(dir_fd))
        extra = over = 0
        for name in names:
            if name.startswith("."):
                continue  # the code's private state (.mplconfig ...)
            if len(accepted) >= limits.max_outputs and os.path.splitext(name)[1].lower() in KINDS:
                over += 1  # no need to open it: the count cap is reached
                continue
            note = _one(dir_fd, name, max_one, inputs, total, max_total)
            if isinstance(note, OutputFile):
                accepted.append(note)
                total += len(note.data)
            elif note:
                if len(rejected) < _MAX_REJECTED_LISTED:
                    rejected.append(note)
                else:
                    extra += 1
        if over:
            rejected.append(f"输出文件超过 {limits.max_outputs} 个：另有 {over} 个文件未收集")
        if extra:
            rejected.append(f"……另有 {extra} 个文件因其他原因未收集")
    finally:
        os.close(dir_fd)
    return accepted, rejected


def _one(dir_fd: int, name: str, max_one: int, inputs: dict[str, str], total: int,
         max_total: int) -> OutputFile | str | None:
    kind = KINDS.get(os.path.splitext(name)[1].lower())
    shown = name if len(name) <= 60 else name[:57] + "..."
    shown = shown.encode("unicode_escape").decode("ascii") if not shown.isprintable() else shown
    if kind is None:
        return None if name in inputs else f"{shown}：类型不在允许范围（png/svg/csv/json/html/md/txt/xlsx），未收集"
    if not _SAFE_NAME.match(name):
        return f"{shown}：文件名含不允许的字符，未收集"
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as e:
        return f"{shown}：不是普通文件（可能是符号链接），未收集（{e.strerror}）"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return f"{shown}：不是普通文件，未收集"
        if st.st_nlink != 1:
            return f"{shown}：是硬链接，未收集"
        if st.st_size > max_one:
            return f"{shown}：文件过大（{st.st_size:,} 字节 > {max_one:,}），未收集"
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(max_one + 1)
    finally:
        os.close(fd)
    if len(data) != st.st_size:
        return f"{shown}：读取时大小发生变化，未收集"
    if name in inputs and inputs[name] == digest(data):
        return None  # a provided input, unchanged
    if not content_matches(kind, data):
        return f"{shown}：内容与扩展名 .{kind} 不符，未收集"
    if total + len(data) > max_total:
        return f"{shown}：输出总大小超过上限，未收集"
    return OutputFile(name, kind, data)
