#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft, broker+controller) on 127.0.0.1,
# from Maven Central jars. No Docker, no tarball. See README.md next to this file.
#
#   kafka.sh fetch | start | stop | status | clean | tool <MainClass> [args...]
#
# Env: KSCHED_KAFKA_VERSION (4.4.0), KSCHED_KAFKA_PORT (19092; controller = port+1),
#      KSCHED_KAFKA_HOME (~/.cache/ksched/kafka), KSCHED_KAFKA_HEAP (512m),
#      KSCHED_KAFKA_START_TIMEOUT (120 s), KSCHED_KAFKA_STOP_TIMEOUT (30 s),
#      KSCHED_KAFKA_JAVA_OPTS, KSCHED_KAFKA_SERVER_PROPS, KSCHED_KAFKA_MVN_ARGS.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

KAFKA_VERSION="${KSCHED_KAFKA_VERSION:-4.4.0}"
KAFKA_HOME="${KSCHED_KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/ksched/kafka}"
LIBS_DIR="$KAFKA_HOME/$KAFKA_VERSION/libs"
PORT="${KSCHED_KAFKA_PORT:-19092}"
HOST=127.0.0.1
HEAP="${KSCHED_KAFKA_HEAP:-512m}"
START_TIMEOUT="${KSCHED_KAFKA_START_TIMEOUT:-120}"
STOP_TIMEOUT="${KSCHED_KAFKA_STOP_TIMEOUT:-30}"

if ! [[ "$PORT" =~ ^[0-9]+$ ]] || ((PORT < 1 || PORT > 65534)); then
  echo "kafka.sh: KSCHED_KAFKA_PORT must be a port number (1-65534), got '$PORT'" >&2
  exit 2
fi
CONTROLLER_PORT=$((PORT + 1))
BOOTSTRAP="$HOST:$PORT"

RUN_DIR="$KAFKA_HOME/run-$PORT"
DATA_DIR="$RUN_DIR/data"
LOG_FILE="$RUN_DIR/kafka.log"
PID_FILE="$RUN_DIR/kafka.pid"
PROPS_FILE="$RUN_DIR/server.properties"
VERSION_FILE="$RUN_DIR/formatted-version"

log() { echo "kafka.sh: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

is_kafka3() { [[ "$KAFKA_VERSION" == 3.* ]]; }

# ---------------------------------------------------------------- toolchain

JAVA_BIN=""
find_java() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    JAVA_BIN="$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    JAVA_BIN="$(command -v java)"
  else
    die "java not found (set JAVA_HOME or put java on PATH). Kafka $KAFKA_VERSION needs Java $(min_java)+; e.g. apt-get install openjdk-17-jre-headless"
  fi
  local line major
  line="$("$JAVA_BIN" -version 2>&1 | head -n 1)"
  major="$(sed -E 's/.*version "([0-9]+)(\.([0-9]+))?.*/\1 \3/' <<<"$line")"
  if [[ "$major" == "1 "* ]]; then major="${major#1 }"; else major="${major%% *}"; fi
  if ! [[ "$major" =~ ^[0-9]+$ ]]; then
    log "warning: could not parse Java version from: $line"
  elif ((major < $(min_java))); then
    die "Kafka $KAFKA_VERSION needs Java $(min_java)+, but $JAVA_BIN is: $line"
  fi
}
min_java() { if is_kafka3; then echo 11; else echo 17; fi; }

# ---------------------------------------------------------------- helpers

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# pid of our broker if the pid file points at a live kafka.Kafka process
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid args
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  args="$(ps -p "$pid" -o args= 2>/dev/null || true)"
  [[ "$args" == *kafka.Kafka* ]] || return 1
  echo "$pid"
}

# Serialise start/stop/clean (per port) and fetch (per version) between concurrent callers,
# e.g. several test runners starting the same broker. Uses flock(1) where available.
take_lock() { # $1 = fd (8 or 9), $2 = lock file
  command -v flock >/dev/null 2>&1 || return 0
  mkdir -p "$(dirname "$2")"
  if [[ "$1" == 8 ]]; then exec 8>"$2"; else exec 9>"$2"; fi
  flock -w "$((START_TIMEOUT + 60))" "$1" || die "timed out waiting for lock $2"
}

now() { date +%s.%N 2>/dev/null || date +%s; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

tail_log() {
  if [[ -f "$LOG_FILE" ]]; then
    log "last lines of $LOG_FILE:"
    tail -n "${1:-40}" "$LOG_FILE" >&2
  fi
}

java_opts() {
  # shellcheck disable=SC2206 # word splitting of user-supplied options is intended
  JAVA_OPTS=(-Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent
    -Djava.awt.headless=true ${KSCHED_KAFKA_JAVA_OPTS:-})
  if is_kafka3; then
    JAVA_OPTS+=("-Dlog4j.configuration=file:$RUN_DIR/log4j.properties")
  else
    JAVA_OPTS+=("-Dlog4j2.configurationFile=$RUN_DIR/log4j2.properties")
  fi
}

# ---------------------------------------------------------------- fetch

# The jar set is keyed by the pom: editing pom.xml triggers one new fetch.
pom_sum() { cksum <"$SCRIPT_DIR/pom.xml" | awk '{ print $1 "-" $2 }'; }
libs_present() { [[ -f "$LIBS_DIR/.complete" && "$(cat "$LIBS_DIR/.complete")" == "$(pom_sum)" ]]; }

cmd_fetch() {
  if libs_present; then
    if [[ "${1:-}" != quiet ]]; then log "Kafka $KAFKA_VERSION jars present in $LIBS_DIR"; fi
    return 0
  fi
  take_lock 8 "$KAFKA_HOME/$KAFKA_VERSION/.fetch.lock"
  libs_present && return 0 # fetched by a concurrent caller while we waited
  command -v mvn >/dev/null 2>&1 ||
    die "mvn (Apache Maven) not found; it is needed once to fetch the Kafka $KAFKA_VERSION jars into $LIBS_DIR (e.g. apt-get install maven)"
  find_java
  local tmp fetch_log t0
  mkdir -p "$KAFKA_HOME/$KAFKA_VERSION"
  tmp="$(mktemp -d "$KAFKA_HOME/$KAFKA_VERSION/libs.tmp.XXXXXX")"
  fetch_log="$KAFKA_HOME/$KAFKA_VERSION/fetch.log"
  local -a mvn_args=(-q -B -Dstyle.color=never -f "$SCRIPT_DIR/pom.xml"
    "-Dkafka.version=$KAFKA_VERSION" dependency:copy-dependencies
    -DincludeScope=runtime "-DoutputDirectory=$tmp")
  if is_kafka3; then mvn_args+=(-Pkafka39); fi
  # shellcheck disable=SC2206 # word splitting of user-supplied options is intended
  mvn_args+=(${KSCHED_KAFKA_MVN_ARGS:-})
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS_DIR ..."
  t0="$(now)"
  if ! mvn "${mvn_args[@]}" >"$fetch_log" 2>&1; then
    rm -rf "$tmp"
    tail -n 40 "$fetch_log" | sed $'s/\x1b\\[[0-9;]*m//g' >&2
    die "mvn failed to fetch Kafka $KAFKA_VERSION (full log: $fetch_log)"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || {
    rm -rf "$tmp"
    die "mvn succeeded but kafka_2.13-$KAFKA_VERSION.jar is missing (see $fetch_log)"
  }
  pom_sum >"$tmp/.complete"
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"
  log "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l | tr -d ' ') jars in $(elapsed "$t0") s"
}

# ---------------------------------------------------------------- config

write_config() {
  mkdir -p "$RUN_DIR" "$DATA_DIR"
  cat >"$PROPS_FILE" <<EOF
# Generated by scripts/kafka/kafka.sh for Kafka $KAFKA_VERSION; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR

num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=4

# One node: every replication factor / ISR is 1.
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
group.initial.rebalance.delay.ms=0

# Log cleaner tuned so compaction is observable in tests (with a small segment.ms on the topic).
log.cleaner.enable=true
log.cleaner.threads=1
log.cleaner.backoff.ms=1000
log.cleaner.min.cleanable.ratio=0.01
log.cleaner.min.compaction.lag.ms=0
log.cleaner.delete.retention.ms=1000
log.cleaner.dedupe.buffer.size=16777216
log.retention.check.interval.ms=10000
EOF
  if [[ -n "${KSCHED_KAFKA_SERVER_PROPS:-}" ]]; then
    printf '\n# KSCHED_KAFKA_SERVER_PROPS\n%s\n' "$KSCHED_KAFKA_SERVER_PROPS" >>"$PROPS_FILE"
  fi

  # Everything goes to stdout, which start redirects to $LOG_FILE.
  cat >"$RUN_DIR/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.zk.name = org.apache.zookeeper
logger.zk.level = WARN
EOF
  cat >"$RUN_DIR/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.zookeeper=WARN
EOF
}

random_cluster_id() {
  # Kafka Uuid: 16 random bytes, base64url without padding (22 chars), not starting with '-'.
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* && ${#id} -eq 22 ]] && break
  done
  echo "$id"
}

format_storage() {
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    local formatted
    formatted="$(cat "$VERSION_FILE" 2>/dev/null || echo unknown)"
    if [[ "$formatted" != "$KAFKA_VERSION" && "$formatted" == 4.* && "$KAFKA_VERSION" == 3.* ]]; then
      die "$DATA_DIR was formatted by Kafka $formatted and cannot be read by $KAFKA_VERSION; run: $0 clean"
    fi
    return 0
  fi
  local cluster_id t0
  cluster_id="$(random_cluster_id)"
  t0="$(now)"
  if ! "$JAVA_BIN" "${JAVA_OPTS[@]}" -cp "$LIBS_DIR/*" kafka.tools.StorageTool format \
    -t "$cluster_id" -c "$PROPS_FILE" --ignore-formatted >>"$LOG_FILE" 2>&1 8>&- 9>&-; then
    tail_log 30
    die "formatting $DATA_DIR failed"
  fi
  echo "$KAFKA_VERSION" >"$VERSION_FILE"
  log "formatted $DATA_DIR (cluster id $cluster_id) in $(elapsed "$t0") s"
}

# ---------------------------------------------------------------- start/stop

wait_ready() {
  local pid="$1" t0="$2" deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      tail_log 60
      die "broker process $pid exited during startup (log: $LOG_FILE)"
    fi
    if port_open "$PORT" && grep -q 'Kafka Server started' "$LOG_FILE" 2>/dev/null; then
      log "ready in $(elapsed "$t0") s"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      tail_log 60
      die "broker (pid $pid) not ready on $BOOTSTRAP after ${START_TIMEOUT}s (still running; '$0 stop' to stop it; log: $LOG_FILE)"
    fi
    sleep 0.25
  done
}

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    if port_open "$PORT"; then
      log "already running (pid $pid) on $BOOTSTRAP"
      echo "$BOOTSTRAP"
      return 0
    fi
    log "broker pid $pid is alive but $BOOTSTRAP is not answering yet; waiting"
    wait_ready "$pid" "$(now)"
    echo "$BOOTSTRAP"
    return 0
  fi
  rm -f "$PID_FILE"
  local p
  for p in "$PORT" "$CONTROLLER_PORT"; do
    if port_open "$p"; then
      die "port $HOST:$p is already in use by another process (not started by this script); choose another KSCHED_KAFKA_PORT"
    fi
  done

  cmd_fetch quiet
  find_java
  write_config
  java_opts
  [[ -f "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.prev"
  : >"$LOG_FILE"
  format_storage

  local t0
  t0="$(now)"
  local -a launcher=()
  if command -v setsid >/dev/null 2>&1; then launcher=(setsid); fi
  # Detached from the caller's stdio so that `kafka.sh start` returns (and pipes close).
  nohup "${launcher[@]}" "$JAVA_BIN" "${JAVA_OPTS[@]}" -cp "$LIBS_DIR/*" \
    kafka.Kafka "$PROPS_FILE" >>"$LOG_FILE" 2>&1 </dev/null 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"
  log "starting Kafka $KAFKA_VERSION (pid $pid), log: $LOG_FILE"
  wait_ready "$pid" "$t0"
  echo "$BOOTSTRAP"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running (port $PORT)"
    return 0
  fi
  local t0
  t0="$(now)"
  log "stopping pid $pid (TERM, KILL after ${STOP_TIMEOUT}s)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "pid $pid still alive after ${STOP_TIMEOUT}s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$PID_FILE"
  log "stopped in $(elapsed "$t0") s"
}

cmd_status() {
  local pid
  if pid="$(running_pid)" && port_open "$PORT"; then
    echo "running (pid $pid, Kafka $(cat "$VERSION_FILE" 2>/dev/null || echo "$KAFKA_VERSION"), bootstrap $BOOTSTRAP, log $LOG_FILE)"
    return 0
  fi
  if [[ -n "${pid:-}" ]]; then
    echo "not running: pid $pid is alive but $BOOTSTRAP is not answering"
  else
    echo "not running (bootstrap $BOOTSTRAP)"
  fi
  return 1
}

cmd_clean() {
  cmd_stop
  if [[ -d "$RUN_DIR" ]]; then
    rm -rf "$RUN_DIR"
    log "removed $RUN_DIR (data, config, logs)"
  else
    log "nothing to clean ($RUN_DIR does not exist)"
  fi
}

# Run a Kafka CLI class from the cached jars, e.g.
#   kafka.sh tool org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:19092 --list
cmd_tool() {
  (($# >= 1)) || die "usage: $0 tool <MainClass> [args...]"
  cmd_fetch quiet
  find_java
  local cls="$1"
  shift
  local -a opts=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true)
  # CLI tools log WARN and above to stderr, so that their stdout stays clean.
  local cfg="$KAFKA_HOME/$KAFKA_VERSION"
  if is_kafka3; then
    cfg+=/tools-log4j.properties
    printf '%s\n' 'log4j.rootLogger=WARN, stderr' \
      'log4j.appender.stderr=org.apache.log4j.ConsoleAppender' \
      'log4j.appender.stderr.Target=System.err' \
      'log4j.appender.stderr.layout=org.apache.log4j.PatternLayout' \
      'log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n' >"$cfg.$$"
    mv -f "$cfg.$$" "$cfg"
    opts+=("-Dlog4j.configuration=file:$cfg")
  else
    cfg+=/tools-log4j2.properties
    printf '%s\n' 'status = warn' 'shutdownHook = disable' \
      'appender.err.type = Console' 'appender.err.name = STDERR' 'appender.err.target = SYSTEM_ERR' \
      'appender.err.layout.type = PatternLayout' 'appender.err.layout.pattern = [%d] %p %m (%c)%n' \
      'rootLogger.level = WARN' 'rootLogger.appenderRef.err.ref = STDERR' >"$cfg.$$"
    mv -f "$cfg.$$" "$cfg"
    opts+=("-Dlog4j2.configurationFile=$cfg")
  fi
  exec "$JAVA_BIN" "${opts[@]}" -cp "$LIBS_DIR/*" "$cls" "$@"
}

usage() {
  cat <<EOF
usage: $0 <command>
  fetch    download the Kafka $KAFKA_VERSION jars with Maven (once) into $LIBS_DIR
  start    format storage if needed, start the broker, wait until ready, print $BOOTSTRAP
  stop     stop the broker (TERM, then KILL after ${STOP_TIMEOUT}s)
  status   print running/not running (exit 0/1)
  clean    stop, then remove $RUN_DIR
  tool <MainClass> [args...]   run a Kafka CLI class from the jars
EOF
}

main() {
  local cmd="${1:-}"
  (($# > 0)) && shift
  case "$cmd" in
  fetch) cmd_fetch ;;
  start | stop | clean)
    take_lock 9 "$KAFKA_HOME/run-$PORT.lock"
    "cmd_$cmd"
    ;;
  status) cmd_status ;;
  tool) cmd_tool "$@" ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
}

main "$@"
