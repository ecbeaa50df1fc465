#!/usr/bin/env bash
# build-images.sh — builds every container image of sessionlab's docker runtime on this machine. Nothing is pulled:
# no registry is assumed to be reachable, only the Debian package archive apt already uses.
#
#   1. IMAGE_DEBIAN   a Debian bookworm rootfs (debootstrap minbase + nginx, haproxy, redis-server), `docker import`ed.
#                     Slow (a minute or two), so skipped when the image exists; `make clean-images` to redo it.
#   2. IMAGE_NGINX, IMAGE_HAPROXY, IMAGE_REDIS
#                     tiny Dockerfiles FROM IMAGE_DEBIAN (docker/<name>/Dockerfile): a default CMD and EXPOSE.
#   3. IMAGE_FAKEAPP  FROM scratch + the static sessionlab binary, whose `fakeapp` subcommand is the entry point:
#                     the fake app the local runtime runs, from the same binary. Rebuilt every run (a layer-cache
#                     hit when the binary did not change: go builds it byte-identically).
#   4. IMAGE_SESSIONLAB  FROM IMAGE_DEBIAN + the static sessionlab binary: the runner of `sessionlab k8s`'s Job.
#   5. IMAGE_CADDY    FROM IMAGE_DEBIAN + the static caddy `sessionlab install caddy` built from the Go module proxy
#                     into the tool cache (CADDY_BIN).
#   6. IMAGE_TRAEFIK  the same for traefik (TRAEFIK_BIN), when TRAEFIK_BIN is given.
#
# Image names come from the environment (the Makefile passes its IMAGE_* variables). Every image carries the label
# org.sessionlab.image=1. Safe to run again: a second run does no real work.
set -euo pipefail

IMAGE_DEBIAN=${IMAGE_DEBIAN:-sessionlab/debian:bookworm}
IMAGE_NGINX=${IMAGE_NGINX:-sessionlab/nginx:bookworm}
IMAGE_HAPROXY=${IMAGE_HAPROXY:-sessionlab/haproxy:bookworm}
IMAGE_REDIS=${IMAGE_REDIS:-sessionlab/redis:bookworm}
IMAGE_FAKEAPP=${IMAGE_FAKEAPP:-sessionlab/fakeapp:dev}
IMAGE_SESSIONLAB=${IMAGE_SESSIONLAB:-sessionlab/sessionlab:dev}
IMAGE_CADDY=${IMAGE_CADDY:?IMAGE_CADDY names the Caddy image (make images passes sessionlab/caddy:PINNED-VERSION)}
IMAGE_TRAEFIK=${IMAGE_TRAEFIK:-}
GO=${GO:-go}

LABEL=org.sessionlab.image=1
SUITE=bookworm
PACKAGES=nginx,haproxy,redis-server,ca-certificates
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

DOCKER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$DOCKER_DIR")

log() { printf 'images: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# as_root runs a command as root: directly when we are root, else through sudo (like `make deps`).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------------------------------
# Finding the Debian mirror. Read from apt's sources at run time, so that no mirror host is ever written into the
# project. DEBIAN_MIRROR, when set, wins.

# mirrors_deb822 prints, for each enabled deb822 stanza (*.sources) of type "deb" whose suites include exactly
# $SUITE and whose components include main, its first URI. "bookworm-security" / "-updates" do not match, and
# third-party repositories (node, cloud-sdk, ...) use suites of their own.
mirrors_deb822() {
	awk -v suite="$SUITE" '
		function has(list, word) { return (" " list " ") ~ (" " word " ") }
		function flush() {
			if (has(v["types"], "deb") && has(v["suites"], suite) && has(v["components"], "main") &&
			    tolower(v["enabled"]) != "no" && v["uris"] != "") {
				split(v["uris"], u, " "); print u[1]
			}
			delete v; last = ""
		}
		FNR == 1               { flush() }                                 # a new file starts a new stanza
		/^[ \t]*#/             { next }                                    # comment
		/^[ \t]*$/             { flush(); next }                           # blank line ends a stanza
		/^[ \t]/               { if (last != "") v[last] = v[last] " " $0; next }   # continuation line
		{
			i = index($0, ":"); if (i == 0) next
			last = tolower(substr($0, 1, i - 1)); v[last] = substr($0, i + 1)
			gsub(/[ \t]+/, " ", v[last]); sub(/^ /, "", v[last]); sub(/ $/, "", v[last])
		}
		END { flush() }
	' "$@"
}

# mirrors_one_line does the same for one-line-style files: `deb [options] URI suite component...`.
mirrors_one_line() {
	awk -v suite="$SUITE" '
		$1 != "deb" { next }
		{
			i = 2
			if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }   # skip [arch=... signed-by=...]
			uri = $i; dist = $(i + 1); main = 0
			for (j = i + 2; j <= NF; j++) if ($j == "main") main = 1
			if (dist == suite && main) print uri
		}
	' "$@"
}

# debian_mirror prints the URI debootstrap should use, or fails saying where it looked.
debian_mirror() {
	if [ -n "${DEBIAN_MIRROR:-}" ]; then
		printf '%s\n' "$DEBIAN_MIRROR"
		return
	fi
	local deb822=() oneline=() uri=""
	shopt -s nullglob
	deb822=(/etc/apt/sources.list.d/*.sources)
	oneline=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list)
	shopt -u nullglob
	[ "${#deb822[@]}" -eq 0 ] || uri=$(mirrors_deb822 "${deb822[@]}" | head -n 1)
	if [ -z "$uri" ]; then
		local existing=() f
		for f in "${oneline[@]}"; do [ -f "$f" ] && existing+=("$f"); done
		[ "${#existing[@]}" -eq 0 ] || uri=$(mirrors_one_line "${existing[@]}" | head -n 1)
	fi
	[ -n "$uri" ] || die "no Debian '$SUITE' main source in /etc/apt/sources.list{,.d/*.sources,.d/*.list}; set DEBIAN_MIRROR"
	printf '%s\n' "$uri"
}

# ---------------------------------------------------------------------------------------------------------------------
# Step 1: the Debian rootfs image.

WORK_DIR=""   # temp dir holding the rootfs while it is built; removed on exit, whatever happens

# cleanup_work_dir unmounts anything left mounted inside the rootfs (debootstrap mounts /proc and /sys in it and
# normally unmounts them; after a crash it may not), then removes the temp dir without crossing into other file
# systems — a stray bind mount must never let rm reach the host's /proc or /dev.
cleanup_work_dir() {
	[ -n "$WORK_DIR" ] && [ -d "$WORK_DIR" ] || return 0
	local mnt
	# Deepest mount points first. /proc/mounts escapes spaces as \040; our temp path has none.
	for mnt in $(awk -v d="$WORK_DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
		as_root umount -l "$mnt" || log "warning: could not unmount $mnt"
	done
	as_root rm -rf --one-file-system "$WORK_DIR"
	WORK_DIR=""
}
trap cleanup_work_dir EXIT

# ensure_debootstrap installs debootstrap with apt-get when it is missing.
ensure_debootstrap() {
	if PATH="$PATH:/usr/sbin:/sbin" command -v debootstrap >/dev/null 2>&1; then return; fi
	log "installing debootstrap (apt-get)"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}

# stop_chroot_leftovers makes sure no process runs from inside the rootfs. debootstrap does not start services: while
# it installs packages it puts a policy-rc.d answering 101 ("action forbidden") and a no-op start-stop-daemon into
# the target, so nginx/haproxy/redis postinsts cannot start a daemon. This checks it anyway, because such a daemon
# would run on the host (a chroot is no container) and keep files under the rootfs busy. Any process whose root is
# our rootfs was started by this script, so ending it is safe.
stop_chroot_leftovers() {
	local rootfs=$1 pids
	pids=$(as_root find /proc -mindepth 2 -maxdepth 2 -path '/proc/[0-9]*/root' \
		\( -lname "$rootfs" -o -lname "$rootfs/*" \) 2>/dev/null |
		cut -d/ -f3 || true)
	[ -n "$pids" ] || return 0
	log "warning: processes left running inside the rootfs, stopping them: $(echo $pids)"
	# shellcheck disable=SC2086 # one pid per word
	as_root kill $pids 2>/dev/null || true
	sleep 1
	# shellcheck disable=SC2086
	as_root kill -9 $pids 2>/dev/null || true
}

# trim_rootfs drops what a container does not need: apt's package lists and cached .debs (refetched by
# `apt-get update` if an image ever installs more), documentation except the copyright files, man/info pages,
# translations and logs. It also prepares the directories the services write to when run as root with their
# state under /tmp, and blanks host-specific files debootstrap copied in (Docker provides its own at run time).
trim_rootfs() {
	local r=$1
	as_root find "$r/var/lib/apt/lists" -mindepth 1 -maxdepth 1 ! -name partial ! -name lock -exec rm -rf {} +
	as_root find "$r/var/cache/apt" -type f \( -name '*.deb' -o -name '*.bin' \) -delete
	as_root find "$r/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
	as_root find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
	as_root rm -rf "$r/usr/share/man" "$r/usr/share/info" "$r/usr/share/lintian" "$r/usr/share/linda"
	as_root find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
	as_root find "$r/var/log" -type f -delete
	as_root find "$r/var/cache/debconf" -name '*-old' -delete
	as_root mkdir -p "$r/var/log/nginx" "$r/var/lib/nginx" "$r/etc/sessionlab" "$r/usr/local/etc/haproxy"
	as_root sh -c ': >"$1/etc/resolv.conf"; : >"$1/etc/hostname"' sh "$r"
}

# build_debian_image makes IMAGE_DEBIAN unless it exists already.
build_debian_image() {
	if image_exists "$IMAGE_DEBIAN"; then
		log "$IMAGE_DEBIAN: present, keeping it (\`make clean-images\` rebuilds it)"
		return
	fi
	ensure_debootstrap
	local mirror rootfs started
	mirror=$(debian_mirror)
	WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sessionlab-rootfs.XXXXXX")
	rootfs=$WORK_DIR/rootfs
	started=$SECONDS

	log "$IMAGE_DEBIAN: debootstrap $SUITE (minbase + ${PACKAGES//,/, }) from apt's Debian mirror; takes a minute or two"
	if ! as_root env PATH="$PATH:/usr/sbin:/sbin" debootstrap --variant=minbase --include="$PACKAGES" \
		"$SUITE" "$rootfs" "$mirror" >"$WORK_DIR/debootstrap.log" 2>&1; then
		tail -n 30 "$WORK_DIR/debootstrap.log" >&2 || true
		[ ! -f "$rootfs/debootstrap/debootstrap.log" ] || tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
		stop_chroot_leftovers "$rootfs"
		die "debootstrap failed (its output is above)"
	fi
	stop_chroot_leftovers "$rootfs"
	trim_rootfs "$rootfs"

	log "$IMAGE_DEBIAN: importing the rootfs ($(as_root du -sh --one-file-system "$rootfs" | cut -f1))"
	# --numeric-owner: the rootfs's uids/gids mean nothing on the host, keep the numbers.
	as_root tar --numeric-owner -C "$rootfs" -c . |
		docker import -c "ENV PATH=$IMAGE_PATH" -c "LABEL $LABEL" \
			-m "sessionlab: debootstrap --variant=minbase $SUITE + $PACKAGES" - "$IMAGE_DEBIAN" >/dev/null
	cleanup_work_dir
	log "$IMAGE_DEBIAN: built in $((SECONDS - started)) s"
}

# ---------------------------------------------------------------------------------------------------------------------
# Steps 2 and 3: Dockerfile images.

# docker_build builds docker/<dir> as <image>. The classic builder (DOCKER_BUILDKIT=0, what testcontainers-go uses
# too) builds FROM scratch or FROM a local image without asking any registry; never --pull. Its layer cache makes
# an unchanged image a no-op.
# The output is shown only on failure: on success it is the image id plus the CLI's notice that the legacy builder
# is deprecated, which is the point here.
docker_build() {
	local image=$1 dir=$2 out id
	if ! out=$(DOCKER_BUILDKIT=0 docker build --quiet --label "$LABEL" --build-arg "BASE=$IMAGE_DEBIAN" \
		--tag "$image" "$DOCKER_DIR/$dir" 2>&1); then
		printf '%s\n' "$out" >&2
		die "$image: docker build of docker/$dir failed"
	fi
	id=$(printf '%s\n' "$out" | tail -n 1)
	id=${id#sha256:}
	log "$image: ready (${id:0:12})"
}

# build_static builds cmd/NAME into docker/NAME/NAME (git-ignored). -trimpath and -buildvcs=false keep it
# independent of the checkout's path and git state (and of git's ownership checks); go builds it byte-identically
# from the same sources, so docker's cache is hit when nothing changed.
build_static() {
	(cd "$REPO_DIR" && CGO_ENABLED=0 "$GO" build -trimpath -buildvcs=false -ldflags='-s -w' \
		-o "docker/$1/$1" "./cmd/$1") || die "go build ./cmd/$1 failed"
}

# copy_caddy puts the caddy binary `sessionlab install caddy` built beside its Dockerfile (git-ignored).
copy_caddy() {
	local bin=${CADDY_BIN:?CADDY_BIN names the caddy binary (make images passes the one sessionlab install built)}
	[ -x "$bin" ] || die "no caddy binary at $bin: run \`make deps\` first (sessionlab install caddy builds one from the Go module proxy)"
	cp -L "$bin" "$DOCKER_DIR/caddy/caddy"
}

# copy_traefik puts the traefik binary `sessionlab install traefik` built beside its Dockerfile (git-ignored).
copy_traefik() {
	[ -x "$TRAEFIK_BIN" ] || die "no traefik binary at $TRAEFIK_BIN: run \`make deps\` first (sessionlab install traefik builds one from the Go module proxy)"
	cp -L "$TRAEFIK_BIN" "$DOCKER_DIR/traefik/traefik"
}

main() {
	command -v docker >/dev/null 2>&1 || die "docker is not installed"
	docker info >/dev/null 2>&1 || die "cannot reach the Docker daemon (is it running, may this user use it?)"

	build_debian_image
	docker_build "$IMAGE_NGINX" nginx
	docker_build "$IMAGE_HAPROXY" haproxy
	docker_build "$IMAGE_REDIS" redis

	build_static sessionlab
	cp "$DOCKER_DIR/sessionlab/sessionlab" "$DOCKER_DIR/fakeapp/sessionlab"
	docker_build "$IMAGE_FAKEAPP" fakeapp
	docker_build "$IMAGE_SESSIONLAB" sessionlab
	copy_caddy
	docker_build "$IMAGE_CADDY" caddy
	if [ -n "${TRAEFIK_BIN:-}" ]; then
		[ -n "$IMAGE_TRAEFIK" ] || die "IMAGE_TRAEFIK names the Traefik image (make images passes sessionlab/traefik:PINNED-VERSION)"
		copy_traefik
		docker_build "$IMAGE_TRAEFIK" traefik
	fi
	# A changed binary leaves the previous fakeapp image untagged: drop such leftovers (ours only, by label).
	docker image prune --force --filter "label=$LABEL" >/dev/null
}

main "$@"
