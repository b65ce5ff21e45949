"""Task Scheduler: a persistent generation queue for Stable Diffusion WebUI Forge and A1111.

The package root and its core modules (task, store, task_queue, executor, runner, files, config, values)
import nothing from the WebUI, gradio or fastapi; WebUI glue lives in ``task_scheduler.webui``
and the HTTP layer in ``task_scheduler.http_api``.
"""

__version__ = "0.1.0"
