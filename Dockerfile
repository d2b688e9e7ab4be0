# syntax=docker/dockerfile:1
#
# One image for both roles: `jiaofu api` and `jiaofu worker` (see
# docker-compose.yml). Needs BuildKit, which `docker compose build` and any
# Docker Engine 23+ use by default.

# The project builds with Go 1.26.8 (the `go` line in go.mod). The official
# golang images set GOTOOLCHAIN=local, so a builder older than go.mod's version
# refuses to build instead of fetching a newer toolchain. That is why the patch
# release is pinned rather than the floating golang:1.26; bump it together with
# go.mod.
ARG GO_VERSION=1.26.8

# Build on the build host's own platform and cross-compile (pure Go, CGO off),
# so an arm64 image built on amd64 (or the reverse) runs no emulated compiler.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src

# Modules in their own layer: it is rebuilt only when go.mod or go.sum change,
# not on every source edit.
COPY go.mod go.sum ./
RUN go mod download

COPY . .

ARG TARGETOS
ARG TARGETARCH
# CGO off gives a static binary for the distroless static image (no libc
# there); every database driver in go.mod is pure Go (lib/pq, pgx, and
# modernc.org/sqlite for the embedded development mode).
# The build cache mount only speeds up rebuilds; it never ends up in the image.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/jiaofu ./cmd/jiaofu

# distroless/static: CA certificates, tzdata and /etc/passwd, but no shell and
# no package manager. The :nonroot variant runs as uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/jiaofu /jiaofu
# Writable home of the nonroot user: relative paths such as the default
# JIAOFU_DATA_DIR=./data (used only when DATABASE_URL/TEMPORAL_ADDRESS are
# unset, i.e. development mode) land here instead of the read-only root.
WORKDIR /home/nonroot
USER nonroot:nonroot
# JIAOFU_HTTP_ADDR defaults to :8080.
EXPOSE 8080
ENTRYPOINT ["/jiaofu"]
