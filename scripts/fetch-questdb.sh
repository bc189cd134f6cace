#!/usr/bin/env bash
# Fetches the QuestDB server jar (with its native libraries) from Maven Central into
# .cache/questdb. Idempotent: does nothing when the pinned jar is already there.
#
# Pinned: 9.3.4, the newest org.questdb:questdb on Maven Central at the time of
# pinning; its classes are Java 17 bytecode (major 61) and it runs on the installed
# OpenJDK 17. Change QUESTDB_VERSION here and in test/servers/questdb.ts together.
set -euo pipefail

QUESTDB_VERSION="${QUESTDB_VERSION:-9.3.4}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.cache/questdb"
JAR="$DEST/questdb-$QUESTDB_VERSION.jar"

if [ -s "$JAR" ]; then
  echo "questdb $QUESTDB_VERSION already at $JAR"
  exit 0
fi

command -v mvn >/dev/null || { echo "fetch-questdb: mvn not found (apt-get install maven)" >&2; exit 1; }
command -v java >/dev/null || { echo "fetch-questdb: java not found (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }

mkdir -p "$DEST"
mvn -q -B dependency:copy \
  -Dartifact="org.questdb:questdb:$QUESTDB_VERSION" \
  -DoutputDirectory="$DEST"
test -s "$JAR" || { echo "fetch-questdb: $JAR missing after mvn" >&2; exit 1; }
echo "questdb $QUESTDB_VERSION fetched to $JAR"
