# Task Scheduler installs nothing: it uses only what Forge and AUTOMATIC1111 already ship
# (sqlite3 from the standard library, and the WebUI's own fastapi, pydantic, gradio and Pillow).
# Installing packages into the WebUI's environment would risk breaking the WebUI itself.
