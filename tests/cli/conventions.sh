#!/usr/bin/env bash
# The command line's conventions, against the untorn binary given as $1:
# --version; every --help shows the defaults; a mistyped option or command
# is named, with the nearest known one; usage errors point to the
# command's own --help; explain takes several cases; run names the file of
# every line number it prints.  Prints `ok WHAT` or `FAIL WHAT: why`, then
# `N passed, M failed`; exits 1 if any failed.
#
# usage: bash tests/cli/conventions.sh build/checker/untorn
set -u
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 PATH/TO/untorn" >&2
	exit 2
fi
U=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
T=$(mktemp -d "${TMPDIR:-/tmp}/untorn-conventions.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT

passed=0
failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# run WHAT EXPECTED_STATUS -- COMMAND...: stdout in $T/out, stderr in $T/err
run() {
	local what=$1 want=$2
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$what" "exit $rc, expected $want; stderr: $(head -c 300 "$T/err")"
		return 1
	fi
	return 0
}
has() { grep -qF -- "$2" "$T/$1"; }

# --version: the version, the git revision when built from a checkout, Z3's
if run version 0 -- "$U" --version; then
	if ! grep -Eq '^untorn [0-9]+\.[0-9]+' "$T/out"; then
		fail version "no 'untorn N.N' line: $(cat "$T/out")"
	elif ! grep -Eq '^Z3 [0-9]+\.[0-9]+\.[0-9]+$' "$T/out"; then
		fail version "no 'Z3 N.N.N' line: $(cat "$T/out")"
	elif git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 && ! grep -Eq '\(git [0-9a-f]{7,}' "$T/out"; then
		fail version "built from a git checkout, but no revision: $(cat "$T/out")"
	else
		ok version
	fi
fi

# every --help shows the defaults of options that have one
help_default() { # COMMAND... -- OPTION DEFAULT
	local args=() opt def
	while [ "$1" != "--" ]; do args+=("$1"); shift; done
	opt=$2 def=$3
	if ! run "help-default ${args[*]} $opt" 0 -- "$U" "${args[@]}" --help; then return; fi
	if grep -Eq -- "^ +$opt .*=$def( |\$)" "$T/out"; then
		ok "help-default ${args[*]} $opt=$def"
	else
		fail "help-default ${args[*]} $opt" "no '$opt ...=$def' in: $(grep -F -- "$opt" "$T/out")"
	fi
}
help_default check -- --count 100000
help_default check -- --seed 1
help_default check -- --out untorn-findings
help_default prove -- --data-extents 4
help_default prove -- --cow-extents 2
help_default prove -- --solver-timeout 60000
help_default census -- --count 1000000
help_default bench -- --variant v6.18
help_default kernel fuzz -- --count 1000
help_default run -- --engine z3

# a typo names the unknown option or command and the nearest known one
typo() { # WHAT EXPECTED_FRAGMENT COMMAND...
	local what=$1 frag=$2
	shift 2
	if ! run "$what" 2 -- "$U" "$@"; then return; fi
	if ! has err "$frag"; then
		fail "$what" "stderr lacks '$frag': $(cat "$T/err")"
	elif [ -s "$T/out" ]; then
		fail "$what" "something on stdout"
	else
		ok "$what"
	fi
}
typo typo-option "unknown option --varient; did you mean --variant?" check --varient v6.18
typo typo-before-required "unknown option --xfsio; did you mean --xfs-io?" export --xfsio x.json
typo typo-command "unknown subcommand chek; did you mean check?" chek
typo typo-group-command "unknown subcommand rn; did you mean run?" kernel rn
typo typo-no-near-name "unknown option --frobnicate" check --frobnicate
if run typo-required-not-blamed 2 -- "$U" export --xfsio x.json && has err "is required"; then
	fail typo-required-not-blamed "blames a required option: $(cat "$T/err")"
else
	ok typo-required-not-blamed
fi

# usage errors point to the command's own help
typo help-pointer-check '(see `untorn check --help`)' check --count 0
typo help-pointer-kernel-run '(see `untorn kernel run --help`)' kernel run --variant nope x.json
typo help-pointer-top '(see `untorn --help`)' chek

# explain takes several cases, each under its file's name
A=corpus/findings/v6.16/v6.16-hole-runs-to-next-cow-extent-written.json
B=corpus/findings/v6.16/v6.16-cow-delalloc-handed-to-dio-eio.json
if run explain-several 0 -- "$U" explain "$A" "$B"; then
	if [ "$(grep -c '^== ' "$T/out")" -eq 2 ] && has out "== $A" && has out "== $B"; then
		ok explain-several
	else
		fail explain-several "expected one '== FILE' header per case: $(grep '^== ' "$T/out")"
	fi
fi
"$U" explain "$A" >"$T/one" 2>/dev/null
"$U" explain "$A" "$B" 2>/dev/null | sed -n "2,$(($(wc -l <"$T/one") + 1))p" >"$T/first"
if cmp -s "$T/one" "$T/first"; then ok explain-several-same-text; else fail explain-several-same-text "the first case's text differs from explaining it alone"; fi
typo explain-several-one-svg "--svg draws one case" explain "$A" "$B" --svg "$T/x.svg"

# run names the file of every line number it prints
if run run-line-files 0 -- "$U" run "$A" "$B"; then
	if has out "[line "; then
		fail run-line-files "a bare [line N]: $(grep -F '[line ' "$T/out" | head -1)"
	elif ! grep -Eq '\[impl/variants/v6_16\.cpp:[0-9]+\]' "$T/out" || ! grep -Eq '\[impl/src/xfs_kernel\.cpp:[0-9]+\]' "$T/out"; then
		fail run-line-files "no [FILE:LINE] for the variant and the shared code"
	elif grep -E '\) -> (not )?taken' "$T/out" | grep -Evq '\[[^]]+\.cpp:[0-9]+\]$'; then
		fail run-line-files "a decision without FILE:LINE: $(grep -E '\) -> (not )?taken' "$T/out" | grep -Ev '\[[^]]+\.cpp:[0-9]+\]$' | head -1)"
	else
		ok run-line-files
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
