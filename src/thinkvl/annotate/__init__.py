"""Human-in-the-loop annotation of videos and images: a model drafts, people correct.

``thinkvl annotate serve`` runs a web application (FastAPI, server-rendered pages and a little
vanilla JavaScript) backed by a real database (SQLite by default, PostgreSQL by URL) whose schema
is kept by Alembic migrations shipped in this package. Annotators correct a VLM's draft field by
field (time segments with actions, in-scene text, camera motion, shot type, a caption: the label
sets come from a project YAML file); a second person reviews; accepted annotations export as
thinkvl data records with provenance. The per-field edit rate against the model's draft is the
model's hallucination/omission signal.

Modules, one job each: ``config`` (project label sets), ``fields`` (field values: checking and
comparing), ``db`` / ``models`` / ``migrate`` (storage), ``auth`` / ``access`` (accounts, roles,
CSRF), ``media`` (files and uploads), ``drafts`` (model drafts), ``workflow`` (saving, locking,
review), ``stats`` (dashboard numbers), ``export`` (data records), ``app`` / ``pages`` / ``api``
(the web application), ``server``, ``demo`` and ``screenshot``.
"""
