"""The package index, asked through its JSON API (``<root>/pypi/<name>/json``; no page scraping).

Each package's answer becomes ``Release``\\ s: version, upload date, yanked or not, and the CPython
minors with a wheel for this platform (linux x86_64: a ``manylinux*_x86_64`` or a pure wheel), read
from the wheel's tags and ``requires_python``. The index URL is the user's: ``--index-url``, else uv's
or pip's setting, else PyPI. Used by ``discover`` and ``bisect``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from runner.core.errors import KerasCompatError
from runner.core.versions import minor, version_key

DEFAULT_INDEX = "https://pypi.org/simple"
# The index answer's fields discover reads (``record`` keeps only these).
FILE_FIELDS = ("filename", "packagetype", "requires_python", "upload_time_iso_8601", "yanked", "yanked_reason")


class PackageIndexError(KerasCompatError):
    """The package index cannot be reached or does not answer with its JSON API."""


def index_url(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The index to ask: ``--index-url``, else uv's or pip's setting (``UV_DEFAULT_INDEX``,
    ``UV_INDEX_URL``, ``PIP_INDEX_URL``), else PyPI."""
    environ = os.environ if environ is None else environ
    for value in (explicit, *(environ.get(k) for k in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"))):
        if value and value.strip():
            return value.strip()
    return DEFAULT_INDEX


def json_api(index: str, package: str) -> str:
    """The JSON API URL of ``package`` on ``index``: ``<root>/pypi/<name>/json``, where ``<root>`` is the
    index URL without its ``/simple`` (the layout of PyPI and of the mirrors that serve its JSON API)."""
    parts = urlsplit(index)
    if parts.scheme not in ("http", "https"):
        raise PackageIndexError(
            f"index {redact(index)}: discover asks an index's JSON API over http(s); "
            "pass one with --index-url (default: PyPI)"
        )
    path = parts.path.rstrip("/")
    if path.endswith("/simple"):
        path = path[: -len("/simple")]
    if not path.endswith("/pypi"):
        path += "/pypi"
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/{package}/json", "", ""))


def redact(url: str) -> str:
    """``url`` without a password in it (messages and the JSON report name the index)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    return urlunsplit(
        (parts.scheme, f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else ""), *parts[2:])
    )


Fetch = Callable[[str], dict]  # package name -> the index's JSON answer for it


class IndexClient:
    """The index's JSON API through requests: retries on connection errors and 5xx, a timeout per request."""

    def __init__(self, index: str, *, timeout: float = 60.0, retries: int = 2):
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        self.index = index
        self.timeout = timeout
        self.session = requests.Session()
        retry = Retry(total=retries, backoff_factor=0.4, status_forcelist=(429, 500, 502, 503, 504))
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self.session.headers["Accept"] = "application/json"
        # urllib3 logs each retry as a WARNING with the whole exception; the error says it once, in one line
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)

    def __call__(self, package: str) -> dict:
        import requests

        url = json_api(self.index, package)
        try:
            response = self.session.get(url, timeout=self.timeout)
        except requests.RequestException as exc:
            raise PackageIndexError(f"index unreachable: {redact(url)}: {_reason(exc)}") from None
        if response.status_code == 404:
            raise PackageIndexError(f"index {redact(self.index)} has no project {package!r} (404 from {redact(url)})")
        if response.status_code != 200:
            raise PackageIndexError(f"index answered {response.status_code} for {redact(url)}")
        try:
            data = response.json()
        except ValueError:
            raise PackageIndexError(
                f"index answer for {package} is not JSON ({redact(url)}): no JSON API here"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("releases"), dict):
            raise PackageIndexError(f"index answer for {package} has no `releases` ({redact(url)})")
        return data


def _reason(exc: Exception) -> str:
    """The cause of a failed request in a few words (``[Errno 111] Connection refused``)."""
    cause: object = exc.args[0] if exc.args else exc
    cause = getattr(cause, "reason", cause)  # urllib3's MaxRetryError wraps the last attempt's error
    text = " ".join(str(cause).split()) or type(exc).__name__
    return text.rsplit(": ", 1)[-1][:200]


def record(answer: dict) -> dict:
    """An index answer trimmed to what discover reads (how tests/fixtures/index/ was recorded)."""
    return {
        "info": {"name": answer.get("info", {}).get("name"), "version": answer.get("info", {}).get("version")},
        "releases": {
            version: [{k: f.get(k) for k in FILE_FIELDS} for f in files]
            for version, files in answer.get("releases", {}).items()
        },
    }


def record_text(answer: dict) -> str:
    """``record(answer)`` as JSON text with one release a line (small diffs when a fixture is refreshed)."""
    data = record(answer)
    releases = ",\n".join(
        f"{json.dumps(v)}: {json.dumps(files, separators=(',', ':'))}" for v, files in data["releases"].items()
    )
    return f'{{\n"info": {json.dumps(data["info"])},\n"releases": {{\n{releases}\n}}}}\n'


@dataclass(frozen=True, kw_only=True)
class Release:
    """One release of a package as the index describes it."""

    package: str
    version: str
    uploaded: str  # ISO 8601 UTC of its first file ("" when it has none)
    pythons: tuple[str, ...]  # CPython minors with a wheel for linux x86_64 (manylinux or pure), oldest first
    yanked: bool = False
    yanked_reason: str = ""

    @property
    def final(self) -> bool:
        return not PRE.search(self.version)

    @property
    def wheel(self) -> bool:
        return bool(self.pythons)

    @property
    def minor(self) -> str:
        return minor(self.version)

    @property
    def date(self) -> str:
        return self.uploaded[:10]

    def usable(self, python: str | None = None) -> bool:
        """A final, unyanked release with a wheel here (for ``python``'s minor, if given)."""
        ok = self.final and not self.yanked and self.wheel
        return ok and (python is None or minor(python) in self.pythons)


PRE = re.compile(r"(a|b|c|rc|alpha|beta|pre|preview|dev)\d*", re.I)


def release_key(version: str) -> tuple:
    """Sort key of a version string: numbers first, then a pre-release before its final release."""
    numbers = tuple(int(p) for p in re.findall(r"\d+", re.split(r"[a-zA-Z]", version, maxsplit=1)[0]))
    pre = PRE.search(version)
    return (numbers, (0, version[pre.start() :]) if pre else (1, ""))


@dataclass(frozen=True, kw_only=True)
class Index:
    """Every asked package's releases, oldest first."""

    url: str
    asked: str  # when (ISO 8601 UTC)
    releases: Mapping[str, tuple[Release, ...]]

    def of(self, package: str) -> tuple[Release, ...]:
        return self.releases.get(package, ())

    def get(self, package: str, version: str) -> Release | None:
        return next((r for r in self.of(package) if r.version == version), None)

    def usable(self, package: str, python: str | None = None) -> list[Release]:
        return [r for r in self.of(package) if r.usable(python)]

    def first_of_minor(self, package: str, minor_version: str) -> Release | None:
        """The minor's first final release (its date is the minor's release date)."""
        finals = [r for r in self.of(package) if r.final and r.minor == minor_version and r.uploaded]
        return finals[0] if finals else None


def allows(requires_python: str | None, python_minor: str) -> bool:
    """Whether some CPython ``python_minor``.x satisfies ``requires_python`` (``>=3.9,!=3.9.1``).

    A clause this cannot read is ignored (the wheel tags still decide)."""
    if not requires_python or not requires_python.strip():
        return True
    major, minor_n = version_key(python_minor)[:2]
    clauses = [c.strip() for c in requires_python.split(",") if c.strip()]
    return any(all(_clause((major, minor_n, patch), c) for c in clauses) for patch in range(0, 40))


_CLAUSE = re.compile(r"^(===|~=|==|!=|<=|>=|<|>)\s*([0-9][0-9.]*)(\.\*)?$")


def _clause(version: tuple[int, int, int], clause: str) -> bool:
    m = _CLAUSE.match(clause.replace(" ", ""))
    if not m:
        return True
    op, target, star = m.group(1), tuple(int(p) for p in m.group(2).strip(".").split(".")), m.group(3)
    if star or op == "~=":
        prefix = target if star else target[:-1]
        same = version[: len(prefix)] == prefix
        if op == "~=":
            return same and version >= _pad(target)
        return same if op == "==" else not same if op == "!=" else True
    t = _pad(target)
    return {
        "==": version == t,
        "===": version == t,
        "!=": version != t,
        "<=": version <= t,
        ">=": version >= t,
        "<": version < t,
        ">": version > t,
    }[op]


def _pad(t: tuple[int, ...]) -> tuple[int, int, int]:
    padded = (t + (0, 0, 0))[:3]
    return padded[0], padded[1], padded[2]


_TAG = re.compile(r"^(cp|py)(\d)(\d*)$")


def wheel_pythons(filename: str, requires_python: str | None, known: Iterable[str]) -> set[str]:
    """The CPython minors (of ``known``) a wheel installs on for linux x86_64; empty for an sdist or a
    wheel of another platform."""
    if not filename.endswith(".whl"):
        return set()
    parts = filename[:-4].split("-")
    if len(parts) not in (5, 6):
        return set()
    py_tags, abi_tags, platforms = (p.split(".") for p in parts[-3:])
    if not any(p == "any" or (p.startswith("manylinux") and p.endswith("_x86_64")) for p in platforms):
        return set()
    out: set[str] = set()
    for tag in py_tags:
        m = _TAG.match(tag)
        if not m or m.group(2) != "3":
            continue
        if m.group(1) == "cp" and m.group(3) and "abi3" not in abi_tags:
            out.add(f"3.{m.group(3)}")
        else:  # py3, py3X or cp3X-abi3: that minor and every later one
            floor = int(m.group(3) or 0)
            out.update(k for k in known if version_key(k)[1] >= floor)
    return {p for p in out if allows(requires_python, p)}


def _cpython_minors(answers: Mapping[str, dict]) -> list[str]:
    """Every CPython 3 minor some linux x86_64 wheel of the answers is built for (the known Pythons)."""
    found: set[str] = set()
    for answer in answers.values():
        for files in answer.get("releases", {}).values():
            for f in files:
                name = str(f.get("filename", ""))
                if re.search(r"manylinux\w*_x86_64\.whl$", name):
                    found.update(f"3.{m}" for m in re.findall(r"(?:^|[-.])cp3(\d+)(?=[-.])", name))
    return sorted(found, key=version_key)


def read_index(url: str, asked: str, answers: Mapping[str, dict], grid_pythons: Iterable[str] = ()) -> Index:
    """The answers of the JSON API (``{"releases": {version: [file, ...]}}``) as an ``Index``.

    A pure wheel installs on every CPython its ``requires_python`` allows, of the ones known: those some
    linux x86_64 wheel of the answers is built for, and ``grid_pythons``."""
    known = sorted(set(_cpython_minors(answers)) | {minor(p) for p in grid_pythons}, key=version_key)
    releases: dict[str, tuple[Release, ...]] = {}
    for package, answer in answers.items():
        out = []
        for version, files in answer.get("releases", {}).items():
            if not isinstance(files, list):
                raise PackageIndexError(f"index answer for {package} {version}: files are not a list")
            pythons: set[str] = set()
            for f in files:
                pythons |= wheel_pythons(str(f.get("filename", "")), f.get("requires_python"), known)
            dates = sorted(str(f.get("upload_time_iso_8601") or f.get("upload_time") or "") for f in files)
            yanked = bool(files) and all(f.get("yanked") for f in files)
            reasons = [str(f.get("yanked_reason")) for f in files if f.get("yanked_reason")]
            out.append(
                Release(
                    package=package,
                    version=version,
                    uploaded=next((d for d in dates if d), ""),
                    pythons=tuple(sorted(pythons, key=version_key)),
                    yanked=yanked,
                    yanked_reason=reasons[0] if reasons else "",
                )
            )
        releases[package] = tuple(sorted(out, key=lambda r: release_key(r.version)))
    return Index(url=redact(url), asked=asked, releases=releases)


def fetch_index(packages: Iterable[str], fetch: Fetch, url: str, asked: str) -> Index:
    return read_index(url, asked, {p: fetch(p) for p in packages})
