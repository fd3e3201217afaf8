"""HTTP for the public sources: one session with latcircle's user agent, JSON and downloads.

Every failure becomes a :class:`~latcircle.errors.FetchError` naming the source, so that a
failed step is recorded and the other steps go on.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from latcircle.errors import FetchError

if TYPE_CHECKING:
    import requests
    from rich.progress import Progress

_USER_AGENT = "latcircle-fetch/0.1 (python-requests)"


def _session() -> requests.Session:
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = _USER_AGENT
    return session


def get_json(url: str, *, params: dict[str, str], source: str, what: str) -> Any:
    import requests

    try:
        with _session() as session:
            response = session.get(url, params=params, timeout=(15, 120))
    except requests.exceptions.ConnectionError as exc:
        msg = f"cannot reach {what} at {url} (offline, or the server is down): {short(exc)}"
        raise FetchError(source, msg) from None
    except requests.exceptions.RequestException as exc:
        raise FetchError(source, f"{what} at {url}: {short(exc)}") from None
    if not response.ok:
        msg = f"{what} at {url} answered HTTP {response.status_code} {response.reason}"
        raise FetchError(source, msg)
    try:
        return response.json()
    except ValueError:
        raise FetchError(source, f"{what} at {url} did not answer JSON") from None


def download(url: str, dest: Path, *, source: str, label: str, progress: Progress | None) -> None:
    """Stream a file into ``dest`` (through a ``.part`` file), with a progress bar."""
    import requests

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    task = None
    try:
        with _session() as session, session.get(url, stream=True, timeout=(15, 300)) as response:
            if not response.ok:
                msg = f"{url} answered HTTP {response.status_code} {response.reason}"
                raise FetchError(source, msg)
            total = int(response.headers.get("Content-Length") or 0) or None
            if progress is not None:
                task = progress.add_task(label, total=total, detail="", unit="bytes")
            done = 0
            with part.open("wb") as fh:
                for chunk in response.iter_content(chunk_size=1 << 20):
                    fh.write(chunk)
                    done += len(chunk)
                    if progress is not None and task is not None:
                        progress.update(task, completed=done, detail=_megabytes(done, total))
        if total is not None and done != total:
            raise FetchError(source, f"download of {url} stopped at {done:,} of {total:,} bytes")
        part.replace(dest)
    except requests.exceptions.ConnectionError as exc:
        msg = f"cannot reach {url} (offline, or the server is down): {short(exc)}"
        raise FetchError(source, msg) from None
    except requests.exceptions.RequestException as exc:
        raise FetchError(source, f"download of {url} failed: {short(exc)}") from None
    finally:
        part.unlink(missing_ok=True)
        if progress is not None and task is not None:
            progress.remove_task(task)


def _megabytes(done: int, total: int | None) -> str:
    if total:
        return f"{done / 1e6:,.1f} / {total / 1e6:,.1f} MB"
    return f"{done / 1e6:,.1f} MB"


def short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def url_name(url: str) -> str:
    return Path(urlparse(url).path).name or "worldpop.tif"
