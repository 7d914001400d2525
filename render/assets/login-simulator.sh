#!/bin/sh
# Logs synthetic users in through the CIAM Kratos login API at a steady hourly rate, so staging's
# session and audit history accumulates like production's. Staging only.
set -eu
# As PID 1 the shell ignores SIGTERM unless it handles it: stop at once instead of being killed after a timeout.
trap 'exit 0' TERM INT

emails_file=/etc/login-simulator/synthetic-emails.txt
rate="$(cat /etc/login-simulator/logins-per-hour)"
interval=$((3600 / rate))
count="$(wc -l < "$emails_file")"

while true; do
  line=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % count + 1 ))
  email="$(sed -n "${line}p" "$emails_file")"
  flow="$(curl -fsS "$KRATOS_PUBLIC_URL/self-service/login/api" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p' | head -n 1)"
  # The body (with the password) goes on stdin, never in curl's arguments, which `ps` shows.
  status="$(printf '{"method":"password","identifier":"%s","password":"%s"}' "$email" "$SYNTHETIC_PASSWORD" |
    curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary @- \
      "$KRATOS_PUBLIC_URL/self-service/login?flow=$flow")"
  echo "login-simulator: $email -> $status"
  # In the background, so the trap runs as soon as the signal arrives.
  sleep "$interval" &
  wait $!
done
