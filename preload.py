"""Command-line flags of Task Scheduler (loaded by the WebUI before it parses its arguments)."""


def preload(parser):
    # Same flag as task_scheduler.config.CLI_FLAG (this file must not import the package).
    parser.add_argument(
        "--task-scheduler-db",
        type=str,
        default=None,
        help="Task Scheduler: path of the queue database (default: in the extension's folder)",
    )
    parser.add_argument(
        "--task-scheduler-worker",
        type=str,
        default=None,
        help="Task Scheduler: this WebUI's name among the workers of a shared queue (default: host:port)",
    )
