#!/usr/bin/env python3
"""Lay out the contest submission directory: what `docker compose up` runs from.

Usage: submission.py ROOT TARGET_DIR

The contest harness runs `docker compose up --build` inside participantes/<name>/, a directory that
holds the submission's files and no source (shared/docs/rinha-2025.md, section 4). This copies into
TARGET_DIR exactly:
  - ROOT/docker-compose.yml;
  - every file it refers to (bind-mount sources and seccomp profiles, which must be relative paths
    inside the compose file's directory: .ci/compose_rules.py checks that too);
  - ROOT/submission/info.json and ROOT/submission/README.md.
TARGET_DIR is emptied first, so nothing else is in it. Prints one line per file copied.
Exit status 1 when a referenced file is missing or outside ROOT, 2 on a usage error.
"""

import json
import shutil
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / ".ci"))
from compose_rules import referenced_files  # noqa: E402  (one definition of "a referenced file")

EXTRA_FILES = ("submission/info.json", "submission/README.md")


def submission_files(root):
    """(source, name in the submission) pairs: the compose file, what it refers to, the extras."""
    compose_path = root / "docker-compose.yml"
    compose = yaml.safe_load(compose_path.read_text())
    pairs = [(compose_path, "docker-compose.yml")]
    for service in (compose.get("services") or {}).values():
        for reference in referenced_files(service):
            relative = Path(reference)
            if relative.is_absolute() or ".." in relative.parts:
                raise SystemExit(f"submission: {reference} is not inside the compose directory")
            pair = (root / relative, str(relative))
            if pair not in pairs:
                pairs.append(pair)
    pairs += [(root / extra, Path(extra).name) for extra in EXTRA_FILES]
    return pairs


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root, target = Path(argv[0]).resolve(), Path(argv[1])
    pairs = submission_files(root)
    missing = [str(source) for source, _ in pairs if not source.is_file()]
    if missing:
        print(f"submission: missing {', '.join(missing)}", file=sys.stderr)
        return 1
    json.loads((root / "submission/info.json").read_text())  # a broken info.json fails here
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for source, name in pairs:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        print(f"submission: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
