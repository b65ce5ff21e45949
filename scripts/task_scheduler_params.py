"""An always-on script without controls: puts a queued task's extras onto ``p``.

What the WebUI's UI has no control for but a task may carry (``params.processing`` fields such
as ``eta`` or ``tiling``, and the API's ``override_settings``) is applied in ``setup``, which the
WebUI calls for every ``p`` it builds. Outside a queued task it does nothing.
"""

from modules import scripts

from task_scheduler.webui import runner as _runner


class TaskSchedulerParams(scripts.Script):
    create_group = False

    def title(self):
        return _runner.PARAMS_SCRIPT_TITLE

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        return None

    def setup(self, p, *args):
        _runner.apply_task_extras(p)
