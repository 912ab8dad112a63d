#!/usr/bin/env bash
# Sets up PostgreSQL and MariaDB for the tests, and exports the URLs they read:
#   T2T_POSTGRES_URL  postgres://t2t_reader:…@127.0.0.1:PORT/t2t_sample_YYYYMMDD
#   T2T_MYSQL_URL     mysql://t2t_reader:…@127.0.0.1:PORT/t2t_sample_YYYYMMDD
# Both URLs log in as a role with SELECT rights only; the sample data (DESIGN.md §6)
# are loaded by `talk2tables-database-mcp --init-sample URL` as a separate owner role.
#
# Source it (`. scripts/db-setup.sh`) after `cargo build`. Idempotent and quick when the
# servers already run: packages are installed only when missing (Debian, as root,
# non-interactive), each server gets its own data directory, socket and loopback port
# (no systemd), and the sample database is named after today's UTC date so dates such
# as "this month" always have rows; older sample databases are dropped.
# Environment: T2T_DB_DIR (default /var/tmp/talk2tables-db), T2T_PG_PORT (55432),
# T2T_MYSQL_PORT (53306).

t2t_db_setup() {
  set -euo pipefail
  local dir="${T2T_DB_DIR:-/var/tmp/talk2tables-db}"
  local pg_port="${T2T_PG_PORT:-55432}" my_port="${T2T_MYSQL_PORT:-53306}"
  local repo; repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local bin="$repo/target/debug/talk2tables-database-mcp"
  local db; db="t2t_sample_$(date -u +%Y%m%d)"
  local reader_pw="t2t_reader_pw" owner_pw="t2t_owner_pw"
  [ -x "$bin" ] || { echo "db-setup: build first ($bin missing)" >&2; return 1; }

  # 1. Packages.
  local pgbin; pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$pgbin" ] || ! command -v mariadbd >/dev/null 2>&1; then
    echo "==> installing postgresql and mariadb-server"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql mariadb-server >/dev/null
    pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  fi

  # 2. PostgreSQL: own cluster, loopback only, UTC.
  mkdir -p "$dir"
  local pgdata="$dir/pg" pgsock="$dir/pgsock"
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    echo "==> initdb $pgdata"
    mkdir -p "$pgdata" "$pgsock"; chown postgres:postgres "$pgdata" "$pgsock"
    runuser -u postgres -- "$pgbin/initdb" -D "$pgdata" -A scram-sha-256 --auth-local=peer -U postgres \
      --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  chown postgres:postgres "$pgsock"
  if ! runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    echo "==> starting PostgreSQL on 127.0.0.1:$pg_port"
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdata" -l "$pgsock/pg.log" -w -t 60 \
      -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pgsock -c timezone=UTC -c fsync=off" \
      start >/dev/null
  fi
  local psql=(runuser -u postgres -- "$pgbin/psql" -h "$pgsock" -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -qAt)
  "${psql[@]}" -d postgres <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 't2t_owner') THEN
    CREATE ROLE t2t_owner LOGIN PASSWORD '$owner_pw'; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 't2t_reader') THEN
    CREATE ROLE t2t_reader LOGIN PASSWORD '$reader_pw'; END IF;
END \$\$;
ALTER ROLE t2t_reader SET default_transaction_read_only = on;
ALTER ROLE t2t_reader SET statement_timeout = '60s';
SQL
  local old
  for old in $("${psql[@]}" -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 't2t_sample_%' AND datname <> '$db'"); do
    "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS $old" || true
  done
  if [ -z "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE $db OWNER t2t_owner"
    "${psql[@]}" -d postgres -c "REVOKE ALL ON DATABASE $db FROM PUBLIC"
  fi
  "$bin" --init-sample "postgres://t2t_owner:$owner_pw@127.0.0.1:$pg_port/$db" 2>/dev/null
  "${psql[@]}" -d "$db" <<SQL
GRANT CONNECT ON DATABASE $db TO t2t_reader;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO t2t_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO t2t_reader;
SQL
  export T2T_POSTGRES_URL="postgres://t2t_reader:$reader_pw@127.0.0.1:$pg_port/$db"

  # 3. MariaDB: own datadir, socket and port, loopback only, UTC.
  local mydata="$dir/mysql" myrun="$dir/mysqlrun"
  local mysock="$myrun/mysql.sock"
  mkdir -p "$myrun"; chown mysql:mysql "$myrun"
  if [ ! -d "$mydata/mysql" ]; then
    echo "==> mariadb-install-db $mydata"
    mkdir -p "$mydata"; chown mysql:mysql "$mydata"
    mariadb-install-db --user=mysql --datadir="$mydata" --auth-root-authentication-method=socket \
      --skip-test-db >/dev/null 2>&1
  fi
  if ! mariadb-admin --socket="$mysock" -uroot ping >/dev/null 2>&1; then
    echo "==> starting MariaDB on 127.0.0.1:$my_port"
    setsid nohup mariadbd --no-defaults --user=mysql --datadir="$mydata" --socket="$mysock" \
      --port="$my_port" --bind-address=127.0.0.1 --pid-file="$myrun/mysql.pid" --log-error="$myrun/mysql.log" \
      --skip-name-resolve --default-time-zone=+00:00 --innodb-flush-log-at-trx-commit=0 \
      </dev/null >/dev/null 2>&1 &
    local i
    for i in $(seq 1 120); do
      mariadb-admin --socket="$mysock" -uroot ping >/dev/null 2>&1 && break
      sleep 0.5
    done
    mariadb-admin --socket="$mysock" -uroot ping >/dev/null
  fi
  local my=(mariadb --socket="$mysock" -uroot -N -B)
  for old in $("${my[@]}" -e "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 't2t\\_sample\\_%' AND SCHEMA_NAME <> '$db'"); do
    "${my[@]}" -e "DROP DATABASE IF EXISTS \`$old\`" || true
  done
  "${my[@]}" <<SQL
CREATE DATABASE IF NOT EXISTS $db CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 't2t_owner'@'127.0.0.1' IDENTIFIED BY '$owner_pw';
CREATE USER IF NOT EXISTS 't2t_reader'@'127.0.0.1' IDENTIFIED BY '$reader_pw';
GRANT ALL PRIVILEGES ON $db.* TO 't2t_owner'@'127.0.0.1';
GRANT SELECT ON $db.* TO 't2t_reader'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
  "$bin" --init-sample "mysql://t2t_owner:$owner_pw@127.0.0.1:$my_port/$db" 2>/dev/null
  export T2T_MYSQL_URL="mysql://t2t_reader:$reader_pw@127.0.0.1:$my_port/$db"
  echo "==> databases ready: T2T_POSTGRES_URL and T2T_MYSQL_URL exported (database $db)"
}

t2t_db_setup
