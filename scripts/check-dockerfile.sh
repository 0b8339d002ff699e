#!/usr/bin/env bash
# Runs deploy/Dockerfile's build stage without a container engine: copies what its COPY lines copy
# into a clean directory and runs its RUN lines there, in order, verbatim (the apt-get line is
# replaced by a check that the host has those packages). Then checks that the six executables
# were installed and start. Takes one full release build.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/cloudgreet-dockerfile.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import re, subprocess, sys, shlex, os
work = sys.argv[1]
text = open("deploy/Dockerfile").read().replace("\\\n", " ")
stage = text.split("\nFROM ")[1]  # the build stage: from its FROM to the runtime stage's
for line in stage.splitlines():
    line = line.strip()
    if line.startswith("COPY "):
        *sources, target = line.split()[1:]
        for source in sources:
            destination = os.path.join(work, target)
            os.makedirs(destination if target.endswith("/") else os.path.dirname(destination), exist_ok=True)
            subprocess.run(["cp", "-R", source, destination], check=True)
    elif line.startswith("RUN "):
        command = line[4:]
        if command.startswith("apt-get"):
            install = next(part for part in command.split("&&") if " install " in part)
            packages = [p for p in install.split() if p not in ("apt-get", "install", "-y", "--no-install-recommends")]
            subprocess.run(["dpkg", "-s", *packages], check=True, stdout=subprocess.DEVNULL)
            print("packages present:", " ".join(packages), flush=True)
            continue
        print("RUN", command, flush=True)
        subprocess.run(["bash", "-ec", command], cwd=work, check=True)
PY
for service in gateway identity crm voice-agent messaging analytics; do
  test -x "$work/out/bin/cloudgreet-$service" || { echo "missing cloudgreet-$service" >&2; exit 1; }
done
for file in openapi.yaml api-docs/swagger-ui-bundle.js api-docs/swagger-ui.css; do
  test -s "$work/out/share/$file" || { echo "missing /usr/share/cloudgreet/$file" >&2; exit 1; }
done
# Each one runs: given a bad setting it stops at once, naming it (so it links and reads its config).
for service in gateway identity crm voice-agent messaging analytics; do
  said=$(PORT=bad "$work/out/bin/cloudgreet-$service" 2>&1 || true)
  grep -q "PORT must be" <<<"$said" || { echo "cloudgreet-$service does not run: $said" >&2; exit 1; }
done
echo "the six executables are built and run, and the API description and docs page are in place"
