#!/usr/bin/env bash
# Waits until the machine is quiet: other processes used less than ${1:-10}% of all CPUs over a 3 s window
# (max ${2:-900} s), then returns. Prints the busy share it saw. Used before benchmark runs on a shared machine.
limit=${1:-10}; maxwait=${2:-900}; start=$SECONDS
busy() {
  read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ < /proc/stat; sleep 3
  read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ < /proc/stat
  local b=$(( (u2+n2+s2+q2+sq2+st2) - (u1+n1+s1+q1+sq1+st1) )) t=$(( (u2+n2+s2+q2+sq2+st2+i2+w2) - (u1+n1+s1+q1+sq1+st1+i1+w1) ))
  echo $(( 100 * b / (t > 0 ? t : 1) ))
}
while :; do
  b=$(busy)
  if (( b < limit )); then echo "quiet: ${b}% busy; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2; exit 0; fi
  if (( SECONDS - start > maxwait )); then echo "still busy (${b}%) after ${maxwait}s" >&2; exit 1; fi
  sleep 5
done
