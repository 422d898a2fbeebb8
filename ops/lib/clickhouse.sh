# ClickHouse: Debian's clickhouse-server (18.16 here), run in the foreground under our own
# config with its data, logs and ports inside the stack folder, so two stacks never share state.

ch::healthy() {
  curl -fsS "http://127.0.0.1:${CH_HTTP_PORT}/ping" | grep -q Ok
}

ch::write_config() {
  local dir=$1
  mkdir -p "${dir}/data" "${dir}/tmp" "${dir}/user_files" "${dir}/format_schemas"
  sed -e "s#@DIR@#${dir}#g" -e "s#@TCP_PORT@#${CH_PORT}#g" -e "s#@HTTP_PORT@#${CH_HTTP_PORT}#g" \
    -e "s#@LOG_DIR@#${STACK_DIR}/logs#g" \
    "${FINPULSE_ROOT}/ops/conf/clickhouse/config.xml" >"${dir}/config.xml"
  ch::write_users "${dir}"
}

# ch::write_users DIR writes users.xml with the analyst's and worker's passwords, made once per
# stack folder (`./ops/stack env` prints them).
ch::write_users() {
  local dir=$1 name
  mkdir -p "${dir}/passwords"
  for name in analyst worker; do
    [[ -s "${dir}/passwords/${name}" ]] || openssl rand -hex 16 >"${dir}/passwords/${name}"
  done
  sed -e "s#@ANALYST_PASSWORD@#$(<"${dir}/passwords/analyst")#" \
    -e "s#@WORKER_PASSWORD@#$(<"${dir}/passwords/worker")#" \
    "${FINPULSE_ROOT}/ops/conf/clickhouse/users.xml" >"${dir}/users.xml"
}

ch::start() {
  local dir="${STACK_DIR}/clickhouse" logfile="${STACK_DIR}/logs/clickhouse.log"
  if [[ -n "$(proc::pid clickhouse)" ]]; then
    log::info "ClickHouse already running on 127.0.0.1:${CH_PORT}"
    return 0
  fi
  command -v clickhouse-server >/dev/null || die "clickhouse-server is not installed: run ./ops/install"
  port::free "${CH_PORT}" || die "port ${CH_PORT} (ClickHouse native) is in use: set FINPULSE_CH_PORT or FINPULSE_PORT_OFFSET"
  port::free "${CH_HTTP_PORT}" || die "port ${CH_HTTP_PORT} (ClickHouse HTTP) is in use: set FINPULSE_CH_HTTP_PORT or FINPULSE_PORT_OFFSET"
  ch::write_config "${dir}"
  proc::start clickhouse "${logfile}" clickhouse-server --config-file="${dir}/config.xml"
  PIDNAME=clickhouse wait::until ClickHouse 60 "${logfile}" ch::healthy
  log::info "ClickHouse $(clickhouse-client --port "${CH_PORT}" -q 'SELECT version()') ready on 127.0.0.1:${CH_PORT} (HTTP ${CH_HTTP_PORT})"
}

ch::stop() {
  proc::stop clickhouse 30
}
