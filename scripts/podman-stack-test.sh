#!/usr/bin/env bash
# The image and docker-compose.yml for real, with podman (see the project's container notes): the
# runtime stage of deploy/Dockerfile built around the host's static release binaries (no Swift
# image can be pulled here, so nothing is compiled in a container), local stand-ins for postgres
# and the mail catcher, then `podman-compose up` and one walk through the API: register, a lead,
# an appointment, and a password reset whose email arrives at the mail catcher.
# Skips (exit 0) where podman or podman-compose is not installed; needs root for debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in podman podman-compose; do
  command -v $tool >/dev/null || { echo "podman stack test skipped: $tool is not installed"; exit 0; }
done
work=$(mktemp -d /tmp/cloudgreet-podman.XXXXXX)
project=cgpodman
# These machines' podman: crun refuses hybrid cgroups, and the default ulimits are refused.
cat > "$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$work/containers.conf"
cleanup() {
  podman-compose -p $project down -v >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

base=localhost/cloudgreet-base:bookworm
if ! podman image exists $base; then
  command -v debootstrap >/dev/null || { echo "podman stack test skipped: debootstrap is not installed"; exit 0; }
  [ "$(id -u)" -eq 0 ] || { echo "podman stack test skipped: making the base image with debootstrap needs root"; exit 0; }
  debootstrap --variant=minbase --include=libcurl4,ca-certificates,tzdata,curl,postgresql,python3-aiosmtpd \
    bookworm "$work/rootfs" http://deb.debian.org/debian >/dev/null
  tar -C "$work/rootfs" -c . | podman import - $base >/dev/null
  rm -rf "$work/rootfs"
fi
podman tag $base docker.io/library/debian:bookworm-slim

echo "== static release binaries"
swift build -c release --static-swift-stdlib --scratch-path .build-static 2>&1 | grep -E "error|Compiling|Build complete" | tail -1
mkdir -p "$work/image/out/bin" "$work/image/out/share"
for service in gateway identity crm voice-agent messaging analytics; do
  install -m 0755 ".build-static/release/cloudgreet-$service" "$work/image/out/bin/"
done
cp docs/openapi.yaml "$work/image/out/share/"
PIP=".build/tools/bin/python -m pip" scripts/install-api-docs.sh "$work/image/out/share/api-docs" >/dev/null
# The Dockerfile's runtime stage, as written, but taking the binaries from the host.
sed -n '/^FROM debian/,$p' deploy/Dockerfile | sed 's|^COPY --from=build /src/out/|COPY out/|' > "$work/image/Containerfile"
echo "== image cloudgreet:dev from the Dockerfile's runtime stage"
podman build -q --format docker -t cloudgreet:dev -f "$work/image/Containerfile" "$work/image" >/dev/null
podman build -q --target postgres -t docker.io/library/postgres:15 -f deploy/podman/stand-ins.Containerfile deploy/podman >/dev/null
podman build -q --target mail -t docker.io/axllent/mailpit:v1.21 -f deploy/podman/stand-ins.Containerfile deploy/podman >/dev/null

echo "== podman-compose up"
podman-compose -p $project up -d >"$work/compose.log" 2>&1
api=http://127.0.0.1:8080/api
# Every service up and every database answering: `degraded` (a service not yet listening) is not enough.
for _ in $(seq 1 120); do
  curl -sS "$api/health" 2>/dev/null | grep -q '"overall":"healthy"' && break
  sleep 1
done
fail() {
  echo "$1" >&2
  podman-compose -p $project ps 2>&1 | tail -12 >&2
  for service in gateway identity crm messaging mail; do podman logs --tail 25 ${project}_${service}_1 2>&1 | sed "s/^/$service| /" >&2; done
  exit 1
}
curl -sS "$api/health" | grep -q '"overall":"healthy"' || fail "the stack did not become healthy: $(curl -sS "$api/health")"
# One API call, its answer in $work/answer; on failure the status, the body and the services' logs.
# A 503 is retried for a while, as its "try again shortly" asks, and each retry is printed.
call() {
  local method=$1 path=$2 body=$3 status
  for _ in $(seq 1 20); do
    status=$(curl -sS -o "$work/answer" -w '%{http_code}' -X "$method" "$api$path" -H 'Content-Type: application/json' \
      ${token:+-H "Authorization: Bearer $token"} -d "$body") || fail "$method $path: no answer"
    [ "$status" = 503 ] || break
    echo "$method $path answered 503, retrying: $(cat "$work/answer")"
    sleep 1
  done
  [[ $status == 2* ]] || fail "$method $path answered $status: $(cat "$work/answer")"
}
answer() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)" <"$work/answer"; }
token=""
call POST /auth/register '{"email":"ana@example.com","password":"password123","business_name":"Ana Plumbing"}'
token=$(answer '["data"]["token"]')
call POST /leads '{"name":"Bo","phone":"(555) 201-3344"}'
lead=$(answer '["data"]["id"]')
when=$(python3 -c 'import datetime; print((datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)).strftime("%Y-%m-%dT15:00:00Z"))')
call POST /appointments "{\"lead_id\":\"$lead\",\"scheduled_date\":\"$when\"}"
[ "$(answer '["data"]["status"]')" = scheduled ] || fail "the appointment was not scheduled: $(cat "$work/answer")"
# The image ships the API's description and the docs page's Swagger UI.
curl -fsS "$api/openapi.json" | python3 -c 'import sys, json; assert json.load(sys.stdin)["openapi"].startswith("3.1")' \
  || fail "the image does not serve /api/openapi.json"
curl -fsS -o /dev/null "$api/docs/swagger-ui-bundle.js" || fail "the image does not serve the docs page's Swagger UI"
token=""
call POST /auth/forgot-password '{"email":"ana@example.com"}'
# The catcher prints each message as received; the body is base64 (UTF-8 text), so decode it.
reset_link() {
  podman logs ${project}_mail_1 2>&1 | python3 -c '
import base64, sys
for message in sys.stdin.read().split("---------- MESSAGE FOLLOWS ----------")[1:]:
    head, _, body = message.partition("\n\n")
    if "To: ana@example.com" in head and "Subject: Reset your CloudGreet password" in head:
        text = base64.b64decode("".join(body.split("------------ END MESSAGE")[0].split())).decode()
        sys.exit(0 if "/reset-password?token=" in text else 1)
sys.exit(1)'
}
# Asked again after 20 s without it: once, on a fresh CI machine, the first email never arrived
# (the catcher had not printed it, or was not yet listening when messaging sent it).
for attempt in 1 2 3; do
  [ "$attempt" -gt 1 ] && { echo "no reset email after 20 s; asking again (try $attempt)"; call POST /auth/forgot-password '{"email":"ana@example.com"}'; }
  for _ in $(seq 1 20); do
    if reset_link; then
      # Why the first tries did not arrive, for the record (CI has needed a second try more than once).
      [ "$attempt" -gt 1 ] && podman logs ${project}_messaging_1 2>&1 | grep -i "email" | tail -5 | sed "s/^/messaging| /"
      echo "register, lead, appointment, the API docs and a reset email: all through the compose stack"
      exit 0
    fi
    sleep 1
  done
done
fail "the reset email did not reach the mail catcher"
