#!/bin/sh
# One SeaweedFS server. Its master, volume and filer listen on the
# container's loopback only (the filer serves objects without auth); only the
# S3 gateway listens on the network, with one identity (S3_ACCESS_KEY,
# S3_SECRET_KEY) and no anonymous access. No telemetry.
set -eu
: "${S3_ACCESS_KEY:?S3_ACCESS_KEY must be set}" "${S3_SECRET_KEY:?S3_SECRET_KEY must be set}"
case "$S3_ACCESS_KEY$S3_SECRET_KEY" in *'"'* | *'\'*) echo 'S3 keys must not contain " or \' >&2; exit 1 ;; esac
umask 077
cat >/tmp/s3.json <<JSON
{"identities": [{"name": "menagerie", "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
exec weed server -dir=/data -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.ip.bind=0.0.0.0 -master.telemetry=false \
  -volume.max=200 -master.volumeSizeLimitMB=512 -master.volumePreallocate=false \
  -s3 -s3.port=8333 -s3.config=/tmp/s3.json -s3.port.iceberg=0 -s3.port.lance=0 "$@"
