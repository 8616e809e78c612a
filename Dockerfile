# syntax=docker/dockerfile:1
#
# Builds the release binary from the committed offline query data (no database needed), then
# runs it from a small image as an unprivileged user.
#
# Dependencies are built in a layer of their own (cargo-chef): a change to Fulcrum's code
# rebuilds Fulcrum alone, not the few hundred crates under it. The build stage gets only
# what the binary is built from; tests and benches are seen only by the planner, which
# needs the manifest's targets to exist and keeps nothing of them but their names.

# The image tag pins the toolchain that rust-toolchain.toml names.
FROM rust:1.95.0-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
COPY .cargo .cargo
COPY src src
COPY tests tests
COPY benches benches
# The recipe lists the manifests and targets (not their code): it changes only when the
# dependencies or the targets do, and with it the cached dependency layer below.
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin fulcrum
# What the binary is built from. (cook left empty stand-ins for the test and bench
# targets the manifest names, so cargo reads the manifest without the real ones.)
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
COPY .cargo .cargo
COPY .sqlx .sqlx
COPY migrations migrations
COPY templates templates
COPY static static
COPY config config
COPY src src
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked --bin fulcrum

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 fulcrum \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --create-home fulcrum
WORKDIR /app
COPY --from=build /src/target/release/fulcrum /usr/local/bin/fulcrum
COPY config /app/config
USER 10001:10001
ENV FULCRUM_ENV=production \
    FULCRUM_BIND=0.0.0.0:8080
EXPOSE 8080
# Ready means the database answers and the migrations are applied. A `worker` container
# serves no HTTP: run it with --no-healthcheck (or point --url at a server).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["fulcrum", "health"]
ENTRYPOINT ["fulcrum"]
CMD ["serve"]
