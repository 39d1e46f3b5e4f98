"""What a crash leaves outside the store, cleared when the app starts.

The store clears its own temporary files in ``recover()``; this does the same for the
exports folder (PDFs being rendered, chunk folders) and the portal's build folders.  Only
what nothing has touched for an hour goes: a writer at work in another process is left alone.
Files printed before printed files were private are made so, once.
"""

from __future__ import annotations

from flask import Flask

from . import documents, portal_site


def init_app(app: Flask) -> None:
    found = [*documents.remove_stale_temporaries(app.config["EXPORTS_DIR"]),
             *portal_site.remove_stale_builds(app.config["PORTAL_OUTPUT"])]
    for path in found:  # names carry an area code and a kind of document, never a person
        app.logger.warning("已清除异常退出时留下的临时文件：%s", path.name)
    if documents.make_private(app.config["EXPORTS_DIR"]):
        app.logger.warning("已将此前生成的打印文件设为仅本服务账户可读")
