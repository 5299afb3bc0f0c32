#!/bin/sh
# Renders the optional TLS server when a certificate is configured (docker-compose.tls.yml sets the
# variables and mounts hub-config/ssl). Rendered here rather than by the image's template step, so the
# plain gateway never sees a TLS server with unset variables. Named to sort after hubspoke.conf (conf.d is
# included in name order), which defines the log format and upstream it uses.
set -eu
[ -n "${GATEWAY_TLS_CERT:-}" ] || exit 0
envsubst '${GATEWAY_TLS_LISTEN_PORT} ${GATEWAY_TLS_CERT} ${GATEWAY_TLS_KEY} ${GATEWAY_CONF_DIR}' \
  < /etc/nginx/hubspoke-tls/hubspoke-tls.conf.template > "${GATEWAY_CONF_DIR}/hubspoke.tls.conf"
echo "hubspoke-tls: TLS server on ${GATEWAY_TLS_LISTEN_PORT} with ${GATEWAY_TLS_CERT}"
