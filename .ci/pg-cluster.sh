#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and CI.
#
#   .ci/pg-cluster.sh start DIR   initdb a cluster in DIR/data, start it and
#                                print ONE line on stdout: its connection URL,
#                                postgresql://USER@%2FDIR/newsriver (DIR
#                                percent-encoded)
#   .ci/pg-cluster.sh restart DIR stop and start it again (clients cut off)
#   .ci/pg-cluster.sh stop DIR    stop it (no error if it is not running) and
#                                remove DIR
#
# The server listens on no TCP port (listen_addresses = ''): only on a Unix
# socket in DIR itself, so several clusters (and Debian's own, on 5432) can
# run side by side. The URL's host is that socket directory, percent-encoded
# (libpq and tokio-postgres read a host starting with `/` as one; a
# `?host=DIR` beside `localhost` would make tokio-postgres try TCP on
# localhost:5432 first, where Debian's own cluster may answer). Authentication is
# `trust` and durability is off (fsync, synchronous_commit, full_page_writes):
# for tests only, never for data that matters.
#
# PostgreSQL refuses to run as root. Run as root, the script makes DIR the
# `postgres` user's and runs initdb/pg_ctl as that user; the superuser (and
# the URL's user) is then `postgres`. Run as anyone else, the cluster is that
# user's and so is the superuser's name. As root, every directory above DIR
# must let `postgres` through (search permission, x): anything under /tmp is
# fine (mktemp -d /tmp/newsriver-pg.XXXXXX is what .ci/run uses), a folder
# under /root is not; the script checks and says so.
#
# `start` on a DIR whose cluster is already running only prints the URL (and
# makes sure the database exists); on a DIR with a stopped cluster it starts
# that one again. Exit status: 0 ok, 2 usage, 3 no PostgreSQL server
# binaries found, 1 anything else (the server log's tail goes to stderr).
set -euo pipefail

DB=newsriver

die() {
  echo "pg-cluster: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start|stop|restart DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
case "$cmd" in start | stop | restart) ;; *) usage ;; esac
[ -n "$dir" ] || usage

# Our own settings decide where the server is: none of the caller's.
unset PGHOST PGHOSTADDR PGPORT PGDATA PGUSER PGDATABASE PGOPTIONS PGSERVICE || true

# An absolute path (the socket directory must be one), without resolving
# symbolic links so that the URL names the DIR the caller gave.
case "$dir" in
  /*) ;;
  *) dir="$PWD/$dir" ;;
esac
dir="${dir%/}"
[ -n "$dir" ] || die "refusing to use / as the cluster's folder"
# The path goes into postgresql.conf ('…') and into a URL's query string
# unescaped: keep it to characters that need no quoting in either.
case "$dir" in
  *[!A-Za-z0-9._/+-]*) die "DIR may hold only letters, digits and . _ / + - (got: $dir)" ;;
esac
# A Unix socket's path is at most 107 bytes: DIR/.s.PGSQL.5432 must fit.
[ ${#dir} -le 90 ] || die "DIR is too long for a Unix socket path (${#dir} > 90 characters): $dir"

data="$dir/data"
log="$dir/log"

# The server's binaries: /usr/lib/postgresql/<version>/bin (Debian), newest
# version first, else initdb on PATH.
find_bindir() {
  local d
  while IFS= read -r d; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done < <(printf "%s\n" /usr/lib/postgresql/*/bin | sort -t/ -k5,5 -V -r)
  if command -v initdb >/dev/null 2>&1; then
    d=$(dirname "$(command -v initdb)")
    if [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  fi
  return 1
}

if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  id -u "$owner" >/dev/null 2>&1 || die "running as root, but there is no '$owner' user to run the server as"
else
  owner=$(id -un)
fi

# Runs a command as the cluster's owner, from a directory that user can read.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null 2>&1; then
      (cd / && runuser -u "$owner" -- "$@")
    else
      (cd / && su -s /bin/sh "$owner" -c "$(printf '%q ' "$@")")
    fi
  else
    (cd / && "$@")
  fi
}

url="postgresql://$owner@${dir//\//%2F}/$DB"

# 0: running; 3: not running; 4: no usable data directory.
cluster_status() {
  local rc=0
  as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1 || rc=$?
  echo "$rc"
}

show_log() {
  if [ -f "$log" ]; then
    echo "pg-cluster: last lines of $log:" >&2
    tail -n 30 "$log" >&2 || true
  fi
}

psql_owner() {
  as_owner "$psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -U "$owner" -d postgres "$@"
}

ensure_database() {
  local exists
  exists=$(psql_owner -At -c "SELECT 1 FROM pg_database WHERE datname = '$DB'") ||
    die "could not query the cluster in $dir"
  if [ "$exists" != 1 ]; then
    # Created by the superuser, so owned by it.
    psql_owner -c "CREATE DATABASE $DB" >/dev/null || die "could not create database $DB"
  fi
}

start() {
  if ! bindir=$(find_bindir); then
    echo "pg-cluster: no PostgreSQL server binaries found (initdb and pg_ctl, looked in /usr/lib/postgresql/*/bin and on PATH); install them, e.g. apt-get install postgresql" >&2
    exit 3
  fi
  psql="$bindir/psql"
  [ -x "$psql" ] || psql=$(command -v psql) || die "no psql found beside $bindir/initdb nor on PATH"

  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$owner:" "$dir"
    as_owner test -x "$dir" -a -w "$dir" ||
      die "the '$owner' user cannot reach $dir: every folder above it needs search permission (o+x) for that user; use a folder under /tmp"
  fi

  if [ -f "$data/PG_VERSION" ]; then
    case "$(cluster_status)" in
      0)
        ensure_database
        echo "$url"
        return 0
        ;;
      3) ;; # initialized but stopped: start it below
      *) die "$data holds a cluster pg_ctl cannot use (see: $bindir/pg_ctl -D $data status)" ;;
    esac
  elif [ -e "$data" ] && [ -n "$(ls -A "$data" 2>/dev/null)" ]; then
    die "$data exists and is not a PostgreSQL cluster (a failed initdb?); run '$0 stop $dir' first"
  else
    as_owner "$bindir/initdb" -D "$data" -U "$owner" --auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      die "initdb failed"
    }
    rm -f "$dir/initdb.log"
    # Appended as the owner, so the file stays theirs. PG_DURABLE=1 (the
    # benchmark, bench/postgres.sh) keeps fsync and full-page writes on:
    # synchronous_commit off only, a commit durable once the server has
    # written it, as SQLite's synchronous = NORMAL in WAL mode.
    if [ "${PG_DURABLE:-0}" = 1 ]; then
      durability="synchronous_commit = off"
    else
      durability=$'fsync = off\nsynchronous_commit = off\nfull_page_writes = off'
    fi
    as_owner tee -a "$data/postgresql.conf" >/dev/null <<EOF

# .ci/pg-cluster.sh: a throwaway cluster for tests, reachable only through
# a Unix socket in its own folder.
listen_addresses = ''
unix_socket_directories = '$dir'
port = 5432
$durability
max_connections = 100
shared_buffers = 128MB
EOF
  fi

  if ! as_owner "$bindir/pg_ctl" -D "$data" -w -t 60 -l "$log" start >/dev/null; then
    show_log
    die "pg_ctl start failed"
  fi
  ensure_database
  echo "$url"
}

stop() {
  [ -e "$dir" ] || return 0
  [ -d "$dir" ] || die "$dir is not a folder"
  # Remove only what start made: a stray `stop $HOME` must not wipe $HOME.
  local entry
  for entry in "$dir"/* "$dir"/.[!.]*; do
    [ -e "$entry" ] || continue
    case "${entry##*/}" in
      data | log | initdb.log | .s.PGSQL.*) ;;
      *) die "$dir holds ${entry##*/}, which this script did not make: not removing it" ;;
    esac
  done
  if [ -f "$data/PG_VERSION" ]; then
    if [ "$(id -u)" -eq 0 ]; then
      owner=$(stat -c %U "$data")
      [ "$owner" != root ] || die "$data is root's: the server cannot have run from it"
    fi
    if bindir=$(find_bindir); then
      if [ "$(cluster_status)" = 0 ]; then
        as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null ||
          die "pg_ctl stop failed"
      fi
    elif [ -f "$data/postmaster.pid" ]; then
      die "a server may be running from $data but no pg_ctl is found to stop it"
    fi
  fi
  rm -rf -- "$dir"
}

# The server stopped and started again (its clients' connections cut), the
# data kept: what a server restart or failover does to the pollers.
restart() {
  [ -f "$data/PG_VERSION" ] || die "no cluster in $dir"
  bindir=$(find_bindir) || die "no pg_ctl found"
  as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 -l "$log" restart >/dev/null ||
    { show_log; die "pg_ctl restart failed"; }
}

"$cmd"
