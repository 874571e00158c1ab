#!/usr/bin/env bash
# A single-node Kafka broker (KRaft: broker and controller in one JVM) on 127.0.0.1, for
# development and CI. The jars come from Maven Central through ./pom.xml and are cached outside
# the repository; the log dir is formatted on first start and kept until `reset`.
#
#   infra/kafka/broker.sh start   # fetch (once), format (once), start, wait for the port
#   infra/kafka/broker.sh stop    # stop the broker started by `start`
#   infra/kafka/broker.sh status  # exit 0 when it accepts connections
#   infra/kafka/broker.sh reset   # stop and delete the log dir (topics and offsets)
#
# AOS_KAFKA_HOME (default ~/.cache/aos-kafka), AOS_KAFKA_PORT (19092), AOS_KAFKA_CONTROLLER_PORT
# (19093). Prints `KAFKA_BROKERS=127.0.0.1:PORT` once it is up.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
home="${AOS_KAFKA_HOME:-$HOME/.cache/aos-kafka}"
port="${AOS_KAFKA_PORT:-19092}"
controller_port="${AOS_KAFKA_CONTROLLER_PORT:-19093}"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
libs="$home/libs-$version"
data="$home/data-$port"
pidfile="$home/broker-$port.pid"
logfile="$home/broker-$port.log"

accepting() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

fetch() {
  [[ -f "$libs/.complete" ]] && return 0
  echo "fetching Kafka $version jars into $libs" >&2
  rm -rf "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
}

write_config() {
  cat >"$home/server-$port.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data
num.partitions=4
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
PROPS
  cat >"$home/log4j.properties" <<'PROPS'
log4j.rootLogger=WARN, stdout
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
}

java_run() {
  java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$home/log4j.properties" -cp "$libs/*" "$@"
}

start() {
  mkdir -p "$home"
  if running_pid >/dev/null && accepting; then
    echo "KAFKA_BROKERS=127.0.0.1:$port"
    return 0
  fi
  if accepting; then
    echo "port $port is taken by a process this script did not start" >&2
    exit 1
  fi
  fetch
  write_config
  if [[ ! -f "$data/meta.properties" ]]; then
    # 3.9 keeps StorageTool in the core jar (kafka.tools), not in kafka-tools.
    java_run kafka.tools.StorageTool format -t "$(java_run kafka.tools.StorageTool random-uuid)" \
      -c "$home/server-$port.properties" --ignore-formatted >&2
  fi
  # setsid: the broker leaves the caller's process group and outlives its shell; setsid execs
  # java itself here, so $! is the JVM's pid.
  setsid java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$home/log4j.properties" -cp "$libs/*" \
    kafka.Kafka "$home/server-$port.properties" >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if accepting; then
      echo "KAFKA_BROKERS=127.0.0.1:$port"
      return 0
    fi
    if ! running_pid >/dev/null; then
      echo "broker exited during start; its log ($logfile):" >&2
      tail -n 40 "$logfile" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "broker did not accept connections on 127.0.0.1:$port within 60 s; log: $logfile" >&2
  exit 1
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) accepting ;;
  reset) stop; rm -rf "$data" ;;
  *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
esac
