#!/usr/bin/env bash
# Old name of scripts/update-coverage-doc.sh (the coverage tables moved from README.md to
# docs/coverage.md): kept so existing habits and notes keep working.
exec bash "$(dirname "$0")/update-coverage-doc.sh" "$@"
