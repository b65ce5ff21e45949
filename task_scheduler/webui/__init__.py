"""Everything that knows the WebUI. The core never imports this package.

``arguments`` maps between Generate's positional inputs and the named task shape; the runner,
capture and settings modules are the only importers of ``modules.*`` / ``modules_forge.*``.
"""
