"""The workflow below the web layer, on SQLite and PostgreSQL: model drafts recorded as the
model's version, per-field decisions, submit checks, review with conflicts, optimistic locking,
the dashboard numbers, and an export that passes `thinkvl data check`."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace

import pytest
from annotate_helpers import Scripted, data_check, make_projects
from sqlalchemy import select

from thinkvl.annotate import stats, workflow
from thinkvl.annotate.db import make_engine, session_factory
from thinkvl.annotate.drafts import DraftWorker
from thinkvl.annotate.errors import BadValue, Conflict, Forbidden
from thinkvl.annotate.export import export_project
from thinkvl.annotate.models import DraftOutput, Event, Project, Task, User

SCRIPT = {
    "actions": "<think></think><answer>0-1: the red square moves right\n1 - 2.0s: it stops\n"
               "5-9: a hallucinated action after the end</answer>",
    "scene_text": "<answer>I see no text.</answer>",
    "camera_motion": "<think>hmm</think><answer>The camera is <|begin_of_box|>static"
                     "<|end_of_box|></answer>",
    "shot_type": "<answer>a wide shot</answer>",
    "angle": "eye level, high angle, low angle, overhead",  # the options echoed: no draft
    "composition": "",
    "caption": "<answer>A red square moves right across a white background.</answer>",
}


class Env:
    def __init__(self, db: str, media, drafter) -> None:
        self.demo = make_projects(db, media, videos=2, images=1)
        self.engine = make_engine(db)
        self.factory = session_factory(self.engine)
        self.media = media
        self.worker = DraftWorker(self.factory, drafter, media)
        self.task_id = self.demo.tasks[0]  # a video (frame folder, 2 s)

    def session(self):
        return self.factory()

    def user(self, s, name: str) -> User:
        return s.scalar(select(User).where(User.username == name))

    def queue(self, task_id: int) -> None:
        with self.session() as s:
            s.get(Task, task_id).draft_status = "queued"
            s.commit()

    def draft(self, task_id: int) -> str:
        self.queue(task_id)
        return self.worker.draft(task_id)


@pytest.fixture
def env(db_url, tmp_path):
    e = Env(db_url, tmp_path / "media", Scripted(SCRIPT))
    yield e
    e.engine.dispose()


def values(env: Env, task_id: int) -> dict:
    """A detached snapshot of the task's field rows (user names resolved)."""
    with env.session() as s:
        out = {}
        for fv in s.get(Task, task_id).fields:
            row = SimpleNamespace(**{c.key: getattr(fv, c.key) for c in fv.__table__.columns})
            row.annotated_by = fv.annotated_by.username if fv.annotated_by else None
            out[fv.field] = row
        return out


def test_drafts_are_parsed_and_recorded_as_the_models_version(env):
    with env.session() as s:
        v0 = s.get(Task, env.task_id).version
    assert env.draft(env.task_id) == "done"
    rows = values(env, env.task_id)
    assert rows["actions"].draft == [
        {"start": 0.0, "end": 1.0, "action": "the red square moves right"},
        {"start": 1.0, "end": 2.0, "action": "it stops"}]  # 5-9 lies after the 2 s clip
    assert rows["camera_motion"].draft == "static"
    assert rows["shot_type"].draft == "wide"
    assert rows["caption"].draft.startswith("A red square moves right")
    for name in ("scene_text", "angle", "composition"):
        assert rows[name].has_draft is False and rows[name].draft is None, name
    # the draft pre-fills the undecided fields; nobody has decided anything yet
    assert all(fv.status == "pending" for fv in rows.values())
    assert rows["camera_motion"].value == "static"
    with env.session() as s:
        task = s.get(Task, env.task_id)
        assert (task.draft_status, task.draft_model) == ("done", "scripted-vlm")
        assert task.version > v0  # a page holding the pre-draft version must reload
        outputs = {o.field: o.output for o in s.scalars(
            select(DraftOutput).where(DraftOutput.task_id == env.task_id))}
        assert outputs == SCRIPT  # verbatim, for audits of the parser


def _annotate(env: Env, task_id: int, who: str = "alice") -> int:
    rows = values(env, task_id)
    with env.session() as s:
        task, user = s.get(Task, task_id), env.user(s, who)
        version = workflow.save_fields(s, task, user, task.version, {
            "actions": {"value": rows["actions"].draft},  # accept
            "scene_text": {"value": [{"text": "EXIT", "start": 0.5, "end": 1.5,
                                      "box": "10, 20, 300, 400"},  # the model missed it
                                     {"text": "</answer><answer>", "start": 1.5, "end": 2.0}]},
            "camera_motion": {"value": "pan"},  # edit
            "shot_type": {"reject": True},  # reject
            "angle": {"value": None},  # no draft, nothing to add
            "composition": {"value": "centered"},  # no draft, filled
            "caption": {"value": rows["caption"].draft},  # accept
        })
        s.commit()
        return version


def test_decisions_are_measured_against_the_draft(env):
    env.draft(env.task_id)
    _annotate(env, env.task_id)
    rows = values(env, env.task_id)
    assert {n: fv.status for n, fv in rows.items()} == {
        "actions": "accepted", "scene_text": "edited", "camera_motion": "edited",
        "shot_type": "rejected", "angle": "accepted", "composition": "edited",
        "caption": "accepted"}
    assert rows["shot_type"].value is None and rows["shot_type"].draft == "wide"
    assert rows["scene_text"].value[0]["box"] == [10, 20, 300, 400]
    assert all(fv.annotated_by == "alice" and fv.annotated_at for fv in rows.values())
    with env.session() as s:
        task = s.get(Task, env.task_id)
        assert (task.status, task.annotator.username) == ("in_progress", "alice")


def test_submit_needs_every_field_decided_and_complete(env):
    env.draft(env.task_id)
    with env.session() as s:
        task, alice = s.get(Task, env.task_id), env.user(s, "alice")
        workflow.save_fields(s, task, alice, task.version,
                             {"camera_motion": {"value": "pan"},
                              "actions": {"value": [{"start": 0.5, "end": None,
                                                     "action": "half typed"}]}})
        s.commit()
        with pytest.raises(BadValue, match="decide every field") as exc:
            workflow.submit(s, task, alice, task.version)
        assert "Caption" in exc.value.message and "Camera motion" not in exc.value.message
    _annotate(env, env.task_id)
    with env.session() as s:
        task, alice = s.get(Task, env.task_id), env.user(s, "alice")
        workflow.save_fields(s, task, alice, task.version, {
            "actions": {"value": [{"start": 0.5, "end": None, "action": "half typed"}]}})
        s.commit()
        with pytest.raises(BadValue, match=r"\(actions\[0\]\): needs both a start and an end"):
            workflow.submit(s, task, alice, task.version)
        s.rollback()
        workflow.save_fields(s, task, alice, task.version, {
            "actions": {"value": [{"start": 0.5, "end": 3.5, "action": "too long"}]}})
        s.commit()
        with pytest.raises(BadValue, match="after the end of the media"):
            workflow.submit(s, task, alice, task.version)
        s.rollback()
        with pytest.raises(BadValue, match="unknown label 'pan-left'"):
            workflow.save_fields(s, task, alice, task.version,
                                 {"camera_motion": {"value": "pan-left"}})


def _submit(env: Env, task_id: int) -> None:
    with env.session() as s:
        task = s.get(Task, task_id)
        workflow.submit(s, task, env.user(s, "alice"), task.version)
        s.commit()


def _review(env: Env, task_id: int) -> None:
    with env.session() as s:
        task, bob = s.get(Task, task_id), env.user(s, "bob")
        changes = {n: {"agree": True} for n in values(env, task_id)}
        changes["camera_motion"] = {"value": "static"}  # conflict, annotator kept
        changes["composition"] = {"value": "rule of thirds"}  # conflict, reviewer wins
        workflow.save_review(s, task, bob, task.version, changes)
        s.commit()
        workflow.save_review(s, task, bob, task.version,
                             {"camera_motion": {"resolution": "annotator"}})
        s.commit()
        workflow.accept(s, task, bob, task.version)
        s.commit()


def test_review_conflicts_stats_and_export(env, tmp_path):
    env.draft(env.task_id)
    _annotate(env, env.task_id)
    _submit(env, env.task_id)
    with env.session() as s:  # an annotator may not review
        task = s.get(Task, env.task_id)
        with pytest.raises(Forbidden, match="only a reviewer or admin"):
            workflow.save_review(s, task, env.user(s, "alice"), task.version,
                                 {"caption": {"agree": True}})
    _review(env, env.task_id)
    rows = values(env, env.task_id)
    assert rows["camera_motion"].review_status == "changed"
    assert rows["camera_motion"].final == "pan"  # resolved to the annotator's value
    assert rows["composition"].final == "rule of thirds"
    assert rows["caption"].final == rows["caption"].value
    with env.session() as s:
        task = s.get(Task, env.task_id)
        assert (task.status, task.reviewer.username) == ("accepted", "bob")
        actions = [e.action for e in s.scalars(select(Event).where(
            Event.task_id == env.task_id).order_by(Event.id))]
        assert actions[0] == "draft" and actions[-1] == "accept" and "submit" in actions

        project = s.scalar(select(Project).where(Project.slug == "demo"))
        edits = {f["field"]: f for f in stats.field_edits(s, project)}
        assert edits["actions"]["edit_rate"] == 0.0
        assert edits["camera_motion"]["edit_rate"] == 1.0
        assert edits["shot_type"]["edit_rate"] == 1.0 and edits["shot_type"]["rejected"] == 1
        assert edits["scene_text"]["omission_rate"] == 1.0
        assert edits["angle"]["omission_rate"] == 0.0
        agree = {a["field"]: a for a in stats.agreement(s, project)}
        assert agree["caption"]["agreement"] == 1.0
        assert agree["camera_motion"]["agreement"] == 0.0
        assert agree["camera_motion"]["kept_annotator"] == 1
        assert agree["composition"]["took_reviewer"] == 1
        people = {p["user"]: p for p in stats.annotators(s, project)}
        assert people["alice"]["accepted"] == 1 and people["bob"]["reviewed"] == 1

        out = tmp_path / "export"
        summary = export_project(s, project, env.media, out)
    assert summary.tasks == 1 and not summary.skipped
    check = data_check(out)
    assert check.returncode == 0, check.stdout + check.stderr
    recs = {name: [json.loads(x) for x in (out / name).read_text().splitlines()]
            for name in ("captions.jsonl", "grounding.jsonl", "ocr.jsonl", "sft.jsonl")}
    caption = recs["captions.jsonl"][0]
    assert caption["kind"] == "video"
    text = caption["messages"][1]["content"]
    assert "[0s - 1s] the red square moves right" in text and "\u201cEXIT\u201d" in text
    assert [r["answer"] for r in recs["grounding.jsonl"]] == ["0-1", "1-2"]
    assert recs["ocr.jsonl"][0]["answer"] == "EXIT" and recs["ocr.jsonl"][0]["domain"] == "ocr"
    # text typed to look like protocol markers stays plain text in the SFT answers (the data
    # check above parsed every response)
    assert any(r["id"].endswith("scene_text-1-qa") for r in recs["sft.jsonl"])
    prov = caption["meta"]["provenance"]
    assert (prov["annotator"], prov["reviewer"], prov["model"]) == ("alice", "bob",
                                                                    "scripted-vlm")
    fields = prov["fields"]
    assert fields["actions"]["origin"] == "model_draft"
    assert fields["camera_motion"]["origin"] == "human"
    assert fields["composition"]["origin"] == "reviewer"
    assert fields["composition"]["by"] == "bob" and fields["composition"]["at"]
    sft = {r["id"].split("-")[-2]: r for r in recs["sft.jsonl"] if r["id"].endswith("-qa")}
    answers = [r["messages"][1]["content"] for r in recs["sft.jsonl"]]
    assert any("<|begin_of_box|>pan<|end_of_box|>" in a for a in answers)
    assert any("<|begin_of_box|>rule of thirds<|end_of_box|>" in a for a in answers)
    assert not any("wide" in a for a in answers)  # the rejected draft is not exported
    assert sft and (out / recs["captions.jsonl"][0]["messages"][0]["content"][0]["video"]).is_dir()


def test_an_image_task_exports_caption_and_ocr_records(env, tmp_path):
    image_task = env.demo.tasks[-1]  # the demo's sign with text
    env.draft(image_task)
    rows = values(env, image_task)
    assert set(rows) == {"scene_text", "shot_type", "angle", "composition", "caption"}
    # on an image every answered line is a candidate text: "I see no text." is drafted
    # literally, and the annotator's edit is what the edit rate counts
    assert rows["scene_text"].draft == [{"text": "I see no text", "start": None, "end": None,
                                         "box": None}]
    with env.session() as s:
        task = s.get(Task, image_task)
        alice, bob = env.user(s, "alice"), env.user(s, "bob")
        workflow.save_fields(s, task, alice, task.version, {
            "scene_text": {"value": [{"text": "OPEN 24H", "box": [100, 400, 900, 600]}]},
            "shot_type": {"value": "close-up"}, "angle": {"value": None},
            "composition": {"value": "centered"},
            "caption": {"value": "A sign that reads OPEN 24H."}})
        s.commit()
        workflow.submit(s, task, alice, task.version)
        s.commit()
        workflow.save_review(s, task, bob, task.version, {n: {"agree": True} for n in rows})
        s.commit()
        workflow.accept(s, task, bob, task.version)
        s.commit()
        project = s.scalar(select(Project).where(Project.slug == "demo"))
        export_project(s, project, env.media, tmp_path / "out")
    check = data_check(tmp_path / "out")
    assert check.returncode == 0, check.stdout + check.stderr
    ocr = [json.loads(x) for x in (tmp_path / "out" / "ocr.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["messages"][1]["content"]) for r in ocr] == [("ocr", "OPEN 24H")]
    assert ocr[0]["messages"][0]["content"][0]["image"].endswith(".png")
    caption = json.loads((tmp_path / "out" / "captions.jsonl").read_text())
    assert caption["kind"] == "caption" and "Shot type: close-up." in \
        caption["messages"][1]["content"]
    assert (tmp_path / "out" / "grounding.jsonl").read_text() == ""  # no time in a still


def test_a_stale_version_is_refused_and_nothing_is_overwritten(env):
    env.draft(env.task_id)
    with env.session() as a, env.session() as b:
        ta, tb = a.get(Task, env.task_id), b.get(Task, env.task_id)
        seen = ta.version
        assert tb.version == seen
        workflow.save_fields(a, ta, env.user(a, "alice"), seen, {"caption": {"value": "A's"}})
        a.commit()
        with pytest.raises(Conflict) as exc:
            workflow.save_fields(b, tb, env.user(b, "admin"), seen,
                                 {"caption": {"value": "B's"}})
        assert "changed by alice" in exc.value.message and exc.value.extra["by"] == "alice"
        assert exc.value.extra["version"] == seen + 1
    assert values(env, env.task_id)["caption"].value == "A's"


def test_concurrent_saves_with_one_version_let_exactly_one_through(env):
    env.draft(env.task_id)
    with env.session() as s:
        seen = s.get(Task, env.task_id).version
    results: list[str] = []
    barrier = threading.Barrier(4)

    def save(i: int) -> None:
        with env.session() as s:
            task = s.get(Task, env.task_id)
            barrier.wait()
            try:
                workflow.save_fields(s, task, env.user(s, "alice"), seen,
                                     {"caption": {"value": f"writer {i}"}})
                s.commit()
                results.append(f"writer {i}")
            except Conflict:
                results.append("conflict")

    threads = [threading.Thread(target=save, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [r for r in results if r != "conflict"]
    assert len(results) == 4 and len(winners) == 1
    assert values(env, env.task_id)["caption"].value == winners[0]


def test_returned_task_is_reviewed_afresh(env):
    env.draft(env.task_id)
    _annotate(env, env.task_id)
    _submit(env, env.task_id)
    with env.session() as s:
        task, bob = s.get(Task, env.task_id), env.user(s, "bob")
        workflow.save_review(s, task, bob, task.version, {"caption": {"value": "better"}})
        s.commit()
        workflow.return_task(s, task, bob, task.version, "describe the colour")
        s.commit()
        assert (task.status, task.note) == ("in_progress", "describe the colour")
        with pytest.raises(Conflict):  # not reviewable while the annotator has it
            workflow.accept(s, task, bob, task.version)
    _submit(env, env.task_id)
    assert all(fv.review_status is None for fv in values(env, env.task_id).values())


def test_skipping_a_draft_discards_the_late_one(env, tmp_path):
    task_id = env.demo.tasks[1]

    class SkipMidway(Scripted):
        def complete(self, requests, settings):  # a person skips while the model works
            with env.session() as s:
                workflow.skip_draft(s, s.get(Task, task_id), env.user(s, "alice"))
                s.commit()
            return super().complete(requests, settings)

    env.worker.drafter = SkipMidway(SCRIPT)
    assert env.draft(task_id) == "discarded"
    rows = values(env, task_id)
    assert all(not fv.has_draft and fv.value is None for fv in rows.values())
    with env.session() as s:
        assert s.get(Task, task_id).draft_status == "skipped"


def test_a_failing_model_leaves_a_readable_error_and_an_editable_task(env):
    class Broken:
        name = "broken"

        def complete(self, requests, settings):
            raise RuntimeError("CUDA out of memory")

    env.worker.drafter = Broken()
    assert env.draft(env.task_id) == "failed"
    with env.session() as s:
        task = s.get(Task, env.task_id)
        assert "CUDA out of memory" in task.draft_error
        workflow.save_fields(s, task, env.user(s, "alice"), task.version,
                             {"caption": {"value": "typed by hand"}})
        s.commit()
    assert values(env, env.task_id)["caption"].status == "edited"


def test_restart_requeues_interrupted_drafts(env):
    task_id = env.demo.tasks[1]
    with env.session() as s:
        s.get(Task, task_id).draft_status = "running"  # the server died mid-draft
        s.commit()
    assert env.worker.recover() >= 1
    assert env.worker.draft(task_id) == "done"
    assert values(env, task_id)["camera_motion"].draft == "static"


def test_nobody_reviews_their_own_annotation(env):
    task_id = env.demo.tasks[1]
    env.draft(task_id)
    _annotate(env, task_id, who="bob")  # a reviewer may annotate, too
    with env.session() as s:
        task, bob = s.get(Task, task_id), env.user(s, "bob")
        workflow.submit(s, task, bob, task.version)
        s.commit()
        assert workflow.next_task(s, task.project_id, bob, review=True) is None
        with pytest.raises(Forbidden, match="a second person must review"):
            workflow.save_review(s, task, bob, task.version, {"caption": {"agree": True}})
        assert workflow.next_task(s, task.project_id, env.user(s, "admin"), review=True).id \
            == task_id
