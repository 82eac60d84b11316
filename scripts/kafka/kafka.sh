#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft, broker+controller) on 127.0.0.1,
# from Maven Central jars. No Docker, no tarball. See README.md next to this file.
#
#   kafka.sh fetch | start | stop | status | clean | sasl-info | tool <MainClass> [args...]
#
# Env: KSCHED_KAFKA_VERSION (4.4.0), KSCHED_KAFKA_PORT (19092; controller = port+1),
#      KSCHED_KAFKA_HOME (~/.cache/ksched/kafka), KSCHED_KAFKA_HEAP (512m),
#      KSCHED_KAFKA_START_TIMEOUT (120 s), KSCHED_KAFKA_STOP_TIMEOUT (30 s),
#      KSCHED_KAFKA_JAVA_OPTS, KSCHED_KAFKA_SERVER_PROPS, KSCHED_KAFKA_MVN_ARGS.
#
# Opt-in SASL_SSL listener (next to PLAINTEXT, which stays the inter-broker listener):
#      KSCHED_KAFKA_SASL=1 (on port+2) or KSCHED_KAFKA_SASL_PORT=<port>. SCRAM-SHA-512, user
#      `ksched`; made once per run dir and reused: a self-signed CA + server certificate for
#      127.0.0.1/localhost (keytool), and a random password in a 0600 file, never printed.
#      `kafka.sh sasl-info` prints where to find them (JSON) while the listener is up.
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

# The SASL_SSL listener: off unless KSCHED_KAFKA_SASL is true or KSCHED_KAFKA_SASL_PORT is set.
SASL_PORT=""
case "${KSCHED_KAFKA_SASL:-}" in
1 | true | yes | on) SASL_PORT=$((PORT + 2)) ;;
"" | 0 | false | no | off) ;;
*)
  echo "kafka.sh: KSCHED_KAFKA_SASL must be 1/true/yes/on or 0/false/no/off, got '$KSCHED_KAFKA_SASL'" >&2
  exit 2
  ;;
esac
if [[ -n "${KSCHED_KAFKA_SASL_PORT:-}" ]]; then SASL_PORT="$KSCHED_KAFKA_SASL_PORT"; fi
if [[ -n "$SASL_PORT" ]]; then
  if ! [[ "$SASL_PORT" =~ ^[0-9]+$ ]] || ((SASL_PORT < 1 || SASL_PORT > 65535)) ||
    ((SASL_PORT == PORT || SASL_PORT == CONTROLLER_PORT)); then
    echo "kafka.sh: the SASL_SSL port must be a port number other than $PORT and $CONTROLLER_PORT, got '$SASL_PORT'" >&2
    exit 2
  fi
fi
SASL_USER=ksched

RUN_DIR="$KAFKA_HOME/run-$PORT"
DATA_DIR="$RUN_DIR/data"
LOG_FILE="$RUN_DIR/kafka.log"
PID_FILE="$RUN_DIR/kafka.pid"
PROPS_FILE="$RUN_DIR/server.properties"
VERSION_FILE="$RUN_DIR/formatted-version"
# SASL_SSL material (made once, kept until `clean`) and the SASL port of the running broker.
SASL_DIR="$RUN_DIR/sasl"
SASL_PASSWORD_FILE="$SASL_DIR/$SASL_USER.password"
SASL_CA_FILE="$SASL_DIR/ca.pem"
SASL_KEYSTORE="$SASL_DIR/server.p12"
SASL_KEYSTORE_PASSWORD_FILE="$SASL_DIR/keystore.password"
SASL_USER_MARKER="$SASL_DIR/$SASL_USER.created-in-cluster"
SASL_PORT_FILE="$RUN_DIR/sasl-port"

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
  local listeners="PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT"
  local advertised="PLAINTEXT://$HOST:$PORT" protocols="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
  if [[ -n "$SASL_PORT" ]]; then
    listeners+=",SASL_SSL://$HOST:$SASL_PORT"
    advertised+=",SASL_SSL://$HOST:$SASL_PORT"
    protocols+=",SASL_SSL:SASL_SSL"
  fi
  # The file holds the keystore password when SASL is on: readable by the owner only.
  (umask 077 && : >"$PROPS_FILE")
  cat >"$PROPS_FILE" <<EOF
# Generated by scripts/kafka/kafka.sh for Kafka $KAFKA_VERSION; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=$listeners
advertised.listeners=$advertised
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=$protocols
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
  if [[ -n "$SASL_PORT" ]]; then
    # SCRAM-SHA-512 over TLS for clients only; the credentials live in the cluster metadata
    # (see create_sasl_user), so the JAAS line names no user or password.
    cat >>"$PROPS_FILE" <<EOF

# SASL_SSL listener (KSCHED_KAFKA_SASL / KSCHED_KAFKA_SASL_PORT): SCRAM-SHA-512, server TLS only.
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$SASL_KEYSTORE
listener.name.sasl_ssl.ssl.keystore.password=$(cat "$SASL_KEYSTORE_PASSWORD_FILE")
listener.name.sasl_ssl.ssl.key.password=$(cat "$SASL_KEYSTORE_PASSWORD_FILE")
listener.name.sasl_ssl.ssl.client.auth=none
EOF
  fi
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

# ---------------------------------------------------------------- SASL_SSL

# 32 random letters and digits (no character that needs quoting in a properties file or JSON).
random_secret() {
  local s=""
  while ((${#s} < 32)); do s+="$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"; done
  echo "${s:0:32}"
}

find_keytool() {
  local dir
  dir="$(dirname "$(readlink -f "$JAVA_BIN" 2>/dev/null || echo "$JAVA_BIN")")"
  if [[ -x "$dir/keytool" ]]; then
    echo "$dir/keytool"
  elif command -v keytool >/dev/null 2>&1; then
    command -v keytool
  else
    die "keytool (part of the JDK/JRE) not found next to $JAVA_BIN nor on PATH; it makes the SASL_SSL certificate"
  fi
}

# Once per run dir: a self-signed CA, a server certificate it signs for 127.0.0.1 and localhost
# (PKCS12 keystore for the broker, CA as PEM for the clients), the keystore password and the
# SCRAM password of $SASL_USER (0600 files). Kept until `clean`, so clients can keep trusting it.
make_sasl_material() {
  if [[ -f "$SASL_KEYSTORE" && -s "$SASL_CA_FILE" && -s "$SASL_PASSWORD_FILE" && -s "$SASL_KEYSTORE_PASSWORD_FILE" ]]; then
    return 0
  fi
  local keytool tmp t0
  keytool="$(find_keytool)"
  t0="$(now)"
  mkdir -p "$RUN_DIR"
  tmp="$(mktemp -d "$RUN_DIR/sasl.tmp.XXXXXX")" # mode 0700
  (umask 077 && random_secret >"$tmp/keystore.password" && random_secret >"$tmp/$SASL_USER.password")
  local -a kt=("$keytool" -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -storetype PKCS12
    -storepass:file "$tmp/keystore.password")
  local -a key=(-keyalg RSA -keysize 2048 -validity 3650)
  if ! {
    "${kt[@]}" -genkeypair -alias ca -keystore "$tmp/ca.p12" "${key[@]}" -dname "CN=ksched local test CA" -ext bc:c &&
      "${kt[@]}" -exportcert -rfc -alias ca -keystore "$tmp/ca.p12" -file "$tmp/ca.pem" &&
      "${kt[@]}" -genkeypair -alias server -keystore "$tmp/server.p12" "${key[@]}" -dname "CN=$HOST" &&
      "${kt[@]}" -certreq -alias server -keystore "$tmp/server.p12" -file "$tmp/server.csr" &&
      "${kt[@]}" -gencert -alias ca -keystore "$tmp/ca.p12" -infile "$tmp/server.csr" -outfile "$tmp/server.pem" \
        -rfc -validity 3650 -ext "SAN=ip:$HOST,dns:localhost" -ext KU=digitalSignature,keyEncipherment -ext EKU=serverAuth &&
      "${kt[@]}" -importcert -noprompt -alias ca -keystore "$tmp/server.p12" -file "$tmp/ca.pem" &&
      "${kt[@]}" -importcert -noprompt -alias server -keystore "$tmp/server.p12" -file "$tmp/server.pem"
  } >"$tmp/keytool.log" 2>&1 </dev/null 8>&- 9>&-; then
    tail -n 20 "$tmp/keytool.log" >&2
    rm -rf "$tmp"
    die "keytool failed to make the SASL_SSL certificate"
  fi
  # The CA key is not needed again (a new certificate means a new run dir: `clean`).
  rm -f "$tmp/ca.p12" "$tmp/server.csr" "$tmp/keytool.log"
  rm -rf "$SASL_DIR"
  mv "$tmp" "$SASL_DIR"
  log "made the SASL_SSL CA, server certificate and $SASL_USER password in $SASL_DIR in $(elapsed "$t0") s"
}

# After the broker answers: add the SCRAM-SHA-512 credential of $SASL_USER to the cluster metadata
# (through the PLAINTEXT listener; works on storage formatted earlier without it). Done once per
# cluster id; the password goes through a 0600 file, never the command line or the log.
create_sasl_user() {
  local cluster
  cluster="$(sed -n 's/^cluster\.id=//p' "$DATA_DIR/meta.properties" 2>/dev/null | head -n 1)"
  if [[ -n "$cluster" && -f "$SASL_USER_MARKER" && "$(cat "$SASL_USER_MARKER")" == "$cluster" ]]; then return 0; fi
  local cls=org.apache.kafka.tools.ConfigCommand
  if is_kafka3; then cls=kafka.admin.ConfigCommand; fi
  local conf="$SASL_DIR/scram.properties" password out t0
  password="$(cat "$SASL_PASSWORD_FILE")"
  t0="$(now)"
  (umask 077 && printf 'SCRAM-SHA-512=password=%s\n' "$password" >"$conf")
  if ! out="$( (cmd_tool "$cls" --bootstrap-server "$BOOTSTRAP" --alter --entity-type users \
    --entity-name "$SASL_USER" --add-config-file "$conf") 2>&1 </dev/null 8>&- 9>&-)"; then
    rm -f "$conf"
    printf '%s\n' "${out//"$password"/***}" | tail -n 20 >&2
    die "could not create the SCRAM-SHA-512 user $SASL_USER (the broker keeps running; '$0 start' again retries)"
  fi
  rm -f "$conf"
  echo "$cluster" >"$SASL_USER_MARKER"
  log "SCRAM-SHA-512 user $SASL_USER created in $(elapsed "$t0") s"
}

json_string() {
  local s="${1//\\/\\\\}"
  s="${s//\"/\\\"}"
  printf '"%s"' "$s"
}

# Where a client finds the SASL_SSL listener of the running broker, as one line of JSON.
cmd_sasl_info() {
  local pid sport
  pid="$(running_pid)" || die "no broker is running on $BOOTSTRAP; start one with: KSCHED_KAFKA_SASL=1 $0 start"
  sport="$(cat "$SASL_PORT_FILE" 2>/dev/null || true)"
  [[ -n "$sport" ]] ||
    die "the broker on $BOOTSTRAP (pid $pid) runs without the SASL_SSL listener; restart it with: KSCHED_KAFKA_PORT=$PORT $0 stop && KSCHED_KAFKA_PORT=$PORT KSCHED_KAFKA_SASL=1 $0 start"
  [[ -f "$SASL_USER_MARKER" && -s "$SASL_PASSWORD_FILE" && -s "$SASL_CA_FILE" ]] ||
    die "the SASL_SSL listener on $HOST:$sport has no $SASL_USER user yet; run: KSCHED_KAFKA_SASL_PORT=$sport $0 start"
  port_open "$sport" || die "the SASL_SSL listener $HOST:$sport (pid $pid) is not answering"
  printf '{"brokers":%s,"mechanism":"scram-sha-512","username":%s,"passwordFile":%s,"caFile":%s}\n' \
    "$(json_string "$HOST:$sport")" "$(json_string "$SASL_USER")" "$(json_string "$SASL_PASSWORD_FILE")" \
    "$(json_string "$SASL_CA_FILE")"
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

# A broker found running: was it started with the SASL_SSL listener this call asks for?
check_running_sasl() {
  local pid="$1" running_sasl
  running_sasl="$(cat "$SASL_PORT_FILE" 2>/dev/null || true)"
  if [[ -n "$running_sasl" ]]; then
    if [[ -n "$SASL_PORT" && "$SASL_PORT" != "$running_sasl" ]]; then
      log "WARNING: the running broker (pid $pid) has its SASL_SSL listener on $HOST:$running_sasl, not on the requested $HOST:$SASL_PORT; to move it: $0 stop, then start again"
    fi
    create_sasl_user # normally done already; retried here if an earlier start failed at this step
    log "SASL_SSL listener on $HOST:$running_sasl (details: $0 sasl-info)"
  elif [[ -n "$SASL_PORT" ]]; then
    log "WARNING: the running broker (pid $pid) was started WITHOUT the SASL_SSL listener requested on $HOST:$SASL_PORT; it is left as it is. To get the listener: KSCHED_KAFKA_PORT=$PORT $0 stop, then start again with KSCHED_KAFKA_SASL=1"
  fi
}

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    if port_open "$PORT"; then
      log "already running (pid $pid) on $BOOTSTRAP"
    else
      log "broker pid $pid is alive but $BOOTSTRAP is not answering yet; waiting"
      wait_ready "$pid" "$(now)"
    fi
    check_running_sasl "$pid"
    echo "$BOOTSTRAP"
    return 0
  fi
  rm -f "$PID_FILE" "$SASL_PORT_FILE"
  local p
  for p in "$PORT" "$CONTROLLER_PORT" ${SASL_PORT:+"$SASL_PORT"}; do
    if port_open "$p"; then
      die "port $HOST:$p is already in use by another process (not started by this script); choose another KSCHED_KAFKA_PORT${SASL_PORT:+ / KSCHED_KAFKA_SASL_PORT}"
    fi
  done

  cmd_fetch quiet
  find_java
  if [[ -n "$SASL_PORT" ]]; then make_sasl_material; fi
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
  if [[ -n "$SASL_PORT" ]]; then echo "$SASL_PORT" >"$SASL_PORT_FILE"; fi
  log "starting Kafka $KAFKA_VERSION (pid $pid), log: $LOG_FILE"
  wait_ready "$pid" "$t0"
  if [[ -n "$SASL_PORT" ]]; then
    create_sasl_user
    log "SASL_SSL listener on $HOST:$SASL_PORT (SCRAM-SHA-512, user $SASL_USER; details: $0 sasl-info)"
  fi
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
  rm -f "$PID_FILE" "$SASL_PORT_FILE"
  log "stopped in $(elapsed "$t0") s"
}

cmd_status() {
  local pid
  if pid="$(running_pid)" && port_open "$PORT"; then
    local sasl=""
    if [[ -s "$SASL_PORT_FILE" ]]; then sasl=", SASL_SSL $HOST:$(cat "$SASL_PORT_FILE")"; fi
    echo "running (pid $pid, Kafka $(cat "$VERSION_FILE" 2>/dev/null || echo "$KAFKA_VERSION"), bootstrap $BOOTSTRAP$sasl, log $LOG_FILE)"
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
           (KSCHED_KAFKA_SASL=1: also a SASL_SSL listener on port+2, SCRAM-SHA-512 user $SASL_USER)
  stop     stop the broker (TERM, then KILL after ${STOP_TIMEOUT}s)
  status   print running/not running (exit 0/1)
  clean    stop, then remove $RUN_DIR
  sasl-info   print the running SASL_SSL listener as JSON (brokers, mechanism, username,
              passwordFile, caFile); exit 1 when there is none
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
  sasl-info) cmd_sasl_info ;;
  tool) cmd_tool "$@" ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
}

main "$@"
