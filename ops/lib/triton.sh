# Triton Inference Server: the tritonserver binary inside the nvidia-pytriton wheel (2.51, the
# same build as the NGC 24.10 container), python backend only, serving model_repo/.
# Three measures make that binary run from a virtual environment (../shared/DESIGN.md): the
# backend folder is assembled from the wheel's files, the venv's bin comes first in PATH (the
# stub ignores PYTHONPATH), and LD_LIBRARY_PATH holds the interpreter's libpython folder first,
# then the wheel's bundled libraries (the copied stub's RPATH no longer points at them).

triton::healthy() {
  curl -fsS -o /dev/null "http://127.0.0.1:${TRITON_HTTP_PORT}/v2/health/ready"
}

triton::site() {
  "$(venv::python)" -c "import importlib.util as u, os; print(os.path.dirname(u.find_spec('pytriton').origin))"
}

# triton::backends assembles BACKEND_DIR/python from the wheel (idempotent).
triton::backends() {
  local dest=$1 site
  site=$(triton::site)
  mkdir -p "${dest}/python"
  cp -f "${site}/tritonserver/backends/python/libtriton_python.so" \
    "${site}/tritonserver/backends/python/triton_python_backend_utils.py" \
    "${site}/tritonserver/python_backend_stubs/3.11/triton_python_backend_stub" "${dest}/python/"
  printf '%s' "${site}/tritonserver/bin/tritonserver"
}

# triton::models lists the models to load: every folder of the repository with a config.pbtxt and
# at least one numbered version. A model not yet built (no version) is skipped, not an error, so
# the stack comes up before `finpulse model export` has run.
triton::models() {
  local cfg dir
  for cfg in "${MODEL_REPO}"/*/config.pbtxt; do
    [[ -f "${cfg}" ]] || continue
    dir=$(dirname "${cfg}")
    if compgen -G "${dir}/[0-9]*/" >/dev/null; then
      basename "${dir}"
    fi
  done
}

triton::start() {
  local dir="${STACK_DIR}/triton" logfile="${STACK_DIR}/logs/triton.log" bin libdir model
  local -a load=()
  if [[ -n "$(proc::pid triton)" ]]; then
    log::info "Triton already running on 127.0.0.1:${TRITON_GRPC_PORT} (gRPC)"
    return 0
  fi
  for port in "${TRITON_HTTP_PORT}" "${TRITON_GRPC_PORT}" "${TRITON_METRICS_PORT}"; do
    port::free "${port}" || die "port ${port} (Triton) is in use: set FINPULSE_TRITON_*_PORT or FINPULSE_PORT_OFFSET"
  done
  bin=$(triton::backends "${dir}/backends")
  libdir=$("$(venv::python)" -c "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))")
  libdir="${libdir}:$(dirname "$(triton::site)")/nvidia_pytriton.libs"
  for model in $(triton::models); do load+=("--load-model=${model}"); done
  # FINPULSE_TRITON_ARGS: more tritonserver options, split on spaces (the TLS test's
  # --grpc-use-ssl=true --grpc-server-cert=...).
  # Explicit model control: models load by name (above) and `finpulse model export` can load a new
  # version through the repository API without a restart.
  proc::start triton "${logfile}" env PATH="${VENV}/bin:${PATH}" \
    LD_LIBRARY_PATH="${libdir}${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}" \
    OMP_WAIT_POLICY=PASSIVE \
    "${bin}" --model-repository="${MODEL_REPO}" --backend-directory="${dir}/backends" \
    --model-control-mode=explicit "${load[@]}" \
    --http-address=127.0.0.1 --http-port="${TRITON_HTTP_PORT}" \
    --grpc-address=127.0.0.1 --grpc-port="${TRITON_GRPC_PORT}" \
    --metrics-address=127.0.0.1 --metrics-port="${TRITON_METRICS_PORT}" \
    --disable-auto-complete-config --allow-gpu-metrics=false --pinned-memory-pool-byte-size=0 \
    --log-verbose=0 ${FINPULSE_TRITON_ARGS:-}
  PIDNAME=triton wait::until Triton 120 "${logfile}" triton::healthy
  log::info "Triton ready on 127.0.0.1:${TRITON_GRPC_PORT} (gRPC), ${TRITON_HTTP_PORT} (HTTP); models: ${load[*]#--load-model=}"
}

triton::stop() {
  proc::stop triton 30
}
