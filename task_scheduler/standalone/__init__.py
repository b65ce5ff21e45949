"""The standalone queue server: the same queue in front of one or several WebUIs' HTTP APIs.

``python -m task_scheduler serve --webui URL [--webui URL2 ...]`` builds it (see ``server.py``):
one worker per WebUI (``backends.py``) runs tasks through its ``/sdapi/v1`` API
(``remote_runner.py``), and every request the queue does not serve is passed through to a WebUI
unchanged (``proxy.py``). Needs fastapi, httpx and uvicorn, all of which the WebUIs ship.
"""
