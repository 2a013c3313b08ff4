# Builds the api and migrate binaries into a small image. The migration
# files are embedded in the api binary (for readiness) and copied for
# migrate, which reads atlas.hcl and migrations/ like the Atlas CLI.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags=-s -o /out/ ./cmd/api
# migrate links PostgreSQL's SQL lexer through cgo: linked statically, with
# Go's own resolver and user lookup, it still needs no C library at run time.
RUN CGO_ENABLED=1 go build -tags netgo,osusergo -trimpath \
      -ldflags='-s -linkmode external -extldflags "-static"' -o /out/ ./cmd/migrate

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/ /usr/local/bin/
COPY atlas.hcl ./
COPY migrations/ ./migrations/
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/api"]
