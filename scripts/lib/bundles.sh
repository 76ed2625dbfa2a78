# shellcheck shell=bash
# Data bundles: the example bundles the repository ships with its engines.

# bundle_state API ENGINE BUNDLE: "current", "none" (declared, no version
# pushed yet), or "undeclared" (the engine is not configured, or has no such
# bundle); fails when the API does not answer.
bundle_state() {
  local api=$1 engine=$2 bundle=$3 answer
  answer=$(curl -sS "${API_AUTH[@]}" -w '\n%{http_code}' "$api/engines/$engine/data") || return 1
  [[ ${answer##*$'\n'} == 200 ]] || { echo undeclared; return 0; }
  printf '%s' "${answer%$'\n'*}" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{
    const b=JSON.parse(s).bundles.find((x)=>x.bundle===process.argv[1]);
    console.log(!b?"undeclared":b.current?"current":"none")})' "$bundle"
}

# engine_available API ENGINE: a live node serves ENGINE (GET /engines).
engine_available() {
  curl -fsS "${API_AUTH[@]}" "$1/engines" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{
    process.exit(JSON.parse(s).engines.some((e)=>e.name===process.argv[1]&&e.available)?0:1)})' "$2"
}

# push_example_bundles API: pushes each engine's example bundle
# (engines/<engine>/data/<bundle>/) with `menagerie data push`, only when the
# engine declares it and has no version of it yet: a version an operator
# pushed is never replaced, and running this again changes nothing. An engine
# no node serves within a minute (its image not built) is skipped, saying so.
push_example_bundles() {
  local api=$1 dir engine bundle state
  local keys=${MENAGERIE_API_KEYS:-}
  local key=${MENAGERIE_API_KEY:-${keys%%,*}}
  API_AUTH=()
  [[ -n $key ]] && API_AUTH=(-H "X-API-Key: $key")
  for dir in "$ROOT"/engines/*/data/*/; do
    [[ -d $dir ]] || continue
    bundle=$(basename "$dir")
    engine=$(basename "$(dirname "$(dirname "$dir")")")
    state=$(bundle_state "$api" "$engine" "$bundle") || { log "could not ask the API about $engine's $bundle bundle; skipped"; continue; }
    [[ $state == none ]] || continue
    if ! (wait_for "engine $engine" 60 engine_available "$api" "$engine") 2>/dev/null; then
      log "engine $engine is not served by any node (is its image built?): its example $bundle bundle was not pushed"
      continue
    fi
    log "pushing the example $bundle bundle of engine $engine"
    MENAGERIE_API_KEY=$key node "$ROOT/apps/cli/bin/menagerie.js" --url "$api" data push "$engine" "$bundle" "$dir" >&2 ||
      log "engine $engine refused its example $bundle bundle (see above)"
  done
}
