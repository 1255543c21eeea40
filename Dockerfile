# syntax=docker/dockerfile:1
# alarm-digest: build with the Rust toolchain on Debian, run on debian-slim as a non-root user.
# All settings come from environment variables (see the README's configuration table).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src

# Dependencies first, against stub sources: this layer is reused until Cargo.toml or
# Cargo.lock change, so editing the code does not rebuild every crate.
COPY Cargo.toml Cargo.lock build.rs ./
COPY crates/domain/Cargo.toml crates/domain/
COPY crates/usecases/Cargo.toml crates/usecases/
COPY crates/store-codec/Cargo.toml crates/store-codec/
COPY crates/store-sqlite/Cargo.toml crates/store-sqlite/
COPY crates/store-mongo/Cargo.toml crates/store-mongo/
COPY crates/wire/Cargo.toml crates/wire/
COPY crates/nats/Cargo.toml crates/nats/
COPY crates/web/Cargo.toml crates/web/
RUN mkdir -p src benches/service e2e \
    && for c in crates/*; do mkdir -p "$c/src" && touch "$c/src/lib.rs"; done \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs e2e/main.rs \
    && echo 'fn main() {}' > benches/store_apply.rs \
    && echo 'fn main() {}' > benches/service/main.rs \
    && GIT_SHA=unknown cargo build --release --locked --bin alarm-digest \
    && rm -rf src crates/*/src

# The commit is passed in because the build context has no .git (see .dockerignore).
ARG GIT_SHA=unknown
COPY crates ./crates
COPY src ./src
RUN touch src/main.rs src/lib.rs crates/*/src/lib.rs \
    && GIT_SHA="${GIT_SHA}" cargo build --release --locked --bin alarm-digest \
    && cp target/release/alarm-digest /usr/local/bin/alarm-digest

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/alarm-digest --create-home alarm-digest
COPY --from=build /usr/local/bin/alarm-digest /usr/local/bin/alarm-digest

USER alarm-digest:alarm-digest
# The embedded SQLite default (sqlite://./data/...) lands here when STORE_URL is not set.
WORKDIR /var/lib/alarm-digest
ENV HTTP_ADDR=0.0.0.0:8080 \
    LOG_FORMAT=json \
    RUST_LOG=info,async_nats=warn
EXPOSE 8080

# The slim image has no HTTP client; bash's /dev/tcp is enough for one GET on the port
# HTTP_ADDR names.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${HTTP_ADDR##*:} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["alarm-digest"]
CMD ["serve"]
