# The pipeline worker (`finpulse worker`) as a stack component: `./ops/stack up worker` starts one
# with the stack's settings once the servers are up; `down` stops it first (SIGTERM: faust commits
# and leaves the group). State in STACK_DIR/worker, log in logs/worker.log, Prometheus metrics on
# the Triton metrics port + 1 (18003 with no offset).

worker::metrics_port() { printf '%s' $(( TRITON_METRICS_PORT + 1 )); }

worker::start() {
  local port
  port=$(worker::metrics_port)
  if [[ -n "$(proc::pid worker)" ]]; then
    log::info "worker already running (pid $(proc::pid worker))"
    return 0
  fi
  eval "$(stack::env)"
  FINPULSE_PIPELINE_DATADIR="${STACK_DIR}/worker" FINPULSE_PIPELINE_METRICS_PORT="${port}" \
    proc::start worker "${STACK_DIR}/logs/worker.log" "${VENV}/bin/finpulse" worker
  wait::until worker 60 "${STACK_DIR}/logs/worker.log" \
    curl -fsS -o /dev/null "http://127.0.0.1:${port}/metrics"
  log::info "worker running (pid $(proc::pid worker)); metrics on http://127.0.0.1:${port}/metrics"
}

worker::stop() {
  proc::stop worker 30
}
