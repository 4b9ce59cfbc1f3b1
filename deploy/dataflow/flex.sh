#!/usr/bin/env bash
# Build, launch, update and drain newsbeam on Dataflow.
#
#   deploy/dataflow/flex.sh COMMAND [--project P] [--region R] [--bucket B]
#       [--repository REPO] [--subscription SUB] [--output gs://...]
#       [--tag TAG] [--job_name NAME] [-- extra newsbeam flags]
#
# Commands:
#   image    build the one image (launcher + workers) with Cloud Build, push it
#   build    write the Flex Template spec (gs://BUCKET/templates/) for that image
#   run      launch the streaming job from the template
#   update   replace the running job of that name, keeping its state
#   drain    drain the running job of that name (finish what it holds, stop)
#   classic  launch without a template: newsbeam run --setup_file ./setup.py
#   plan     translate the template's job offline (no credentials, no network)
#
# Every setting comes from a flag or from the environment variable of the
# same name in capitals (PROJECT, REGION, BUCKET, REPOSITORY, SUBSCRIPTION,
# OUTPUT, TAG, JOB_NAME; optional: IMAGE, TEMPLATE, SERVICE_ACCOUNT,
# MACHINE_TYPE, MAX_WORKERS).  DRY_RUN=1 prints the commands instead.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NEWSBEAM="${NEWSBEAM:-newsbeam}"

die() { echo "flex.sh: $*" >&2; exit 2; }

usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

command="${1:-}"
[[ -n "$command" ]] || { usage; exit 2; }
shift
EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --project|--region|--bucket|--repository|--subscription|--output|--tag|--job_name)
      [[ $# -ge 2 ]] || die "$1 needs a value"
      name="${1#--}"
      printf -v "${name^^}" '%s' "$2"
      shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown flag $1 (newsbeam's own flags go after --)" ;;
  esac
done

need() {
  local var
  for var in "$@"; do
    [[ -n "${!var:-}" ]] || die "$var is not set: export $var=... or pass --${var,,}"
  done
}

run() {
  if [[ -n "${DRY_RUN:-}" ]]; then
    printf '%q ' "$@"
    echo
  else
    "$@"
  fi
}

TAG="${TAG:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)}"
JOB_NAME="${JOB_NAME:-newsbeam}"

image() {
  need PROJECT REGION REPOSITORY TAG
  IMAGE="${IMAGE:-$REGION-docker.pkg.dev/$PROJECT/$REPOSITORY/newsbeam:$TAG}"
}

template() {
  need BUCKET TAG
  TEMPLATE="${TEMPLATE:-gs://$BUCKET/templates/newsbeam-$TAG.json}"
}

subscription() {
  need SUBSCRIPTION
  if [[ "$SUBSCRIPTION" != projects/* ]]; then
    need PROJECT
    SUBSCRIPTION="projects/$PROJECT/subscriptions/$SUBSCRIPTION"
  fi
  need BUCKET
  OUTPUT="${OUTPUT:-gs://$BUCKET/newsbeam}"
}

launch() {  # $1: --update or empty
  image; template; subscription; need PROJECT REGION BUCKET
  local args=(
    gcloud dataflow flex-template run "$JOB_NAME"
    --project "$PROJECT" --region "$REGION"
    --template-file-gcs-location "$TEMPLATE"
    --staging-location "gs://$BUCKET/staging" --temp-location "gs://$BUCKET/tmp"
    --enable-streaming-engine
    --parameters "input_subscription=$SUBSCRIPTION"
    --parameters "output=$OUTPUT"
    --parameters "sdk_container_image=$IMAGE"
  )
  [[ -n "${SERVICE_ACCOUNT:-}" ]] && args+=(--service-account-email "$SERVICE_ACCOUNT")
  [[ -n "${MACHINE_TYPE:-}" ]] && args+=(--worker-machine-type "$MACHINE_TYPE")
  [[ -n "${MAX_WORKERS:-}" ]] && args+=(--max-workers "$MAX_WORKERS")
  [[ -n "$1" ]] && args+=("$1")
  local extra
  for extra in "${EXTRA[@]}"; do  # --name=value newsbeam flags as template parameters
    extra="${extra#--}"
    [[ "$extra" == *=* ]] || extra="$extra=true"
    args+=(--parameters "$extra")
  done
  run "${args[@]}"
}

case "$command" in
  image)
    image; need PROJECT
    run gcloud builds submit "$ROOT" --project "$PROJECT" \
      --config "$ROOT/deploy/dataflow/cloudbuild.yaml" --substitutions "_IMAGE=$IMAGE" ;;
  build)
    image; template; need PROJECT
    run gcloud dataflow flex-template build "$TEMPLATE" --project "$PROJECT" \
      --image "$IMAGE" --sdk-language PYTHON --metadata-file "$ROOT/deploy/dataflow/metadata.json" ;;
  run)
    launch "" ;;
  update)
    launch --update ;;
  drain)
    need PROJECT REGION JOB_NAME
    if [[ -n "${DRY_RUN:-}" ]]; then
      job_id='$JOB_ID'
    else
      job_id="$(gcloud dataflow jobs list --project "$PROJECT" --region "$REGION" --status active \
        --filter "name=$JOB_NAME" --format 'value(id)' | head -n 1)"
      [[ -n "$job_id" ]] || die "no active job named $JOB_NAME in $PROJECT/$REGION"
    fi
    run gcloud dataflow jobs drain "$job_id" --project "$PROJECT" --region "$REGION" ;;
  classic)
    subscription; need PROJECT REGION BUCKET
    run "$NEWSBEAM" run --runner DataflowRunner --project "$PROJECT" --region "$REGION" \
      --temp_location "gs://$BUCKET/tmp" --job_name "$JOB_NAME" --setup_file "$ROOT/setup.py" \
      --streaming --input_subscription "$SUBSCRIPTION" --output "$OUTPUT" "${EXTRA[@]}" ;;
  plan)
    image; subscription; need PROJECT REGION BUCKET
    run "$NEWSBEAM" plan --plan_dir "${PLAN_DIR:-plan}" --runner DataflowRunner \
      --project "$PROJECT" --region "$REGION" --temp_location "gs://$BUCKET/tmp" --job_name "$JOB_NAME" \
      --sdk_container_image "$IMAGE" --streaming --input_subscription "$SUBSCRIPTION" --output "$OUTPUT" \
      "${EXTRA[@]}" ;;
  *)
    usage; die "unknown command $command" ;;
esac
