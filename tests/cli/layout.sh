#!/usr/bin/env bash
# layout: the folder rules of docs/architecture.md. lib/ has no loose files (one subsystem per
# folder); every quoted include in lib/, stages/ and tests/ names its folder ("core/errors.h"),
# apart from the tests' own helpers; no lib/ file shares its base name with a stage program; no
# lib/ header is named like a system header (one the compiler would find in /usr/include).
source "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { skip layout "not a git checkout"; finish; }

loose=$(git ls-files 'lib/*' | grep -v '^lib/[^/]*/' | xargs)
[ -z "$loose" ] && pass lib_files_in_subsystem_folders || fail lib_files_in_subsystem_folders "$loose"

# Test helpers live beside their tests and are included by bare name.
test_helpers=' test.h test_stderr.h '
bare=""
for f in $(git ls-files 'lib/*.[ch]' 'lib/*.cu' 'stages/*.c' 'tests/*.[ch]'); do
  while IFS= read -r inc; do
    [[ "$inc" == */* || "$test_helpers" == *" $inc "* ]] || bare="$bare $f:$inc"
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
[ -z "$bare" ] && pass includes_name_their_folder || fail includes_name_their_folder "$bare"

clash=""
for s in $(git ls-files 'stages/*.c'); do
  b=$(basename "$s" .c)
  m=$(git ls-files "lib/*/$b.[ch]" "lib/*/*/$b.[ch]" | xargs)
  [ -z "$m" ] || clash="$clash $s~$m"
done
[ -z "$clash" ] && pass no_lib_file_named_like_a_stage || fail no_lib_file_named_like_a_stage "$clash"

shadow=""
for h in $(git ls-files 'lib/*.h'); do
  b=$(basename "$h")
  if [ -e "/usr/include/$b" ] || [ -e "/usr/include/$(gcc -dumpmachine 2>/dev/null)/$b" ]; then shadow="$shadow $h"; fi
done
[ -z "$shadow" ] && pass no_header_named_like_a_system_header || fail no_header_named_like_a_system_header "$shadow"
finish
