# pgsplit as a container image: built on Debian 12, run on Debian 12 slim as a non-root user.
#
#   docker build -t pgsplit --build-arg PGSPLIT_COMMIT_ID="$(git rev-parse HEAD)" .
#   docker run --rm -e POSTGRES_DSN=... pgsplit migrate status
#
# Both stages install packages through scripts/install.sh, so the runtime stage gets exactly
# scripts/lib/packages-runtime.txt (checked against the binary's links by scripts/image-test.sh).

FROM debian:12 AS build
ARG PGSPLIT_COMMIT_ID=""
WORKDIR /src
COPY scripts/install.sh scripts/install.sh
COPY scripts/lib/packages-build.txt scripts/lib/packages-runtime.txt scripts/lib/
RUN scripts/install.sh --deps-only && rm -rf /var/lib/apt/lists/*
COPY . .
RUN PGSPLIT_COMMIT_ID="$PGSPLIT_COMMIT_ID" PGSPLIT_BUILD_DIR=/tmp/build \
    scripts/install.sh --no-apt --prefix /usr/local --destdir /out

FROM debian:12-slim AS runtime
COPY scripts/install.sh /tmp/pgsplit-install/scripts/install.sh
COPY scripts/lib/packages-runtime.txt /tmp/pgsplit-install/scripts/lib/packages-runtime.txt
RUN /tmp/pgsplit-install/scripts/install.sh --runtime-deps-only \
 && rm -rf /var/lib/apt/lists/* /tmp/pgsplit-install \
 && groupadd --system --gid 10001 pgsplit \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/pgsplit --create-home \
      --shell /usr/sbin/nologin pgsplit
COPY --from=build /out/usr/local/bin/pgsplit /usr/local/bin/pgsplit
COPY --from=build /out/usr/local/share/man/man1/pgsplit.1 /usr/local/share/man/man1/pgsplit.1
# Container Apps and GitHub runners pass configuration through the environment; nothing secret here.
WORKDIR /home/pgsplit
USER 10001:10001
ENTRYPOINT ["pgsplit"]
CMD ["--help"]
