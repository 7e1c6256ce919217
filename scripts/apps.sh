#!/usr/bin/env bash
# Runs real applications' own pycurl test suites against our pycurl (the one built into .venv):
# tornado's CurlAsyncHTTPClient tests (CurlMulti driven by M_SOCKETFUNCTION / M_TIMERFUNCTION and
# socket_action) and pycurl-requests' tests. Both are installed from PyPI into .venv at pinned
# versions; nothing of theirs is kept in this repository. Everything talks to loopback servers.
#   bash scripts/apps.sh          the quick set (about 15 s)
#   bash scripts/apps.sh --full   also tornado's whole suite with the curl client (about 90 s),
#                                 kombu's asynchronous/HTTP and SQS tests (its pycurl client on its
#                                 own hub) and thumbor's HTTP loader tests (tornado's curl client
#                                 with LOW_SPEED options), each from its sdist (about 60 s more),
#                                 and scripts/apps/: scripts of ours driving pyload-ng's downloader,
#                                 webdavclient, curl-adapter on gevent and small wrappers against
#                                 loopback servers, whose output must equal what real pycurl printed
#                                 (the .expected files beside them; about 30 s more)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=$ROOT/.venv/bin/python
TORNADO=tornado==6.6.1
PYCURL_REQUESTS=pycurl-requests==0.5.2
# kombu 5.4 is the last with kombu.asynchronous.http.curl (5.5 moved to urllib3); its SQS
# transport, which runs on that client, needs boto3.
KOMBU=kombu==5.4.2
BOTO3=boto3==1.44.8
THUMBOR=thumbor==7.8.0
THUMBOR_TEST_DEPS="preggy==1.4.4 pyssim==0.7.1"
# scripts/apps/: each application --no-deps (they all require "pycurl"), then what it imports.
PYLOAD=pyload-ng==0.5.0b3.dev101
PYLOAD_DEPS="aia-chaser Cheroot Flask Flask-Babel Flask-Caching~=1.9 Flask-Compress~=1.8
  Flask-Session>=0.8.0 Flask-Themes2~=1.0 Flask-WTF bitmath~=1.3 cryptography defusedxml
  filetype~=1.0 mini-racer packaging pydantic certifi semver"
WEBDAV="webdavclient==1.0.8"
WEBDAV_DEPS="lxml argcomplete WsgiDAV==4.4.0 cheroot"
WRAPPERS="request-curl==0.0.3 curlquest==0.1.1 curlreq==0.1.0 http-pycurl==1.0.2 http-client==0.1.22"
WRAPPERS_DEPS="brotli requests six"
CURL_ADAPTER=curl-adapter==1.2.3
CURL_ADAPTER_DEPS="requests curl_cffi>=0.14.0,<0.17.0 brotli gevent"
# urllib3: two of pycurl-requests' tests skip without it.
"$PY" -m pip install -q --disable-pip-version-check "$TORNADO" chardet urllib3
# --no-deps: its requirement "pycurl" would pull real pycurl over ours.
"$PY" -m pip install -q --disable-pip-version-check --no-deps "$PYCURL_REQUESTS"
"$PY" -c 'import pycurl, sys; sys.exit(0 if "pycurl-rs" in pycurl.version else "pycurl is not pycurl-rs: " + pycurl.version)'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# A suite that silently skipped (e.g. because "import pycurl" failed) must not count as a pass.
check_unittest() { # name, output file, minimum number of tests
  local ran
  ran=$(sed -n 's/^Ran \([0-9]*\) tests\? in .*/\1/p' "$2")
  if ! grep -qx "OK" "$2" || [ "${ran:-0}" -lt "$3" ]; then
    tail -n 40 "$2"
    echo "$1: FAILED (ran ${ran:-0}, want >= $3 with no failure and no skip)"
    return 1
  fi
  echo "$1: $ran tests OK"
}

check_pytest() { # name, output file, minimum number passed
  local passed
  passed=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' "$2" | tail -n 1)
  if grep -qE "^[0-9]+ passed.* (failed|errors?|skipped)|^[0-9]+ (failed|errors?|skipped)" "$2" \
    || [ "${passed:-0}" -lt "$3" ]; then
    tail -n 40 "$2"
    echo "$1: FAILED (passed ${passed:-0}, want >= $3 with no failure, error or skip)"
    return 1
  fi
  echo "$1: $passed tests passed"
}

# Their tests are in the sdists, not the wheels: unpack one without building it.
sdist() { # requirement, directory name
  "$PY" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
    "$1" -d sdists >/dev/null
  tar xzf sdists/"$2".tar.gz
}

echo "== tornado.test.curl_httpclient_test ($TORNADO)"
"$PY" -m tornado.test.runtests tornado.test.curl_httpclient_test >tornado.out 2>&1 || true
check_unittest tornado-curl tornado.out 60

echo "== pycurl-requests tests ($PYCURL_REQUESTS)"
# test_get_connect_timeout needs an address that drops SYNs (192.0.2.1); sandboxes and CI refuse
# it at once, under real pycurl too, so it cannot time out there.
"$PY" -m pytest -q -p no:cacheprovider --pyargs pycurl_requests.tests \
  -k "not test_get_connect_timeout" 2>&1 | tail -n 3

if [ "${1:-}" = "--full" ]; then
  echo "== tornado's whole suite with CurlAsyncHTTPClient"
  "$PY" -m tornado.test.runtests --httpclient=tornado.curl_httpclient.CurlAsyncHTTPClient \
    >tornado-full.out 2>&1 || true
  ran=$(sed -n 's/^Ran \([0-9]*\) tests\? in .*/\1/p' tornado-full.out)
  if ! grep -q "^OK" tornado-full.out; then
    tail -n 60 tornado-full.out
    echo "tornado-full: FAILED"
    exit 1
  fi
  echo "tornado-full: $ran tests $(grep '^OK' tornado-full.out)"

  echo "== kombu's asynchronous (hub, HTTP, curl client) and SQS transport tests ($KOMBU)"
  "$PY" -m pip install -q --disable-pip-version-check "$KOMBU" "$BOTO3"
  sdist "$KOMBU" kombu-5.4.2
  (cd kombu-5.4.2 && "$PY" -m pytest -q -p no:cacheprovider t/unit/asynchronous \
    t/unit/transport/test_SQS.py) >kombu.out 2>&1 || true
  check_pytest kombu kombu.out 210

  echo "== thumbor's HTTP loader tests ($THUMBOR; tornado's curl client)"
  # shellcheck disable=SC2086
  "$PY" -m pip install -q --disable-pip-version-check "$THUMBOR" $THUMBOR_TEST_DEPS
  sdist "$THUMBOR" thumbor-7.8.0
  # Run from a copy of tests/ alone: in the unpacked tree, its uncompiled thumbor/ would
  # shadow the installed package and its C filters.
  mkdir thumbor-run && cp -r thumbor-7.8.0/tests thumbor-run/
  # test_load_with_speed_timeout fails under real pycurl and pycurl-rs alike: its handler blocks
  # the one IOLoop for 1.2 s, and libcurl reads the complete answer waiting in the socket before
  # it judges the speed, so the body is delivered (docs/differences.md).
  (cd thumbor-run && "$PY" -m pytest -q -p no:cacheprovider tests/loaders \
    -k "not test_load_with_speed_timeout") >thumbor.out 2>&1 || true
  check_pytest thumbor thumbor.out 52

  echo "== scripts/apps: pyload-ng, webdavclient, pycurl wrappers, curl-adapter on gevent"
  # shellcheck disable=SC2086
  "$PY" -m pip install -q --disable-pip-version-check --no-deps "$PYLOAD" $WEBDAV $WRAPPERS \
    "$CURL_ADAPTER"
  # shellcheck disable=SC2086
  "$PY" -m pip install -q --disable-pip-version-check $PYLOAD_DEPS $WEBDAV_DEPS $WRAPPERS_DEPS \
    $CURL_ADAPTER_DEPS
  openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
  failed=0
  for app in pyload_ng webdavclient wrappers curl_adapter_gevent; do
    # Their loopback servers log client disconnects on stderr; timings and dates are masked.
    APPS_CERT_DIR=$work timeout 120 "$PY" "$ROOT/scripts/apps/$app.py" 2>"$app.err" \
      | sed -E 's/after [0-9]+ (ms|milliseconds)/after N \1/g; s/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9:.]+/TIME/g' \
        >"$app.out" || true
    if diff -u "$ROOT/scripts/apps/$app.expected" "$app.out" >"$app.diff"; then
      echo "$app: $(wc -l <"$app.out") lines as under real pycurl"
    else
      head -n 40 "$app.diff"
      tail -n 20 "$app.err"
      echo "$app: FAILED (output differs from real pycurl's)"
      failed=1
    fi
  done
  [ "$failed" = 0 ]
fi
