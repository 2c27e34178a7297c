# syntax=docker/dockerfile:1
#
# sessiond in a small image: built with the Rust toolchain, run from
# distroless (glibc, CA certificates, no shell, no package manager) as a
# non-root user.
#
#   docker build -t sessiond .
#   docker run -p 8080:8080 -v sessiond-data:/var/lib/sessiond \
#       -e SESSIOND_ISSUER=http://localhost:8080 sessiond
#
# The first start creates the data (SQLite in the volume) and prints the
# first credentials once: `docker logs`. For several nodes on PostgreSQL see
# deploy/compose.yaml.
#
# No HEALTHCHECK: the image has no shell and no HTTP client to run one with.
# Probe over HTTP from outside instead: GET /healthz (liveness: the process
# answers) and GET /readyz (readiness: 503 while this node cannot confirm
# its revocation index is current) — Kubernetes httpGet probes, a load
# balancer's health check; nginx (open source) marks a node down from
# failed requests (max_fails / fail_timeout in deploy/nginx.conf).

# Debian 12's glibc in both stages, so the binary runs on distroless/cc.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
# The release build. .ci/run runs this very cargo command (it reads it from
# this line), so CI builds the binary the image ships.
RUN --mount=type=cache,target=/usr/local/cargo/registry cargo build --release --locked -p sessiond --bin sessiond
# The data directory, owned by the runtime user and owner-only (sessiond
# wants 0700: it holds the database and the master key).
RUN install -d -m 0700 -o 65532 -g 65532 /out/var/lib/sessiond

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/sessiond /usr/local/bin/sessiond
# The contents of /out/var/lib, i.e. the directory itself with its mode: a
# fresh volume mounted there starts as this directory, owner-only.
COPY --from=build --chown=65532:65532 /out/var/lib/ /var/lib/
# 65532 is distroless's `nonroot`.
USER 65532:65532
ENV SESSIOND_DATA_DIR=/var/lib/sessiond \
    SESSIOND_LISTEN=0.0.0.0:8080
VOLUME ["/var/lib/sessiond"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sessiond"]
CMD ["serve"]
