"""The public D-Bus API's names (the full introspection XML ships in stt_daemon/data/)."""

from __future__ import annotations

import importlib.resources

BUS_NAME = "org.sttdaemon.SttDaemon"
OBJECT_PATH = "/org/sttdaemon/SttDaemon"
INTERFACE = "org.sttdaemon.SttDaemon1"
API_VERSION = 1


def introspection_xml() -> str:
    return (importlib.resources.files("stt_daemon") / "data" / f"{INTERFACE}.xml").read_text("utf-8")
