"""Does `pip install "thinkvl[vllm]"` resolve beside the current vLLM? (not part of make test)

Creates a clean virtual environment in a temporary folder and asks pip for a dry-run install of
this checkout with the ``vllm`` extra, reading the resolution from pip's JSON report; passes
when the chosen vLLM is >= 0.33 (the first release whose torch pin the old exact pins refused).
Nothing is installed; wheels are downloaded to pip's cache for resolution only.

    python bench/vllm_resolve.py            # prints vllm / torch / transformers chosen, exit 1 if not >= 0.33
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        env_dir, report = Path(tmp) / "venv", Path(tmp) / "report.json"
        venv.create(env_dir, with_pip=True)
        py = env_dir / "bin" / "python"
        start = time.perf_counter()
        cmd = [str(py), "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
               "--report", str(report), f"{ROOT}[vllm]"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            print(f"FAIL: pip could not resolve thinkvl[vllm] ({seconds:.0f} s)")
            return 1
        chosen = {i["metadata"]["name"].lower(): i["metadata"]["version"]
                  for i in json.loads(report.read_text())["install"]}
    picks = {k: chosen.get(k) for k in ("vllm", "torch", "torchvision", "transformers")}
    print(json.dumps({**picks, "seconds": round(seconds, 1)}))
    major, minor = (int(x) for x in (picks["vllm"] or "0.0").split(".")[:2])
    ok = (major, minor) >= (0, 33)
    print("OK" if ok else "FAIL", f"vllm {picks['vllm']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
