"""Command-line flags of Task Scheduler (loaded by the WebUI before it parses its arguments)."""


def preload(parser):
    # Same flag as task_scheduler.config.CLI_FLAG (this file must not import the package).
    parser.add_argument(
        "--task-scheduler-db",
        type=str,
        default=None,
        help="Task Scheduler: the queue's database: a file path (default: in the extension's folder) "
        "or a postgresql://user@host/db URL shared by several WebUIs",
    )
    parser.add_argument(
        "--task-scheduler-files",
        type=str,
        default=None,
        help="Task Scheduler: with a PostgreSQL queue, a folder every WebUI mounts for input images "
        "(default: in the database)",
    )
    parser.add_argument(
        "--task-scheduler-worker",
        type=str,
        default=None,
        help="Task Scheduler: this WebUI's name among the workers of a shared queue (default: host:port)",
    )
