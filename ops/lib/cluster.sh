# The test cluster (`./ops/stack up cluster`, not started by default): ZooKeeper and four
# ClickHouse 18.16 servers, the cluster `finpulse` of 2 shards of 2 replicas each, on loopback,
# for the migrations ON CLUSTER, the sinks through Distributed tables and replication. Nodes 1 and
# 2 are the first replicas of shards 1 and 2, nodes 3 and 4 the second ones (~150 MB each).
# ClickHouse 18.16 has no keeper of its own. State under STACK_DIR/cluster, logs zookeeper.log and
# ch-nodeN.log.

CLUSTER_NODES=(1 2 3 4)

zk::healthy() {
  local answer
  answer=$(exec 3<>"/dev/tcp/127.0.0.1/${ZK_PORT}" && printf ruok >&3 && timeout 2 cat <&3)
  [[ "${answer}" == imok ]]
}

cluster::hosts() {
  local n sep=""
  for n in "${CLUSTER_NODES[@]}"; do printf '%s127.0.0.1:%s' "${sep}" "$(cluster::port "${n}")"; sep=,; done
}

cluster::port() { printf '%s' $(( CLUSTER_PORT + $1 - 1 )); }
cluster::http_port() { printf '%s' $(( CLUSTER_HTTP_PORT + $1 - 1 )); }

cluster::node_healthy() {
  curl -fsS "http://127.0.0.1:$(cluster::http_port "$1")/ping" | grep -q Ok
}

zk::start() {
  local dir="${STACK_DIR}/cluster/zookeeper" logfile="${STACK_DIR}/logs/zookeeper.log"
  [[ -z "$(proc::pid zookeeper)" ]] || return 0
  [[ -f /usr/share/java/zookeeper.jar ]] || die "zookeeper is not installed: run ./ops/install"
  port::free "${ZK_PORT}" || die "port ${ZK_PORT} (ZooKeeper) is in use: set FINPULSE_ZK_PORT or FINPULSE_PORT_OFFSET"
  mkdir -p "${dir}/data"
  sed -e "s#@DIR@#${dir}#g" -e "s#@PORT@#${ZK_PORT}#g" "${FINPULSE_ROOT}/ops/conf/zookeeper.cfg" >"${dir}/zoo.cfg"
  proc::start zookeeper "${logfile}" java -Xmx256m -cp "/usr/share/java/zookeeper.jar" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "${dir}/zoo.cfg"
  PIDNAME=zookeeper wait::until ZooKeeper 60 "${logfile}" zk::healthy
  log::info "ZooKeeper ready on 127.0.0.1:${ZK_PORT}"
}

cluster::start_node() {
  local n=$1 dir="${STACK_DIR}/cluster/ch-node$1" logfile="${STACK_DIR}/logs/ch-node$1.log"
  local port http
  port=$(cluster::port "${n}")
  http=$(cluster::http_port "${n}")
  [[ -z "$(proc::pid "ch-node${n}")" ]] || return 0
  port::free "${port}" || die "port ${port} (cluster node ${n}) is in use: set FINPULSE_CLUSTER_PORT or FINPULSE_PORT_OFFSET"
  CH_PORT=${port} CH_HTTP_PORT=${http} ch::write_config "${dir}"
  mkdir -p "${dir}/config.d"
  sed -e "s#@INTERSERVER_PORT@#$(( CLUSTER_INTERSERVER_PORT + n - 1 ))#g" -e "s#@ZK_PORT@#${ZK_PORT}#g" \
    -e "s#@SHARD@#$(( (n - 1) % 2 + 1 ))#g" -e "s#@REPLICA@#node${n}#g" \
    -e "s#@PORT_1@#$(cluster::port 1)#g" -e "s#@PORT_2@#$(cluster::port 2)#g" \
    -e "s#@PORT_3@#$(cluster::port 3)#g" -e "s#@PORT_4@#$(cluster::port 4)#g" \
    "${FINPULSE_ROOT}/ops/conf/clickhouse/cluster.xml" >"${dir}/config.d/cluster.xml"
  proc::start "ch-node${n}" "${logfile}" clickhouse-server --config-file="${dir}/config.xml"
}

cluster::start() {
  local n
  command -v clickhouse-server >/dev/null || die "clickhouse-server is not installed: run ./ops/install"
  zk::start
  for n in "${CLUSTER_NODES[@]}"; do cluster::start_node "${n}"; done
  for n in "${CLUSTER_NODES[@]}"; do
    PIDNAME="ch-node${n}" wait::until "cluster node ${n}" 60 "${STACK_DIR}/logs/ch-node${n}.log" \
      cluster::node_healthy "${n}"
  done
  log::info "ClickHouse cluster finpulse (2 shards x 2 replicas) ready on 127.0.0.1:$(cluster::port 1)-$(cluster::port 4)"
}

cluster::stop() {
  local n
  for n in "${CLUSTER_NODES[@]}"; do proc::stop "ch-node${n}" 30; done
  proc::stop zookeeper 20
}
