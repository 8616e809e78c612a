# Builds the release binary from the committed offline query data (no database needed),
# then runs it from a small image as an unprivileged user.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY .cargo .cargo
COPY .sqlx .sqlx
COPY src src
COPY migrations migrations
COPY templates templates
COPY static static
COPY config config
COPY tests tests
COPY benches benches
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked --bin fulcrum

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --create-home fulcrum
WORKDIR /app
COPY --from=build /src/target/release/fulcrum /usr/local/bin/fulcrum
COPY config /app/config
USER fulcrum
ENV FULCRUM_ENV=production \
    FULCRUM_BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["fulcrum"]
CMD ["serve"]
