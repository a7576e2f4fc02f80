# Builds the satchel binary and runs it on a slim Debian image.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin satchel

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/satchel satchel \
    && mkdir -p /var/lib/satchel && chown satchel /var/lib/satchel
COPY --from=build /src/target/release/satchel /usr/local/bin/satchel
USER satchel
WORKDIR /var/lib/satchel
ENV SATCHEL_BIND=0.0.0.0:8080 SATCHEL_DATA_DIR=/var/lib/satchel
EXPOSE 8080
CMD ["satchel", "serve"]
