# The HTTP API and dashboard (`finpulse api`) as a stack component: `./ops/stack up api` serves
# it on 127.0.0.1 (port 18005 + offset) with the stack's settings; the read-only pages are open on
# loopback, the subscription endpoints need the token, generated once into STACK_DIR/api.token
# unless FINPULSE_API_TOKENS is set. Log in logs/api.log.

api::token() {
  local file="${STACK_DIR}/api.token"
  if [[ -n "${FINPULSE_API_TOKENS:-}" ]]; then
    printf '%s' "${FINPULSE_API_TOKENS}"
    return
  fi
  [[ -s "${file}" ]] || "$(venv::python)" -c 'import secrets; print(secrets.token_urlsafe())' >"${file}"
  cat "${file}"
}

api::start() {
  if [[ -n "$(proc::pid api)" ]]; then
    log::info "API already running on http://127.0.0.1:${API_PORT}/"
    return 0
  fi
  port::free "${API_PORT}" || die "port ${API_PORT} (API) is in use: set FINPULSE_API_STACK_PORT or FINPULSE_PORT_OFFSET"
  eval "$(stack::env)"
  FINPULSE_API_TOKENS="$(api::token)" FINPULSE_TOOLS="${TOOLS}" \
    proc::start api "${STACK_DIR}/logs/api.log" "${VENV}/bin/finpulse" api --host 127.0.0.1 --port "${API_PORT}"
  PIDNAME=api wait::until API 60 "${STACK_DIR}/logs/api.log" \
    curl -fsS -o /dev/null "http://127.0.0.1:${API_PORT}/healthz"
  log::info "API and dashboard on http://127.0.0.1:${API_PORT}/ (token for /v1: ${STACK_DIR}/api.token)"
}

api::stop() {
  proc::stop api 20
}
