# Shared helpers for the ops/ scripts: logging, paths, settings, processes.
# Sourced, never run. Every setting is an environment variable with a default.

FINPULSE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${FINPULSE_VENV:-${FINPULSE_ROOT}/.venv}
TOOLS=${FINPULSE_TOOLS:-${FINPULSE_ROOT}/.tools}

log::info() { printf '==> %s\n' "$*"; }
log::warn() { printf 'WARN: %s\n' "$*" >&2; }
log::error() { printf 'ERROR: %s\n' "$*" >&2; }
die() { log::error "$*"; exit 1; }

venv::python() {
  [[ -x "${VENV}/bin/python" ]] || die "no virtual environment at ${VENV}: run ./ops/install first"
  printf '%s' "${VENV}/bin/python"
}

# venv::quix makes QUIX_VENV, the environment of the bench's Quix Streams peer, when it has no
# quixstreams ${QUIX_VERSION}: its pins conflict with ours (confluent-kafka<2.13, rocksdict<0.4,
# pydantic<2.14), so it never shares .venv. Sets QUIX_PYTHON, or QUIX_WHY and fails; a half-made
# environment is removed, so the next run tries again.
QUIX_VENV=${FINPULSE_QUIX_VENV:-${FINPULSE_ROOT}/.venv-quix}
QUIX_VERSION=3.28.1
venv::quix() {
  local python="${QUIX_VENV}/bin/python" check errors
  check="import quixstreams, sys; sys.exit(quixstreams.__version__ != '${QUIX_VERSION}')"
  QUIX_PYTHON="" QUIX_WHY=""
  if "${python}" -c "${check}" 2>/dev/null; then
    QUIX_PYTHON=${python}
    return 0
  fi
  log::info "making ${QUIX_VENV} (quixstreams ${QUIX_VERSION}) for the Quix peer"
  rm -rf "${QUIX_VENV}"
  errors=$(mktemp)
  if python3.11 -m venv "${QUIX_VENV}" 2>"${errors}" \
    && "${python}" -m pip install --quiet --timeout 60 --retries 2 \
      "quixstreams==${QUIX_VERSION}" 2>>"${errors}" >/dev/null \
    && "${python}" -c "${check}" 2>>"${errors}"; then
    QUIX_PYTHON=${python}
  else
    QUIX_WHY="could not make ${QUIX_VENV}: $(grep -v '^WARNING' "${errors}" | tail -n 1)"
    rm -rf "${QUIX_VENV}"
  fi
  rm -f "${errors}"
  [[ -n "${QUIX_PYTHON}" ]]
}

# stack::settings resolves the stack's folder and ports. A running stack wrote its resolved
# settings to STACK_DIR/stack.env; reading them back means `down`, `status` and `env` address the
# same ports that `up` used, whatever the caller's environment says now.
stack::settings() {
  STACK_DIR=${FINPULSE_STACK_DIR:-${FINPULSE_ROOT}/.stack}
  case "${STACK_DIR}" in /*) ;; *) STACK_DIR="${PWD}/${STACK_DIR}" ;; esac
  if [[ -f "${STACK_DIR}/stack.env" ]]; then
    # shellcheck disable=SC1091
    source "${STACK_DIR}/stack.env"
    API_PORT=${API_PORT:-$(( ${FINPULSE_API_STACK_PORT:-18005} + ${FINPULSE_PORT_OFFSET:-0} ))}
    CLUSTER_PORT=${CLUSTER_PORT:-$(( ${FINPULSE_CLUSTER_PORT:-19010} + ${FINPULSE_PORT_OFFSET:-0} ))}
    CLUSTER_HTTP_PORT=${CLUSTER_HTTP_PORT:-$(( ${FINPULSE_CLUSTER_HTTP_PORT:-18130} + ${FINPULSE_PORT_OFFSET:-0} ))}
    CLUSTER_INTERSERVER_PORT=${CLUSTER_INTERSERVER_PORT:-$(( ${FINPULSE_CLUSTER_INTERSERVER_PORT:-19020} + ${FINPULSE_PORT_OFFSET:-0} ))}
    ZK_PORT=${ZK_PORT:-$(( ${FINPULSE_ZK_PORT:-19030} + ${FINPULSE_PORT_OFFSET:-0} ))}
    return
  fi
  local offset=${FINPULSE_PORT_OFFSET:-0}
  KAFKA_PORT=$(( ${FINPULSE_KAFKA_PORT:-19092} + offset ))
  S3_PORT=$(( ${FINPULSE_S3_PORT:-19093} + offset ))
  CH_PORT=$(( ${FINPULSE_CH_PORT:-19000} + offset ))
  CH_HTTP_PORT=$(( ${FINPULSE_CH_HTTP_PORT:-18123} + offset ))
  TRITON_HTTP_PORT=$(( ${FINPULSE_TRITON_HTTP_PORT:-18000} + offset ))
  TRITON_GRPC_PORT=$(( ${FINPULSE_TRITON_GRPC_PORT:-18001} + offset ))
  TRITON_METRICS_PORT=$(( ${FINPULSE_TRITON_METRICS_PORT:-18002} + offset ))
  API_PORT=$(( ${FINPULSE_API_STACK_PORT:-18005} + offset ))
  CLUSTER_PORT=$(( ${FINPULSE_CLUSTER_PORT:-19010} + offset ))
  CLUSTER_HTTP_PORT=$(( ${FINPULSE_CLUSTER_HTTP_PORT:-18130} + offset ))
  CLUSTER_INTERSERVER_PORT=$(( ${FINPULSE_CLUSTER_INTERSERVER_PORT:-19020} + offset ))
  ZK_PORT=$(( ${FINPULSE_ZK_PORT:-19030} + offset ))
  DURABLE=${FINPULSE_DURABLE:-0}
  MODEL_REPO=${FINPULSE_MODEL_REPO:-${FINPULSE_ROOT}/model_repo}
}

stack::save_settings() {
  mkdir -p "${STACK_DIR}"
  cat >"${STACK_DIR}/stack.env" <<EOT
KAFKA_PORT=${KAFKA_PORT}
S3_PORT=${S3_PORT}
CH_PORT=${CH_PORT}
CH_HTTP_PORT=${CH_HTTP_PORT}
TRITON_HTTP_PORT=${TRITON_HTTP_PORT}
TRITON_GRPC_PORT=${TRITON_GRPC_PORT}
TRITON_METRICS_PORT=${TRITON_METRICS_PORT}
API_PORT=${API_PORT}
CLUSTER_PORT=${CLUSTER_PORT}
CLUSTER_HTTP_PORT=${CLUSTER_HTTP_PORT}
CLUSTER_INTERSERVER_PORT=${CLUSTER_INTERSERVER_PORT}
ZK_PORT=${ZK_PORT}
DURABLE=${DURABLE}
MODEL_REPO=${MODEL_REPO}
EOT
}

# proc::pid NAME prints the PID of a running component, or nothing.
proc::pid() {
  local pidfile="${STACK_DIR}/$1.pid" pid
  [[ -f "${pidfile}" ]] || return 0
  pid=$(<"${pidfile}")
  if [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null; then
    printf '%s' "${pid}"
  fi
}

# proc::start NAME LOG CMD... runs CMD detached (own session, so a terminal's Ctrl-C or the
# caller's exit does not reach it) and records its PID.
proc::start() {
  local name=$1 logfile=$2
  shift 2
  mkdir -p "$(dirname "${logfile}")"
  setsid "$@" >>"${logfile}" 2>&1 </dev/null &
  echo $! >"${STACK_DIR}/${name}.pid"
}

# proc::stop NAME stops a component by its recorded PID and waits for it to exit, so a restart
# never meets "Address in use". SIGKILL after the grace period.
proc::stop() {
  local name=$1 grace=${2:-20} pid i
  pid=$(proc::pid "${name}")
  if [[ -z "${pid}" ]]; then
    rm -f "${STACK_DIR}/${name}.pid"
    return 0
  fi
  kill -TERM "${pid}" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "${pid}" 2>/dev/null; then
    log::warn "${name} (pid ${pid}) did not stop in ${grace}s: sending SIGKILL"
    kill -KILL "${pid}" 2>/dev/null || true
    while kill -0 "${pid}" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "${STACK_DIR}/${name}.pid"
  log::info "${name} stopped"
}

# wait::until NAME TIMEOUT_S LOG CMD... retries CMD until it succeeds; on timeout it names the log.
wait::until() {
  local name=$1 timeout=$2 logfile=$3 deadline
  shift 3
  deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if [[ -n "${PIDNAME:-}" && -z "$(proc::pid "${PIDNAME}")" ]]; then
      log::error "${name} exited during start-up; last lines of ${logfile}:"
      tail -n 20 "${logfile}" >&2 || true
      return 1
    fi
    if (( $(date +%s) >= deadline )); then
      log::error "${name} not healthy after ${timeout}s; see ${logfile} (last lines below)"
      tail -n 20 "${logfile}" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

# port::free PORT fails when something already listens on 127.0.0.1:PORT.
port::free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
