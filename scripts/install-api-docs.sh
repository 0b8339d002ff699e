#!/usr/bin/env bash
# Swagger UI's bundle for the docs page, into DIR (default .build/api-docs), from the wheel pinned in
# deploy/api-docs-requirements.txt. Needs python3 with pip (a venv's is fine: PIP names it).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-.build/api-docs}
pip=${PIP:-python3 -m pip}
[ -s "$target/swagger-ui-bundle.js" ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
$pip download -q --no-deps --require-hashes -r deploy/api-docs-requirements.txt -d "$work"
python3 - "$work"/*.whl "$target" <<'PY'
import os, sys, zipfile
wheel, target = sys.argv[1], sys.argv[2]
os.makedirs(target, exist_ok=True)
prefix = "drf_spectacular_sidecar/static/drf_spectacular_sidecar/swagger-ui-dist/"
with zipfile.ZipFile(wheel) as archive:
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"):
        with archive.open(prefix + name) as source, open(os.path.join(target, name), "wb") as out:
            out.write(source.read())
PY
echo "Swagger UI installed in $target"
