#!/usr/bin/env bash
# Checks every published package as npm would ship it: packs it (`pnpm pack`, which rewrites
# `workspace:` ranges), then checks the tarball with publint (package.json fields, exports and the
# files they point to; warnings fail too) and @arethetypeswrong/cli (types resolve where the
# JavaScript does, with the esm-only profile since every package is ESM only; offline: no lookup
# of @types packages), and checks that it holds its README.md and the repository's LICENSE.
# Needs `pnpm build` first (the tarballs ship dist/).
#
# Usage: bash scripts/release/check-packages.sh [<folder>]
#   <folder>: where to leave the tarballs (default: a temporary folder, removed afterwards).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

work=$(mktemp -d)
cleanup=("$work")
if [ $# -gt 0 ]; then
  out=$(mkdir -p "$1" && cd "$1" && pwd)
else
  out=$(mktemp -d)
  cleanup+=("$out")
fi
trap 'rm -rf "${cleanup[@]}"' EXIT

# Packs one package into $work and checks its tarball; prints what failed and returns 1 when anything did.
check() {
  local dir=$1 tarball problems=() listing
  tarball=$(cd "$dir" && pnpm pack --pack-destination "$work" --json |
    node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).filename)')
  listing=$(tar -tzf "$tarball")
  for file in package/README.md package/LICENSE; do
    grep -qx "$file" <<<"$listing" || problems+=("$file is missing")
  done
  if grep -qx package/LICENSE <<<"$listing" && ! tar -xzOf "$tarball" package/LICENSE | cmp -s - "$root/LICENSE"; then
    problems+=("package/LICENSE differs from the repository's LICENSE")
  fi
  if tar -xzOf "$tarball" package/package.json | grep -q '"workspace:'; then
    problems+=('package.json still has a workspace: range')
  fi
  "$root/node_modules/.bin/publint" run --strict "$tarball" >"$tarball.publint" 2>&1 || problems+=(publint)
  "$root/node_modules/.bin/attw" --profile esm-only --no-definitely-typed --no-emoji --no-color --format table-flipped "$tarball" \
    >"$tarball.attw" 2>&1 || problems+=(attw)
  mv "$tarball" "$out/"
  if [ ${#problems[@]} -eq 0 ]; then
    echo "ok    $(basename "$tarball") ($dir)"
    return 0
  fi
  echo "FAIL  $(basename "$tarball") ($dir): $(IFS=';'; echo "${problems[*]}")"
  [[ " ${problems[*]} " == *" publint "* ]] && cat "$tarball.publint"
  [[ " ${problems[*]} " == *" attw "* ]] && cat "$tarball.attw"
  return 1
}

# A few packages at a time (pack, publint and attw are CPU-bound), reported in order.
mapfile -t dirs < <(node scripts/release/published.mjs)
jobs=$(node -p 'require("os").availableParallelism()')
for i in "${!dirs[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  (
    rc=0
    check "${dirs[$i]}" >"$work/$i.log" 2>&1 || rc=$?
    echo "$rc" >"$work/$i.rc"
  ) &
done
wait

failed=0
for i in "${!dirs[@]}"; do
  cat "$work/$i.log"
  [ "$(cat "$work/$i.rc" 2>/dev/null)" = 0 ] || failed=$((failed + 1))
done
if [ "$failed" -gt 0 ]; then
  echo "check-packages: $failed of ${#dirs[@]} packages have problems" >&2
  exit 1
fi
echo "check-packages: all ${#dirs[@]} published packages pass publint and attw${1:+ (tarballs in $out)}"
