#!/bin/bash
# packaging/bash-completion/wpctl offers what wpctl has: its subcommands
# (checked against `wpctl --help`, when given its path), config's, and the
# options of sessions, config push and ipsec sas; run by ctest (bash_completion_check).
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
source "$here/wpctl"
fail=0
# complete LINE: the words the completion offers for LINE (the cursor at its end).
complete_line() {
  COMP_LINE=$1 COMP_POINT=${#1}
  read -r -a COMP_WORDS <<<"$1"
  [[ $1 == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _wpctl
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
expect() {  # expect LINE WORD...: every WORD is offered
  local got w; got=" $(complete_line "$1")"
  for w in "${@:2}"; do
    if [[ $got != *" $w "* ]]; then echo "FAIL: '$1' does not offer $w (got:$got)"; fail=1; fi
  done
}
expect "wpctl " sessions session stats peers ha paths qos metrics config flows
expect "wpctl --token x " sessions stats config
expect "wpctl st" stats
expect "wpctl config " show check push
expect "wpctl sessions --" --tenant --service --addr --limit --after --all
expect "wpctl config push --" --dry-run --redis --prefix
expect "wpctl ipsec " sas
expect "wpctl ipsec sas --" --tunnel --json
expect "wpctl -o " table json
[ "$(complete_line "wpctl se")" = "session sessions " ] || { echo "FAIL: 'wpctl se' offers $(complete_line "wpctl se")"; fail=1; }
# Against the binary: every subcommand wpctl --help lists is offered.
if [ $# -ge 1 ] && [ -x "$1" ]; then
  subs=$("$1" --help | awk '/^Subcommands:/ {on=1; next} on && NF {print $1}')
  [ -n "$subs" ] || { echo "FAIL: no subcommands in $1 --help"; fail=1; }
  # shellcheck disable=SC2086
  expect "wpctl " $subs
fi
[ "$fail" -eq 0 ] && echo "completion: ok"
exit "$fail"
