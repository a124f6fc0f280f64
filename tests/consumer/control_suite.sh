#!/bin/sh
# An integration test suite in POSIX shell with curl, as a project that calls Switchvox from
# any language can write it against switchvox-server's control API. It needs:
#   SWITCHVOX_URL       e.g. http://127.0.0.1:8000
#   SWITCHVOX_TOKEN     the server's SWITCHVOX_CONTROL_TOKEN
#   SWITCHVOX_USER, SWITCHVOX_PASSWORD   an admin account with full access
# and prints one line per test; exits 1 if any failed.
set -u

failures=0
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT INT TERM

control() { # METHOD PATH [JSON BODY]: the control API's answer on stdout
    curl --silent --show-error --fail-with-body -X "$1" \
        -H "Authorization: Bearer $SWITCHVOX_TOKEN" -H 'Content-Type: application/json' \
        ${3:+--data-binary "$3"} "$SWITCHVOX_URL/_switchvox$2"
}

# The client under test: uploads extensions and says what became of them.
upload_extensions() { # CSV FILE
    envelope='<request method="switchvox.extensions.phones.bulk.upload"><parameters>'
    envelope="$envelope<extension_type>sip</extension_type><dupe_process>1</dupe_process>"
    envelope="$envelope<template_account_id>1</template_account_id></parameters></request>"
    answer=$(curl --silent --show-error --user "$SWITCHVOX_USER:$SWITCHVOX_PASSWORD" \
        --form-string "request=$envelope" -F "csv_file=@$1;type=text/csv" "$SWITCHVOX_URL/xml") || {
        echo "error: no answer"
        return
    }
    case $answer in
    *'code="86162"'*) echo "error: the PBX licence is full, buy more extensions" ;;
    *'<errors>'*) echo "error: $answer" ;;
    *'<created><extension'*) echo "created" ;;
    *) echo "nothing created" ;;
    esac
}

check() { # NAME CONDITION...
    name=$1
    shift
    if "$@"; then echo "ok - $name"; else echo "not ok - $name"; failures=$((failures + 1)); fi
}

contains() { case $1 in *"$2"*) return 0 ;; *) return 1 ;; esac; }

cat >"$workdir/extensions.csv" <<'CSV'
ext,fname,lname,email,password,phone_password
701,Ada,Lovelace,ada@example.com,ada-web-701,ada-sip-701
CSV

# Every test starts from a known store.
control POST /reset >/dev/null
control POST /seed '{"templates": [{"name": "Staff", "title": "Staff"}]}' >/dev/null
check "the seed was applied" contains "$(control GET /state)" '"name":"Staff"'

control POST /faults \
    '{"method": "switchvox.extensions.phones.bulk.upload", "code": 86162, "times": 1}' \
    >"$workdir/fault.json"
check "the fault was injected" contains "$(cat "$workdir/fault.json")" '"id"'
check "the client reports a full licence" \
    contains "$(upload_extensions "$workdir/extensions.csv")" "licence is full"
check "the next upload goes through" \
    contains "$(upload_extensions "$workdir/extensions.csv")" "created"

journal=$(control GET '/journal?method=switchvox.extensions.phones.bulk.upload')
check "the journal shows the fault" contains "$journal" '"fault_code":86162'
check "the journal names the file" contains "$journal" '"name":"extensions.csv"'
if contains "$journal" "ada-web-701" || contains "$journal" "ada-sip-701"; then
    check "the journal holds no password" false
else
    check "the journal holds no password" true
fi

exit $((failures > 0))
