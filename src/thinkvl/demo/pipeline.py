"""`thinkvl demo` end to end: synth → pre-train → SFT → grade → RL → evaluate → audit → report.

Each stage writes into its own folder of the run and is skipped on a rerun once complete (an
interrupted pre-training, SFT or RL stage resumes from its last checkpoint), so a crash or a
Ctrl-C loses at most the work since the last checkpoint. ``summary.json`` gathers what people
ask first: seconds and steps per stage, held-out accuracy per domain after SFT and after RL
(think and direct), RL steps / rollouts / tokens, the final expansion ratio, the reward audit,
and the checks the run must pass (RL improves held-out accuracy).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from thinkvl.config import dump_config, load_config
from thinkvl.demo.plan import DemoPlan

STAGES = ("synth", "pretrain", "sft", "grade", "rl", "eval", "audit", "report")


class DemoRun:
    """One demo run folder: stage folders, ``summary.json`` and ``config.yaml``."""

    def __init__(self, out: str | Path, plan: DemoPlan, console: Console | None = None) -> None:
        self.out, self.plan = Path(out), plan
        self.console = console or Console(stderr=True)
        self.world = self.out / "world"
        path = self.out / "summary.json"
        self.summary: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        self.summary.setdefault("stages", {})

    # --- bookkeeping ---------------------------------------------------------------------------

    def redo(self, stages: list[str]) -> None:
        """Forget ``stages`` and every stage after the earliest of them (their outputs go)."""
        unknown = sorted(set(stages) - set(STAGES))
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; stages are {', '.join(STAGES)}")
        if not stages:
            return
        first = min(STAGES.index(s) for s in stages)
        for name in STAGES[first:]:
            self.summary["stages"].pop(name, None)
            target = {"synth": self.world, "grade": self.out / "grade.json",
                      "eval": self.out / "eval"}.get(name, self.out / name)
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()

    def _stage(self, index: int, name: str, done: bool, fn) -> Any:
        label = f"[bold]{index}/{len(STAGES)} {name}[/]"
        if done:
            self.console.print(f"{label}: already complete in {self.out}, skipped (--redo {name} to rerun)")
            return None
        self.console.rule(label)
        start = time.perf_counter()
        details = fn() or {}
        self.summary["stages"][name] = {"seconds": round(time.perf_counter() - start, 1), **details}
        self.save()
        return details

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        tmp = self.out / "summary.json.tmp"
        tmp.write_text(json.dumps(self.summary, indent=1, default=str) + "\n", encoding="utf-8")
        tmp.replace(self.out / "summary.json")

    # --- stages --------------------------------------------------------------------------------

    def run(self) -> dict:
        self.out.mkdir(parents=True, exist_ok=True)
        dump_config(self.plan, self.out / "config.yaml")
        self.summary["quick"] = self.summary.get("quick", False)
        self._stage(1, "synth", (self.world / "manifest.json").exists(), self.synth)
        self._stage(2, "pretrain", self._final("pretrain"), lambda: self.supervised("pretrain"))
        self._stage(3, "sft", self._final("sft"), lambda: self.supervised("sft"))
        self._stage(4, "grade", (self.out / "grade.json").exists(), self.grade)
        self._stage(5, "rl", (self.out / "rl" / "summary.json").exists(), self.rl)
        self._stage(6, "eval", (self.out / "eval" / "direct.json").exists(), self.evaluate)
        self._stage(7, "audit", False, self.audit)
        self.collect()
        self._stage(8, "report", False, self.report)
        return self.summary

    def _final(self, name: str) -> bool:
        from thinkvl.runtime.checkpoint import has_final

        return has_final(self.out / name)

    def synth(self) -> dict:
        from thinkvl.data.synthetic import generate_world

        w = self.plan.world
        manifest = generate_world(self.world, per_domain=w.per_domain, seed=w.seed, levels=w.levels,
                                  image_size=w.image_size, progress=True)
        return {"records": {f: v["total"] for f, v in manifest["files"].items()},
                "domains": len(manifest["domains"]), "levels": manifest["levels"]}

    def supervised(self, name: str) -> dict:
        from thinkvl.track import read_metrics
        from thinkvl.train.pretrain import load_pretrain_config, run_pretrain
        from thinkvl.train.sft import load_sft_config, run_sft

        stage = getattr(self.plan, name)
        loader, runner = {"pretrain": (load_pretrain_config, run_pretrain),
                          "sft": (load_sft_config, run_sft)}[name]
        model = self.out / "init" if name == "pretrain" else self.out / "pretrain" / "final"
        data = self.world / ("pretrain.jsonl" if name == "pretrain" else "sft.jsonl")
        folder = self.out / name
        cfg = loader(stage.recipe, [f"model.path={model}", f"data.train={data}", f"run.out={folder}",
                                    f"train.steps={stage.steps}", *stage.overrides])
        runner(cfg, resume=(folder / "checkpoints").exists())
        metrics = read_metrics(folder)
        last = metrics[-1] if metrics else {}
        skipped = {k: v for k, v in (last.get("skipped") or {}).items() if v}
        return {"steps": last.get("step"), "final_loss": last.get("loss"),
                "samples": sum(m.get("samples", 0) for m in metrics),
                **({"skipped": skipped} if skipped else {})}

    def _rl_config(self):
        from thinkvl.rl.config import RLConfig

        stage = self.plan.rl
        return load_config(RLConfig, stage.recipe, [
            f"model={self.out / 'sft' / 'final'}", f"data.train={self.world / 'rl_train.jsonl'}",
            f"data.eval={self.world / 'rl_eval.jsonl'}", f"data.eval_limit={self.plan.eval.per_domain}",
            f"run.eval_samples={self.plan.eval.samples}", f"run.out={self.out / 'rl'}", f"rl.steps={stage.steps}", *stage.overrides])

    def grade(self) -> dict:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        from thinkvl.model.factory import load_model, load_processor
        from thinkvl.eval.heldout import first_per_domain
        from thinkvl.rl.data import load_prompts
        from thinkvl.rl.grade import grade

        cfg, g = self._rl_config(), self.plan.grade
        data = cfg.data.train
        total = len(first_per_domain(load_prompts(data), g.per_domain))
        with Progress("grading", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=self.console) as bar:
            task = bar.add_task("grade", total=total)
            result = grade(load_model(cfg.model), load_processor(cfg.model), data, cfg.rollout, k=g.k,
                           model_name="sft", per_domain=g.per_domain,
                           progress=lambda n: bar.advance(task, n))
        (self.out / "grade.json").write_text(json.dumps(result, indent=1) + "\n")
        return {"prompts": result["prompts"], "k": result["k"], "rollouts": result["rollouts"],
                "tiers": result["tiers"]}

    def rl(self) -> dict:
        from thinkvl.rl.run import run_rl

        folder = self.out / "rl"
        result = run_rl(self._rl_config(), resume=(folder / "checkpoints").exists())
        return {"steps": result["steps"], "rollouts": result["rollouts"]}

    def evaluate(self) -> dict:
        """Direct-answer (/nothink) accuracy of the SFT and RL models on the held-out subset the
        RL stage evaluated in think mode (same records, same greedy budgets)."""
        results: dict[str, Any] = {}
        if self.plan.eval.direct:
            from thinkvl.eval.runner import evaluate
            from thinkvl.eval.scoring import Scorer
            from thinkvl.model.settings import GenerationSettings
            from thinkvl.rewards import RewardSystem
            from thinkvl.eval.heldout import eval_summary, heldout_records

            cfg = self._rl_config()
            records = heldout_records(self.world / "rl_eval.jsonl", self.plan.eval.per_domain)
            greedy = GenerationSettings(think_budget=cfg.rollout.think_budget,
                                        answer_budget=cfg.rollout.answer_budget)
            rewards = RewardSystem.from_yaml(cfg.rewards) if cfg.rewards else RewardSystem()
            for name, model in (("sft", self.out / "sft" / "final"), ("rl", self.out / "rl" / "final")):
                result = evaluate(str(model), None, records, mode="direct", generation=greedy,
                                  scorer=Scorer(rewards=rewards), batch_size=cfg.rollout.batch_size,
                                  out_dir=self.out / "eval" / f"{name}_direct", progress=True)
                results[name] = eval_summary(result)
        folder = self.out / "eval"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "direct.json").write_text(json.dumps(results, indent=1) + "\n")
        return {"records": sum(results["sft"]["n"].values()) if results else 0}

    def audit(self) -> dict:
        from thinkvl.rewards import config as reward_config
        from thinkvl.rewards.audit import run_audit

        cfg = self._rl_config()
        report = run_audit(reward_config.load(cfg.rewards) if cfg.rewards else None)
        hackable = sorted({r.domain for r in report.hackable})
        self.summary["audit"] = {"passed": report.passed, "hackable": hackable,
                                 "config": cfg.rewards or "default", "probes": len(report.results)}
        return {"passed": report.passed, "probes": len(report.results)}

    def collect(self) -> None:
        """Accuracy, RL figures and the checks, from the stage outputs."""
        rl = json.loads((self.out / "rl" / "summary.json").read_text())
        before, after = rl.get("eval_before") or {}, rl.get("eval_after") or {}
        direct = json.loads((self.out / "eval" / "direct.json").read_text())
        s = self.summary
        s["accuracy"] = {"sft": before.get("accuracy"), "rl": after.get("accuracy")}
        s["mean_accuracy"] = {"sft": before.get("mean_accuracy"), "rl": after.get("mean_accuracy")}
        s["direct"] = {k: v.get("accuracy") for k, v in direct.items()}
        s["rl"] = {k: rl.get(k) for k in ("steps", "rollouts", "prompts", "tokens_generated",
                                          "final_expansion", "train_seconds")}
        sampled = (before.get("sampled") or {}).get("samples", 0)
        s["eval"] = {"mode": "greedy" + (f" and {sampled} sample{'s' * (sampled > 1)} per record" if sampled else ""),
                     "records_per_domain": self.plan.eval.per_domain,
                     "scored_by": "the reward system used in RL"}
        if sampled:
            s["mean_accuracy_sampled"] = {"sft": before["sampled"]["mean_accuracy"],
                                          "rl": (after.get("sampled") or {}).get("mean_accuracy")}
        s["heldout_gain"] = gain = rl.get("heldout_gain")
        s["checks"] = {
            "rl_improves_heldout": improvement_check(gain, self.plan.checks.min_rl_gain),
            "reward_audit": {"passed": bool(s.get("audit", {}).get("passed"))},
        }
        s["passed"] = all(c["passed"] for c in s["checks"].values())
        self.save()

    def report(self) -> dict:
        from thinkvl.report import build_report

        page = build_report(self.out)
        return {"page": str(page)}


def improvement_check(gain: dict | None, need: float) -> dict:
    """RL improved held-out accuracy when the paired bootstrap 95% interval of the change lies
    above ``need``: on the sampled accuracy (what RL maximises, and less noisy) when it was
    measured, else on greedy."""
    if not gain:
        return {"passed": False, "reason": "no held-out evaluation before and after RL"}
    mode = "sampled" if gain.get("sampled") else "greedy"
    ci = gain[mode]
    return {"passed": ci["low"] > need, "gain": ci["delta"], "interval": [ci["low"], ci["high"]],
            "required": f"lower bound > {need}", "mode": f"think, {mode}", "records": ci["records"]}
