#!/usr/bin/env bash
# bench/run.sh - umfs side by side with tmpfs and its peers (libfuse's passthrough_ll,
# bindfs), in one run.
#
# Each round mounts every target afresh, then runs each scenario on every target in
# turn (the order rotates), so the numbers compared in a row are taken seconds apart;
# the table reports the median over the rounds. See bench/README.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${UMFS_BUILD:-$REPO/build}
RESULTS=$REPO/bench/results
ROUNDS=3
QUICK=0
URING=       # on|off: fuse.enable_uring for the run (empty: as the machine has it)
URING_PARAM=/sys/module/fuse/parameters/enable_uring
URING_OLD=
TARGETS=tmpfs,memfs,passthrough_ll
# passthrough_ll options: see README.md ("Peers and their options").
PTLL_OPTS=${PTLL_OPTS:-cache=always,writeback,clone_fd}
MEMFS_ARGS=${MEMFS_ARGS:-}
MIRROR_ARGS=${MIRROR_ARGS:-}
BINDFS_ARGS=${BINDFS_ARGS:-}
BENCH_EXTRA=()
REPORT=      # --report FILE: only print the tables of a saved raw file

usage() {
	cat <<EOF
usage: bench/run.sh [--rounds N] [--quick] [--targets LIST] [-- UMFSBENCH-OPTIONS...]
       bench/run.sh --report RAW-FILE

Runs build/bench/umfsbench on each target, in rounds, and prints a Markdown table of
the median ops/s per scenario, with the ratios of each umfs file system (memfs, mirror)
to tmpfs and to the peers, and the issues' targets for those in the run. The table
is also saved to bench/results/latest.md (raw numbers: bench/results/latest-raw.txt).

  --rounds N      rounds (default 3); each round mounts every target afresh and runs
                  each scenario on each target in turn, in a rotating order
  --quick         fewer files and a smaller file (for a smoke run)
  --targets LIST  comma-separated, from: tmpfs, memfs, mirror, passthrough_ll, bindfs,
                  ptll-umfs, cryptfs, gocryptfs (default tmpfs,memfs,passthrough_ll;
                  the others only when asked for; mirror shows a directory of the
                  same tmpfs; ptll-umfs is libfuse's passthrough_ll.c built on
                  umfs-fuse3, with the same options as passthrough_ll; cryptfs is a
                  vault on the same tmpfs, mounted with --allow-uid 0 so the benchmark
                  sees plaintext, and gocryptfs likewise)
  --uring on|off  set the kernel's fuse.enable_uring for the run (put back after):
                  with it on, umfs serves requests through FUSE-over-io_uring (the
                  peers, on libfuse 3.14, do not use it); default: as it is
  --report FILE   print the tables of a run's raw numbers again (a saved
                  bench/results/latest-raw.txt, say) and exit; needs no root
  -- ARGS         passed to umfsbench as they are (e.g. -- -S create -S getattr)

environment:
  UMFS_BUILD   meson build directory (default <repo>/build); rebuilt with ninja if present
  PTLL_OPTS    -o options for passthrough_ll (default: $PTLL_OPTS)
  MEMFS_ARGS   extra arguments for 'umfs mount memfs MNT -f'
  MIRROR_ARGS  extra arguments for 'umfs mount mirror SRC MNT -f' (e.g. --no-passthrough)
  BINDFS_ARGS  extra arguments for bindfs
Root is needed to mount the tmpfs and to drop caches.
EOF
}

# table RAW TARGET...: the Markdown tables (medians, ratios, targets) of a raw file
# (lines "target round scenario ops ops/s seconds [MiB/s]").
table() {
	local raw=$1
	shift
	awk -v targets="$*" '
	function median(list,    a, n, i, j, tmp) {
		n = split(list, a, " ")
		if (n == 0) return ""
		for (i = 2; i <= n; i++) {        # insertion sort, numeric
			tmp = a[i] + 0
			for (j = i - 1; j >= 1 && a[j] + 0 > tmp; j--) a[j + 1] = a[j]
			a[j + 1] = tmp
		}
		return n % 2 ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function fmt(v) { return v == "" ? "—" : (v >= 100 ? sprintf("%.0f", v) : sprintf("%.1f", v)) }
	function cell(t, s,    o, m) {
		o = med[t, s]
		if (o == "") return fails[t, s] ? "FAIL" : "—"
		m = medmb[t, s]
		return m == "" ? fmt(o) : fmt(o) " (" fmt(m) " MiB/s)"
	}
	# A over B for one scenario in each round that measured both, space-separated.
	function ratios(a, b, s,    r, list) {
		list = ""
		for (r = 1; r <= nr; r++)
			if ((a, s, r) in val && (b, s, r) in val && val[b, s, r] > 0)
				list = list " " val[a, s, r] / val[b, s, r]
		return list
	}
	# A over B: the median over the rounds of A over B in each round. A round
	# measures both seconds apart, while the machine may be 50% slower in one round
	# than in the next: a ratio within a round cancels that drift, a ratio of
	# medians taken from two different rounds does not.
	function paired(a, b, s) { return median(ratios(a, b, s)) }
	function rfmt(x) { return x == "" ? "—" : sprintf("%.2fx", x) }
	# In how many rounds A reached FACTOR times B (strict: passed it), as "k/n".
	function rounds_at(a, b, s, factor, strict,    x, n, i, k) {
		n = split(ratios(a, b, s), x, " ")
		for (i = 1; i <= n; i++)
			if (strict ? x[i] + 0 > factor : x[i] + 0 >= factor) k++
		return n ? k + 0 "/" n : "—"
	}
	# The sign test: the largest k such that k or fewer of n rounds on one side (or
	# as many on the other) has a two-sided probability under 5% if each round were
	# a coin toss, that is if the two were equally fast; -1 when no k is (n < 6).
	function sign_cutoff(n,    k, p, tail) {
		p = 0.5 ^ n; tail = p
		for (k = 0; 2 * tail < 0.05; k++) {
			p = p * (n - k) / (k + 1)
			tail += p
		}
		return k - 1
	}
	# A target of an issue: SCENARIO of SUBJECT at least FACTOR times REF (strict:
	# more than, for "ahead of").
	function target(subject, scenario, ref, factor, strict) {
		nG++; GS[nG] = subject; G[nG] = scenario; R[nG] = ref; X[nG] = factor; S[nG] = strict
	}
	function targets_of(subject, scenarios, ref, factor,    a, i) {
		split(scenarios, a, " ")
		for (i = 1; i in a; i++) target(subject, a[i], ref, factor, 0)
	}
	{
		t = $1; s = $3
		if (s == "MOUNT-FAILED") next
		if (!(s in seen)) { seen[s] = 1; order[++ns] = s }
		if ($4 == "FAIL") { fails[t, s]++; next }
		ops[t, s] = ops[t, s] " " $5
		val[t, s, $2] = $5
		if ($2 > nr) nr = $2
		if (NF >= 7) mb[t, s] = mb[t, s] " " $7
	}
	END {
		nt = split(targets, T, " ")
		for (k = 1; k <= nt; k++) present[T[k]] = 1
		for (i = 1; i <= ns; i++)
			for (k = 1; k <= nt; k++) {
				s = order[i]; t = T[k]
				med[t, s] = median(ops[t, s])
				medmb[t, s] = median(mb[t, s])
			}
		# Ratio columns: each umfs file system over the references its issue names.
		npair = split("memfs:tmpfs memfs:passthrough_ll mirror:tmpfs mirror:passthrough_ll " \
			      "mirror:bindfs ptll-umfs:passthrough_ll cryptfs:tmpfs cryptfs:gocryptfs", PAIR, " ")
		hdr = "| scenario"; sep = "|---"; nc = 0
		for (k = 1; k <= nt; k++) { hdr = hdr " | " T[k]; sep = sep "|--:" }
		for (a = 1; a <= npair; a++) {
			split(PAIR[a], ab, ":")
			if (present[ab[1]] && present[ab[2]]) {
				nc++; CA[nc] = ab[1]; CB[nc] = ab[2]
				hdr = hdr " | " ab[1] "/" ab[2]; sep = sep "|--:"
			}
		}
		print hdr " |"; print sep "|"
		for (i = 1; i <= ns; i++) {
			s = order[i]; line = "| " s
			for (k = 1; k <= nt; k++) line = line " | " cell(T[k], s)
			for (c = 1; c <= nc; c++) line = line " | " rfmt(paired(CA[c], CB[c], s))
			print line " |"
		}
		# The issues targets, for the file systems in this run.
		metadata = "create getattr getattr-miss list open-close open-overwrite setattr delete mkdir-rmdir"
		targets_of("memfs", "create delete open-close setattr getattr-miss", "passthrough_ll", 3)
		targets_of("memfs", "getattr list", "tmpfs", 0.9)
		targets_of("memfs", "seq-write-1m seq-read-1m", "passthrough_ll", 2)
		targets_of("mirror", "seq-read-1m seq-write-1m", "tmpfs", 0.9)
		targets_of("mirror", metadata, "passthrough_ll", 1.5)
		for (i = 1; i <= ns; i++) target("mirror", order[i], "bindfs", 1, 1)
		for (i = 1; i <= ns; i++) target("ptll-umfs", order[i], "passthrough_ll", 1, 0)
		targets_of("cryptfs", "seq-read-1m seq-write-1m", "gocryptfs", 1.5)
		targets_of("cryptfs", metadata, "gocryptfs", 1)
		shown = 0
		for (i = 1; i <= nG; i++) {
			if (!present[GS[i]] || !present[R[i]]) continue
			if (!shown) {
				print ""; print "## Targets"; print ""
				print "| file system | scenario | target | measured | rounds at target | status |"
				print "|---|---|---|--:|--:|---|"
				shown = 1
			}
			x = paired(GS[i], R[i], G[i])
			met = S[i] ? x > X[i] : x >= X[i]
			st = x == "" ? "not measured" : (met ? "met" : "not met")
			printf "| %s | %s | %s %sx %s | %s | %s | %s |\n", GS[i], G[i], (S[i] ? ">" : ">="),
			       X[i], R[i], rfmt(x), rounds_at(GS[i], R[i], G[i], X[i], S[i]), st
		}
		if (shown) {
			c = sign_cutoff(nr)
			print ""
			if (c < 0)
				printf "Rounds at target: with %d rounds no count tells a real difference from chance (6 or more are needed).\n", nr
			else
				printf "Rounds at target: with %d rounds, %d or fewer (or %d or more) would happen by chance less than 5%% of the time if the two were equally fast (sign test); a count in between does not tell the two apart.\n", nr, c, nr - c
		}
	}' "$raw"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=${2:?--rounds needs a number}; shift 2 ;;
	--rounds=*) ROUNDS=${1#*=}; shift ;;
	--quick) QUICK=1; shift ;;
	--uring) URING=${2:?--uring needs on or off}; shift 2 ;;
	--uring=*) URING=${1#*=}; shift ;;
	--targets) TARGETS=${2:?--targets needs a list}; shift 2 ;;
	--targets=*) TARGETS=${1#*=}; shift ;;
	--report) REPORT=${2:?--report needs a file}; shift 2 ;;
	--report=*) REPORT=${1#*=}; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; BENCH_EXTRA=("$@"); break ;;
	*) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case "$ROUNDS" in ''|*[!0-9]*|0) echo "run.sh: --rounds must be a positive number" >&2; exit 2 ;; esac
case "$URING" in ''|on|off) ;; *) echo "run.sh: --uring takes on or off" >&2; exit 2 ;; esac

if [ -n "$REPORT" ]; then
	[ -r "$REPORT" ] || { echo "run.sh: cannot read '$REPORT'" >&2; exit 2; }
	# The targets in the order the run had them (their first lines).
	mapfile -t TLIST < <(awk '!seen[$1]++ { print $1 }' "$REPORT")
	echo "# umfs benchmark: $REPORT, median of $(awk '$2 > n { n = $2 } END { print n + 0 }' "$REPORT") round(s)"
	echo
	table "$REPORT" "${TLIST[@]}"
	exit 0
fi

IFS=, read -r -a TLIST <<<"$TARGETS"
for t in "${TLIST[@]}"; do
	case "$t" in
	tmpfs|memfs|mirror|passthrough_ll|bindfs|ptll-umfs|cryptfs|gocryptfs) ;;
	*) echo "run.sh: unknown target '$t' (tmpfs, memfs, mirror, passthrough_ll, bindfs, ptll-umfs, cryptfs, gocryptfs)" >&2; exit 2 ;;
	esac
done

log() { echo "run.sh: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
	log "needs root (tmpfs mount, FUSE mounts, drop_caches)"
	exit 1
fi

# ---------------------------------------------------------------- clean-up
WORK=
BASE_MNT=           # our tmpfs
declare -A PID_OF=() # target -> pid of the FUSE daemon we started (stopped by pid only)
declare -A MNT_OF=() # target -> its mount point
declare -A DIR_OF=() # target -> the directory umfsbench runs in
BENCH_PID=          # the umfsbench run in progress

is_mounted() {      # exact mount point match in our mount namespace
	awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo
}

stop_pid() {        # stop_pid PID: TERM, wait up to 5 s, then KILL
	local pid=$1 _
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	log "pid $pid ignored SIGTERM; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

force_unmount() {   # never leave a mount behind: lazy unmount as the last resort
	local m=$1
	is_mounted "$m" || return 0
	umount "$m" 2>/dev/null || true
	is_mounted "$m" || return 0
	log "lazy unmount of $m"
	umount -l "$m" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	local t
	[ -z "$BENCH_PID" ] || stop_pid "$BENCH_PID"
	for t in "${!PID_OF[@]}"; do stop_pid "${PID_OF[$t]}"; done
	for t in "${!MNT_OF[@]}"; do force_unmount "${MNT_OF[$t]}"; done
	[ -z "$BASE_MNT" ] || force_unmount "$BASE_MNT"
	[ -z "$URING_OLD" ] || echo "$URING_OLD" >"$URING_PARAM" 2>/dev/null || true
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if awk -v w="$WORK/" 'index($5, w) == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo; then
			log "something is still mounted under $WORK; leaving it"
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
if [ -n "$URING" ]; then
	if [ ! -w "$URING_PARAM" ]; then
		log "--uring: this kernel has no $URING_PARAM"
		exit 1
	fi
	URING_OLD=$(cat "$URING_PARAM")
	[ "$URING" = on ] && echo Y >"$URING_PARAM" || echo N >"$URING_PARAM"
fi
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- build
BUILD_NOTE=
if [ -f "$BUILD/build.ninja" ]; then
	log "building: ninja -C $BUILD"
	if ! ninja -C "$BUILD" >&2; then
		BUILD_NOTE="WARNING: 'ninja -C $BUILD' failed; binaries may be stale"
		log "$BUILD_NOTE"
	fi
else
	log "no build in $BUILD (build.ninja missing); using what exists"
fi

WORK=$(mktemp -d /tmp/umfs-bench.XXXXXX)
mkdir -p "$WORK/bin" "$WORK/res" "$WORK/fs"

BENCH=$BUILD/bench/umfsbench
if [ ! -x "$BENCH" ]; then
	log "$BENCH missing: compiling bench/umfsbench.c into $WORK/bin"
	cc -std=gnu11 -O2 -Wall -Wextra -o "$WORK/bin/umfsbench" "$REPO/bench/umfsbench.c"
	BENCH=$WORK/bin/umfsbench
fi

have_target() { local t; for t in "${TLIST[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }
drop_target() {
	local t keep=()
	for t in "${TLIST[@]}"; do [ "$t" = "$1" ] || keep+=("$t"); done
	TLIST=("${keep[@]}")
}

UMFS=$BUILD/tools/umfs
for t in memfs mirror cryptfs; do
	if have_target $t && [ ! -x "$UMFS" ]; then
		log "WARNING: $UMFS is missing: the $t target is left out of this run"
		drop_target $t
	fi
done

PTLL=
if have_target passthrough_ll; then
	SRC=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c
	if [ ! -f "$SRC" ] || ! pkg-config --exists fuse3 || ! command -v fusermount3 >/dev/null; then
		log "installing libfuse3-dev and fuse3 (for passthrough_ll): apt-get install -y libfuse3-dev fuse3"
		apt-get install -y libfuse3-dev fuse3 >&2 || { apt-get update >&2 && apt-get install -y libfuse3-dev fuse3 >&2; }
	fi
	log "compiling passthrough_ll from $SRC"
	# shellcheck disable=SC2046
	gcc -O2 -o "$WORK/bin/passthrough_ll" "$SRC" $(pkg-config --cflags --libs fuse3)
	PTLL=$WORK/bin/passthrough_ll
fi

# ptll-umfs: the same passthrough_ll.c, compiled the same way (gcc -O2), against
# umfs-fuse3 as a user would (pkg-config umfs-fuse3, here the build's uninstalled one).
PTLL_UMFS=
PTLL_UMFS_LIBS=$BUILD/lib/fuse3
if have_target ptll-umfs; then
	SRC=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c
	if [ ! -f "$SRC" ] || [ ! -f "$BUILD/meson-uninstalled/umfs-fuse3-uninstalled.pc" ]; then
		log "WARNING: $SRC or the umfs-fuse3 build is missing: ptll-umfs is left out of this run"
		drop_target ptll-umfs
	else
		log "compiling passthrough_ll from $SRC against umfs-fuse3"
		# shellcheck disable=SC2046
		gcc -O2 -o "$WORK/bin/ptll-umfs" "$SRC" \
			$(PKG_CONFIG_PATH=$BUILD/meson-uninstalled pkg-config --cflags --libs umfs-fuse3)
		PTLL_UMFS=$WORK/bin/ptll-umfs
	fi
fi

if have_target bindfs && ! command -v bindfs >/dev/null; then
	log "WARNING: bindfs is not installed (apt-get install bindfs): left out of this run"
	drop_target bindfs
fi
if have_target gocryptfs && ! command -v gocryptfs >/dev/null; then
	log "WARNING: gocryptfs is not installed (apt-get install gocryptfs): left out of this run"
	drop_target gocryptfs
fi
if [ ${#TLIST[@]} -eq 0 ]; then
	log "no target left to run"
	exit 1
fi

# ---------------------------------------------------------------- work space
# One tmpfs holds the tmpfs target and the peers' source directories, so every
# target's data lives in RAM.
mount -t tmpfs -o size=6G,mode=0755 umfs-bench "$WORK/fs"
BASE_MNT=$WORK/fs

if [ "$QUICK" = 1 ]; then
	BENCH_ARGS=(--files 1000 --file-size 64M --min-time 0.3)
else
	BENCH_ARGS=(--files 5000 --file-size 256M --min-time 1.0)
fi
BENCH_ARGS+=(--drop-caches)
BENCH_ARGS+=("${BENCH_EXTRA[@]}")

wait_mounted() {    # wait_mounted MNT PID: until MNT is a mount, or PID died, or 10 s
	local _
	for _ in $(seq 100); do
		is_mounted "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

wait_gone() {       # wait_gone PID: up to 10 s
	local _
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	return 1
}

daemons_cpu() {     # CPU time (clock ticks) used so far by all the daemons we started
	local t sum=0 v
	for t in "${!PID_OF[@]}"; do
		v=$(awk '{ print $14 + $15 }' "/proc/${PID_OF[$t]}/stat" 2>/dev/null || echo 0)
		sum=$((sum + v))
	done
	echo "$sum"
}

# settle: wait (up to 2 s) until no daemon has used CPU for 0.1 s. A daemon may still
# be working after the benchmark that used it has exited (a FORGET that frees the
# 256 MiB file it was just given, say); that work must not be charged to the next
# target in the round.
settle() {
	local _ before after
	before=$(daemons_cpu)
	for _ in $(seq 20); do
		sleep 0.1
		after=$(daemons_cpu)
		[ "$after" = "$before" ] && return 0
		before=$after
	done
}

mount_target() {    # mount_target TARGET: fresh, empty; sets DIR_OF, PID_OF, MNT_OF
	local t=$1 mnt pid
	case "$t" in
	tmpfs)
		rm -rf "$WORK/fs/tmpfs"; mkdir -p "$WORK/fs/tmpfs"
		DIR_OF[$t]=$WORK/fs/tmpfs
		return 0 ;;
	memfs)
		mnt=$WORK/mnt-memfs
		mkdir -p "$mnt"
		# shellcheck disable=SC2086
		"$UMFS" mount memfs "$mnt" -f $MEMFS_ARGS >"$WORK/$t.log" 2>&1 &
		;;
	mirror)
		mnt=$WORK/mnt-mirror
		rm -rf "$WORK/fs/mirror-src"; mkdir -p "$WORK/fs/mirror-src" "$mnt"
		# shellcheck disable=SC2086
		"$UMFS" mount mirror "$WORK/fs/mirror-src" "$mnt" -f $MIRROR_ARGS >"$WORK/$t.log" 2>&1 &
		;;
	passthrough_ll)
		mnt=$WORK/mnt-ptll
		rm -rf "$WORK/fs/ptll-src"; mkdir -p "$WORK/fs/ptll-src" "$mnt"
		"$PTLL" -f -o "source=$WORK/fs/ptll-src,$PTLL_OPTS" "$mnt" >"$WORK/$t.log" 2>&1 &
		;;
	ptll-umfs)
		mnt=$WORK/mnt-ptll-umfs
		rm -rf "$WORK/fs/ptll-umfs-src"; mkdir -p "$WORK/fs/ptll-umfs-src" "$mnt"
		LD_LIBRARY_PATH=$PTLL_UMFS_LIBS "$PTLL_UMFS" -f -o "source=$WORK/fs/ptll-umfs-src,$PTLL_OPTS" \
			"$mnt" >"$WORK/$t.log" 2>&1 &
		;;
	cryptfs)
		mnt=$WORK/mnt-cryptfs
		rm -rf "$WORK/fs/crypt-vault"; mkdir -p "$mnt"
		echo bench-passphrase >"$WORK/pass"
		"$UMFS" crypt init --fast-kdf --passfile "$WORK/pass" "$WORK/fs/crypt-vault" >&2
		"$UMFS" mount crypt "$WORK/fs/crypt-vault" "$mnt" -f --passfile "$WORK/pass" \
			--allow-uid 0 >"$WORK/$t.log" 2>&1 &
		;;
	gocryptfs)
		mnt=$WORK/mnt-gocryptfs
		rm -rf "$WORK/fs/gocryptfs-cipher"; mkdir -p "$WORK/fs/gocryptfs-cipher" "$mnt"
		echo bench-passphrase >"$WORK/pass"
		gocryptfs -init -q -passfile "$WORK/pass" "$WORK/fs/gocryptfs-cipher" >&2
		gocryptfs -f -q -passfile "$WORK/pass" "$WORK/fs/gocryptfs-cipher" "$mnt" \
			>"$WORK/$t.log" 2>&1 &
		;;
	bindfs)
		mnt=$WORK/mnt-bindfs
		rm -rf "$WORK/fs/bindfs-src"; mkdir -p "$WORK/fs/bindfs-src" "$mnt"
		# shellcheck disable=SC2086
		bindfs -f $BINDFS_ARGS "$WORK/fs/bindfs-src" "$mnt" >"$WORK/$t.log" 2>&1 &
		;;
	esac
	pid=$!
	PID_OF[$t]=$pid
	MNT_OF[$t]=$mnt
	DIR_OF[$t]=$mnt
	if ! wait_mounted "$mnt" "$pid"; then
		log "$t did not mount on $mnt; its log:"
		sed 's/^/    /' "$WORK/$t.log" >&2 || true
		unmount_target "$t"
		return 1
	fi
}

unmount_target() {  # unmount_target TARGET: unmount, wait for the daemon, never leave a mount
	local t=$1 mnt pid
	unset 'DIR_OF[$t]'
	[ -n "${MNT_OF[$t]:-}" ] || return 0
	mnt=${MNT_OF[$t]} pid=${PID_OF[$t]}
	if is_mounted "$mnt"; then
		case "$t" in
		memfs|mirror|cryptfs) "$UMFS" unmount "$mnt" >&2 || log "umfs unmount $mnt failed" ;;
		*) fusermount3 -u "$mnt" >&2 || umount "$mnt" >&2 || true ;;
		esac
	fi
	if ! wait_gone "$pid"; then
		log "$t (pid $pid) still running 10 s after unmount"
		stop_pid "$pid"
	fi
	force_unmount "$mnt"
	unset 'PID_OF[$t]' 'MNT_OF[$t]'
}

# ---------------------------------------------------------------- rounds
# The scenarios: those given with -S/--scenario after --, else all of umfsbench's.
SCENARIOS=()
PASS_ARGS=()
for ((i=0; i<${#BENCH_ARGS[@]}; i++)); do
	a=${BENCH_ARGS[i]}
	case "$a" in
	-S|--scenario) i=$((i + 1)); SCENARIOS+=("${BENCH_ARGS[i]:-}") ;;
	--scenario=*) SCENARIOS+=("${a#*=}") ;;
	*) PASS_ARGS+=("$a") ;;
	esac
done
if [ ${#SCENARIOS[@]} -eq 0 ]; then
	mapfile -t SCENARIOS < <("$BENCH" --list)
fi

RAW=$WORK/raw.txt
: >"$RAW"
NT=${#TLIST[@]}
log "targets: ${TLIST[*]}; rounds: $ROUNDS; umfsbench ${PASS_ARGS[*]}; scenarios: ${SCENARIOS[*]}"
if (( ROUNDS % NT != 0 )); then
	log "note: $ROUNDS rounds do not give each of the $NT targets each place in the order" \
	    "equally often (a multiple of $NT would)"
fi
for ((r=1; r<=ROUNDS; r++)); do
	log "round $r/$ROUNDS"
	for t in "${TLIST[@]}"; do
		mount_target "$t" || echo "$t $r MOUNT-FAILED" >>"$RAW"
	done
	for ((si=0; si<${#SCENARIOS[@]}; si++)); do
		sc=${SCENARIOS[si]}
		for ((k=0; k<NT; k++)); do
			t=${TLIST[$(( (k + r - 1 + si) % NT ))]}
			[ -n "${DIR_OF[$t]:-}" ] || continue
			out=$WORK/res/$t.$r.$sc.txt
			# One work directory per target and round: the files that scenarios share
			# are made once. In the background, so that a signal is handled at once.
			timeout -k 10 600 "$BENCH" "${PASS_ARGS[@]}" --workdir umfsbench.work -S "$sc" \
				"${DIR_OF[$t]}" >"$out" 2>"$out.err" &
			BENCH_PID=$!
			rc=0
			wait "$BENCH_PID" || rc=$?
			BENCH_PID=''
			if [ "$rc" -ne 0 ]; then
				log "umfsbench -S $sc on $t exited $rc:"
				sed 's/^/    /' "$out.err" >&2
				grep -q "^$sc " "$out" || echo "$sc FAIL" >>"$out"
			fi
			awk -v t="$t" -v r="$r" '!/^#/ && NF >= 2 { print t, r, $0 }' "$out" >>"$RAW"
			settle
		done
	done
	for t in "${TLIST[@]}"; do
		unmount_target "$t"
	done
done

# ---------------------------------------------------------------- report
mkdir -p "$RESULTS"
MD=$WORK/latest.md
{
	echo "# umfs benchmark: median of $ROUNDS round(s)"
	echo
	echo "- when: $(date -u '+%Y-%m-%d %H:%M UTC'); kernel $(uname -r); $(nproc) CPUs;" \
	     "fuse.enable_uring=$(cat "$URING_PARAM" 2>/dev/null || echo absent) (Y: umfs uses FUSE-over-io_uring)"
	echo "- commit: $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "- umfsbench ${PASS_ARGS[*]}; each scenario run on every target in turn, all mounted, order rotated, the daemons left to settle between runs"
	echo "- memfs: \`umfs mount memfs MNT -f${MEMFS_ARGS:+ $MEMFS_ARGS}\`;" \
	     "passthrough_ll: \`-o source=<tmpfs dir>,$PTLL_OPTS\` (libfuse $(pkg-config --modversion fuse3 2>/dev/null || echo '?'));" \
	     "tmpfs and the peers' sources on one tmpfs"
	echo "- mirror (when run): \`umfs mount mirror SRC MNT -f${MIRROR_ARGS:+ $MIRROR_ARGS}\`, SRC on the same tmpfs"
	echo "- ptll-umfs (when run): the same passthrough_ll.c and options, built on umfs-fuse3 (ratio > 1: faster than on libfuse)"
	[ -z "$BUILD_NOTE" ] || echo "- $BUILD_NOTE"
	echo "- values: ops/s (I/O rows: ops/s and MiB/s); a column A/B is the median over the rounds of A's value over B's in the same round: > 1 means A is faster"
	echo
	table "$RAW" "${TLIST[@]}"
} >"$MD"

cp "$MD" "$RESULTS/latest.md"
cp "$RAW" "$RESULTS/latest-raw.txt"
echo
cat "$MD"
echo
log "saved $RESULTS/latest.md and $RESULTS/latest-raw.txt"
