#!/usr/bin/env bash
# Prepares a release for a maintainer to publish; publishes nothing and commits nothing.
#
#   1. `changeset version`: applies the pending changesets (.changeset/*.md): bumps the versions
#      (one fixed group: every published package gets the same version), writes the CHANGELOG.md
#      files and deletes the changesets;
#   2. `pnpm install --lockfile-only`: the lockfile follows the new versions;
#   3. `pnpm build`: every package and the API reference (docs/api);
#   4. the package checks (publint, attw) on the packed packages, whose tarballs are left in
#      release/ (emptied first);
#   5. prints what to review, commit, publish (in dependency order) and tag.
#
# Run it from a clean working tree on the release branch: it rewrites package.json files and
# deletes the changesets. Set KSCHED_RELEASE_ALLOW_DIRTY=1 to run it on a dirty tree anyway.
#
# Usage: pnpm release   (or: bash scripts/release/release.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
export TURBO_TELEMETRY_DISABLED=1

if [ -n "$(git status --porcelain)" ] && [ "${KSCHED_RELEASE_ALLOW_DIRTY:-}" != 1 ]; then
  git status --short >&2
  echo "release: the working tree has uncommitted changes; commit them first (or KSCHED_RELEASE_ALLOW_DIRTY=1)" >&2
  exit 1
fi
shopt -s nullglob
changesets=()
for file in .changeset/*.md; do [ "$(basename "$file")" = README.md ] || changesets+=("$file"); done
if [ ${#changesets[@]} -eq 0 ]; then
  echo "release: no pending changesets in .changeset/: nothing to release (add one with pnpm changeset)" >&2
  exit 1
fi

mapfile -t dirs < <(node scripts/release/published.mjs)
version() { node -p "require('./$1/package.json').version"; }
declare -A before
for dir in "${dirs[@]}"; do before[$dir]=$(version "$dir"); done

echo "release: applying ${#changesets[@]} changesets" >&2
pnpm changeset version
pnpm install --lockfile-only
pnpm build
rm -rf release
bash scripts/release/check-packages.sh release

echo
echo "Versions (check them: changesets makes a minor release of a package a major one of the packages"
echo "that have it as a peer dependency, and the fixed group gives every package the highest):"
for dir in "${dirs[@]}"; do
  echo "  $(node -p "require('./$dir/package.json').name") ${before[$dir]} -> $(version "$dir")"
done
cat <<EOM

Review the version bumps and CHANGELOG.md files (git diff), then commit them:

  git add -A && git commit -m "Version packages"

Publish the tarballs, dependencies first (npm login first; add --tag next for a prerelease):

EOM
for dir in "${dirs[@]}"; do
  tarball=release/$(node -p "const p = require('./$dir/package.json'); p.name.replace('@', '').replace('/', '-') + '-' + p.version + '.tgz'")
  [ -f "$tarball" ] || { echo "release: $tarball is missing" >&2; exit 1; }
  echo "  npm publish --access public $tarball"
done
cat <<EOM

Then tag the release and push the commit and the tags:

  pnpm changeset tag && git push --follow-tags
EOM
