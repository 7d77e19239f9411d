"""Start a throw-away Orthanc 1.10.1 on 127.0.0.1 with its own JSON config, storage and free ports."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dcmtk import store_files
from .harness import HOST, ORTHANC_BIN, PeerError, Process, free_port, require_file, wait_for_echo

WORKLIST_PLUGIN = Path("/usr/share/orthanc/plugins/libModalityWorklists.so")


@dataclass
class OrthancPeer:
    ae_title: str
    host: str
    port: int  # DICOM
    http_port: int
    process: Process
    base_dir: Path
    storage_dir: Path
    config_path: Path
    worklists_dir: Path | None
    modalities: dict[str, tuple[str, int]] = field(default_factory=dict)
    startup_seconds: float = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def log_text(self) -> str:
        return self.process.log_text()

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` s. A graceful Orthanc stop takes about 2.4 s (its HTTP
        server winds down slowly); ``grace=0`` kills at once, which is fine for throw-away storage."""
        self.process.stop(grace=grace)

    def rest(self, path: str, *, method: str = "GET", body: Any = None, timeout: float = 30.0) -> Any:
        """Call Orthanc's REST API and decode the JSON answer.

        ``body``: bytes are sent raw as application/dicom (a DICOM file), a str as text/plain (e.g. the UID
        for POST /tools/lookup), anything else as JSON.
        """
        data = None
        headers = {}
        if isinstance(body, bytes | bytearray):
            data = bytes(body)
            headers["Content-Type"] = "application/dicom"
        elif isinstance(body, str):
            data = body.encode()
            headers["Content-Type"] = "text/plain"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise PeerError(f"Orthanc {method} {path} -> HTTP {exc.code}: {detail}") from exc
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw

    # Conveniences for tests --------------------------------------------------------------------------
    def set_modality(self, name: str, ae_title: str, host: str, port: int) -> None:
        """Add or change a DICOM modality at run time (PUT /modalities/NAME; all services allowed)."""
        self.rest(f"/modalities/{name}", method="PUT", body={"AET": ae_title, "Host": host, "Port": port})
        self.modalities[ae_title] = (host, port)

    def store(self, files: Iterable[Path], calling_ae: str = "TESTSCU") -> None:
        """Send files over DICOM with dcmtk storescu."""
        store_files(self.host, self.port, self.ae_title, files, calling_ae=calling_ae)

    def upload(self, files: Iterable[Path]) -> list[str]:
        """Upload files over REST (POST /instances); return Orthanc instance IDs."""
        return [self.rest("/instances", method="POST", body=Path(f).read_bytes())["ID"] for f in files]

    def clear(self) -> None:
        """Delete every patient (and so every instance) Orthanc holds."""
        for pid in self.rest("/patients"):
            self.rest(f"/patients/{pid}", method="DELETE")

    def sop_instance_uids(self) -> set[str]:
        """SOP Instance UIDs of every stored instance (one REST call per instance: for small sets)."""
        uids = set()
        for iid in self.rest("/instances"):
            uids.add(self.rest(f"/instances/{iid}/simplified-tags")["SOPInstanceUID"])
        return uids


def orthanc_config(
    *,
    ae_title: str,
    port: int,
    http_port: int,
    storage_dir: Path,
    modalities: Mapping[str, tuple[str, int]],
    check_called_ae: bool,
    worklists_dir: Path | None,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "Name": f"dicomtui-test-{ae_title}",
        "StorageDirectory": str(storage_dir),
        "IndexDirectory": str(storage_dir),
        "DicomAet": ae_title,
        "DicomPort": port,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckCalledAet": check_called_ae,
        # Each modality entry allows every service (echo, find, worklist, get, move, store).
        "DicomModalities": {ae: [ae, host, p] for ae, (host, p) in modalities.items()},
        # Start-up and test speed: no fsync per write, no job persistence, nothing we do not use.
        "SyncStorageArea": False,
        "SaveJobs": False,
        "WebDavEnabled": False,
        "MetricsEnabled": False,
        "OrthancExplorerEnabled": False,
        "HttpThreadsCount": 8,
        "StableAge": 1,
        # Orthanc waits this long before closing an idle outgoing association (C-MOVE, C-STORE SCU).
        "DicomAssociationCloseDelay": 0,
        "DicomScuTimeout": 10,
        "ConcurrentJobs": 2,
        "LuaScripts": [],
        "Plugins": [],
    }
    if worklists_dir is not None:
        config["Plugins"] = [str(require_file(WORKLIST_PLUGIN, "Orthanc modality worklist plugin"))]
        config["Worklists"] = {"Enable": True, "Database": str(worklists_dir)}
    if extra:
        config.update(extra)
    return config


def start_orthanc(
    tmp_path: Path,
    ae_title: str = "ORTHANC",
    modalities: Mapping[str, tuple[str, int]] | None = None,
    check_called_ae: bool = False,
    worklists_dir: Path | None = None,
    extra: Mapping[str, Any] | None = None,
    *,
    timeout: float = 30.0,
) -> OrthancPeer:
    """Write a config, start ``/usr/sbin/Orthanc CONFIG``, wait for HTTP (GET /system) and C-ECHO."""
    require_file(ORTHANC_BIN, "Orthanc (apt-get install orthanc)")
    port, http_port = free_port(), free_port()
    while http_port == port:
        http_port = free_port()
    base = Path(tmp_path) / f"orthanc-{ae_title}-{port}"
    storage = base / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    mods = dict(modalities or {})
    config = orthanc_config(
        ae_title=ae_title,
        port=port,
        http_port=http_port,
        storage_dir=storage,
        modalities=mods,
        check_called_ae=check_called_ae,
        worklists_dir=Path(worklists_dir) if worklists_dir is not None else None,
        extra=extra,
    )
    config_path = base / "orthanc.json"
    config_path.write_text(json.dumps(config, indent=2))

    t0 = time.monotonic()
    proc = Process([str(ORTHANC_BIN), str(config_path)], name="Orthanc", cwd=base, log_dir=base)
    peer = OrthancPeer(
        ae_title,
        HOST,
        port,
        http_port,
        proc,
        base,
        storage,
        config_path,
        Path(worklists_dir) if worklists_dir is not None else None,
        mods,
    )
    try:
        _wait_http(peer, timeout)
        # Echo with a calling AE Orthanc knows if there is one (DicomAlwaysAllowEcho may be off).
        calling = next(iter(mods), "TESTSCU")
        wait_for_echo(
            HOST, port, ae_title, calling, timeout=max(1.0, timeout - (time.monotonic() - t0)), process=proc
        )
    except BaseException:
        proc.stop()
        raise
    peer.startup_seconds = time.monotonic() - t0
    return peer


def _wait_http(peer: OrthancPeer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        if peer.process.poll() is not None:
            raise PeerError(f"Orthanc exited during start-up\n{peer.process.describe()}")
        try:
            with urllib.request.urlopen(peer.url + "/system", timeout=1.0) as resp:
                if resp.status == 200:
                    json.loads(resp.read())
                    return
        except (OSError, ValueError) as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise PeerError(
                f"Orthanc HTTP {peer.url}/system did not answer in {timeout:.0f} s ({last})\n"
                f"{peer.process.describe()}"
            )
        time.sleep(0.05)
