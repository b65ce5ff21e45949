"""``modules.textual_inversion.textual_inversion.EmbeddingDatabase``: names of the embeddings.

The real one loads every file of ``--embeddings-dir`` (``embeddings/`` in the WebUI's folder)
into ``word_embeddings`` (name = file name without extension); files it cannot use go to
``skipped_embeddings``. The double keeps the names and paths.
"""

from __future__ import annotations

import os


class Embedding:
    def __init__(self, name, filename):
        self.name = name
        self.filename = filename


class EmbeddingDatabase:
    def __init__(self):
        self.ids_lookup = {}
        self.word_embeddings = {}
        self.skipped_embeddings = {}
        self.embedding_dirs = {}

    def add_embedding_dir(self, path):
        self.embedding_dirs[path] = path

    def load_textual_inversion_embeddings(self, force_reload=False, sync_with_sd_model=True):
        self.word_embeddings.clear()
        self.skipped_embeddings.clear()
        for path in self.embedding_dirs:
            if not os.path.isdir(path):
                continue
            for folder, _dirs, filenames in os.walk(path):
                for filename in sorted(filenames):
                    name, ext = os.path.splitext(filename)
                    if ext.lower() in (".pt", ".safetensors", ".bin", ".png"):
                        self.word_embeddings[name] = Embedding(name, os.path.join(folder, filename))
