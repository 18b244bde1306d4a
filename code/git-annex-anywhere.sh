#!/usr/bin/env bash
# Plain git works in the dataset from any shell, without `. .venv/bin/activate`. git-annex lives
# only in .venv, and git calls it for every annexed path (filter.annex.*) and in its hooks
# (`git annex ...`): point both at .venv's git-annex by its absolute path, in the dataset and in
# every installed subdataset (data/raw). Only .git/config changes, which no clone carries, so
# these machine-specific paths never reach another machine.
# Usage: code/git-annex-anywhere.sh PATH/TO/git-annex DATASET
set -euo pipefail
annex="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[ -x "$annex" ] || { echo "error: $1 is not an executable git-annex" >&2; exit 1; }

configure() {
  # A repository whose annex is not initialised yet keeps git's defaults: nothing calls git-annex.
  git -C "$1" config --get annex.uuid >/dev/null || return 0
  # A linked worktree shares .git/config with its main checkout and every other worktree: a path
  # into this worktree's .venv must not land there (it breaks them all when this one goes).
  [ "$(git -C "$1" rev-parse --git-dir)" -ef "$(git -C "$1" rev-parse --git-common-dir)" ] || return 0
  git -C "$1" config filter.annex.process "$annex filter-process"
  git -C "$1" config filter.annex.smudge "$annex smudge -- %f"
  git -C "$1" config filter.annex.clean "$annex smudge --clean -- %f"
  # git runs an alias only when no git-annex is on PATH: an activated .venv still uses its own.
  git -C "$1" config alias.annex "!$annex"
}

configure "$2"
git -C "$2" submodule foreach --quiet --recursive pwd | while read -r subdataset; do configure "$subdataset"; done
