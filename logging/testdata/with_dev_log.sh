#!/bin/sh
# Test helper for syslog_test.ts, run inside `unshare --mount`: gives this mount namespace a
# private /dev (tmpfs with the usual nodes bound from the real one) whose /dev/log is the
# socket $2, then runs the rest of the arguments. Nothing outside the namespace changes.
set -eu
work=$1 sock=$2
shift 2
mount --make-rprivate /
mkdir -p "$work/realdev"
mount --rbind /dev "$work/realdev"
mount -t tmpfs -o mode=755 hbtestdev /dev
for n in null zero full random urandom tty; do
  if [ -e "$work/realdev/$n" ]; then
    touch "/dev/$n"
    mount --bind "$work/realdev/$n" "/dev/$n"
  fi
done
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
touch /dev/log
mount --bind "$sock" /dev/log
exec "$@"
