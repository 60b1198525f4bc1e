# report.awk - turns ci/bench's raw.txt (one line of key=value pairs per run)
# into the table on stdout, results.json and the gnuplot data files.
#
# usage: awk -v json=FILE -v datadir=DIR -v meta='{...}' -f bench/report.awk raw.txt
#
# Per (case, phase, server): median, min and max over the rounds of
#   ns     CPU 1 busy ns per packet (per cycle for `cycle`, `cycle-sat`) - the primary figure
#   ratio  ns / the echo's ns in the same case and round
#   proc   the server process's own utime+stime per packet (a noise check)
#   pps, loss, p50, p99, util (CPU 1 busy share), bpa (RSS bytes per allocation)
# Works with mawk (Debian's default awk): no gawk extensions.

function sort_n(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
}

# stats KEY METRIC: sets MED, MIN, MAX, CNT from V[KEY, METRIC, 1..N[KEY]]
function stats(key, m,    i, n, a) {
	n = 0
	for (i = 1; i <= N[key]; i++)
		if ((key, m, i) in V)
			a[++n] = V[key, m, i]
	CNT = n
	if (n == 0) {
		MED = MIN = MAX = ""
		return 0
	}
	sort_n(a, n)
	MIN = a[1]
	MAX = a[n]
	MED = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	return 1
}

# median of KEY's METRIC, or 0 when there is none (for printing)
function med(key, m) {
	return stats(key, m) ? MED : 0
}

function jnum(v) {
	return v == "" ? "null" : sprintf("%.4g", v)
}

function jstat(key, m) {
	if (!stats(key, m))
		return "null"
	return sprintf("{\"median\":%s,\"min\":%s,\"max\":%s,\"n\":%d}", jnum(MED), jnum(MIN),
	               jnum(MAX), CNT)
}

function fmt_range(key, m, f) {
	if (!stats(key, m))
		return sprintf("%-24s", "-")
	return sprintf("%-24s", sprintf(f " [" f "-" f "]", MED, MIN, MAX))
}

BEGIN {
	nk = 0
}

{
	delete F
	for (i = 1; i <= NF; i++) {
		p = index($i, "=")
		if (p > 0)
			F[substr($i, 1, p - 1)] = substr($i, p + 1)
	}
	if (F["phase"] == "churning")
		next
	key = F["case"] SUBSEP F["phase"] SUBSEP F["server"]
	if (!(key in N)) {
		N[key] = 0
		ORDER[++nk] = key
		CASE[key] = F["case"]
		PHASE[key] = F["phase"]
		SERVER[key] = F["server"]
	}
	n = ++N[key]
	if (F["error"] == 1) {
		ERRORS[key]++
		next
	}
	if (F["noisy"] == 1)
		NOISY[key]++
	# values are stored as numbers (+ 0): substr() results compare as strings
	if ("ns_per_unit" in F && F["secs"] + 0 > 0) {
		V[key, "ns", n] = F["ns_per_unit"] + 0
		V[key, "us", n] = F["ns_per_unit"] / 1000
		V[key, "proc", n] = F["proc_ns_per_unit"] + 0
		V[key, "pps", n] = F["per_s"] + 0
		V[key, "util", n] = F["cpu_util"] + 0
	}
	if ("loss_pct" in F) {
		V[key, "loss", n] = F["loss_pct"] + 0
		V[key, "p50", n] = F["p50_us"] + 0
		V[key, "p99", n] = F["p99_us"] + 0
	}
	if ("bytes_per_alloc" in F)
		V[key, "bpa", n] = F["bytes_per_alloc"] + 0
	if (F["server"] == "echo" && F["phase"] == "fresh")
		ECHO_NS[F["case"], F["round"]] = F["ns_per_unit"] + 0
	else if ((F["case"], F["round"]) in ECHO_NS && ECHO_NS[F["case"], F["round"]] > 0 &&
	         ("ns_per_unit" in F))
		V[key, "ratio", n] = F["ns_per_unit"] / ECHO_NS[F["case"], F["round"]]
}

function kind_of(c) {
	if (c == "cycle" || c == "cycle-sat")
		return "cycle"
	if (c == "rss")
		return "rss"
	if (c == "latency")
		return "latency"
	return "packet"
}

function print_table(    i, k, kind) {
	printf "CPU 1 busy time per relayed packet (ns), median [min-max] over rounds; x echo = ratio to the echo in the same round\n"
	printf "%-18s %-6s %-8s %-24s %-22s %-9s %-7s %-8s %-8s %-8s\n", "case", "phase", "server",
	       "ns/pkt", "x echo", "kpps", "loss%", "p50us", "p99us", "proc ns"
	for (i = 1; i <= nk; i++) {
		k = ORDER[i]
		if (kind_of(CASE[k]) != "packet")
			continue
		printf "%-18s %-6s %-8s %s %s %-9.1f %-7.2f %-8.0f %-8.0f %-8.0f%s\n", CASE[k], PHASE[k],
		       SERVER[k], fmt_range(k, "ns", "%.0f"), substr(fmt_range(k, "ratio", "%.2f"), 1, 22),
		       med(k, "pps") / 1000, med(k, "loss"), med(k, "p50"), med(k, "p99"),
		       med(k, "proc"), ((k in ERRORS) ? "  (" ERRORS[k] " failed)" : "") \
		       ((k in NOISY) ? "  (" NOISY[k] " noisy)" : "")
	}
	printf "\nAllocation cycle (401, Allocate, Refresh 0; 6 datagrams): CPU 1 busy us per cycle\n"
	printf "(echo: 6 x its cost per datagram at the same packet rate; x echo = cycle / that;\n"
	printf " cycle: 3,000 cycles/s offered; cycle-sat: 64 cycles in flight, as fast as the server goes,\n"
	printf " against the saturated echo)\n"
	for (i = 1; i <= nk; i++) {
		k = ORDER[i]
		if (kind_of(CASE[k]) != "cycle" || !stats(k, "ns"))
			continue
		if (SERVER[k] == "echo") {
			printf "%-9s %-8s %.1f us [%.1f-%.1f]  (%.0f datagrams/s)\n", CASE[k], SERVER[k],
			       6 * MED / 1000, 6 * MIN / 1000, 6 * MAX / 1000, med(k, "pps")
			continue
		}
		printf "%-9s %-8s %.1f us [%.1f-%.1f]  x echo %.2f  (%.0f cycles/s, server process %.1f us)\n",
		       CASE[k], SERVER[k], MED / 1000, MIN / 1000, MAX / 1000, med(k, "ratio") / 6,
		       med(k, "pps"), med(k, "proc") / 1000
	}
	printf "\nRSS per allocation with a permission and a channel (bytes)\n"
	for (i = 1; i <= nk; i++) {
		k = ORDER[i]
		if (kind_of(CASE[k]) == "rss" && stats(k, "bpa"))
			printf "%-8s %.0f [%.0f-%.0f]\n", SERVER[k], MED, MIN, MAX
	}
	printf "\nLatency (round trip through the server, us) against offered load (server packets/s)\n"
	for (i = 1; i <= nk; i++) {
		k = ORDER[i]
		if (kind_of(CASE[k]) == "latency")
			printf "%-8s %-8s p50 %-8.0f p99 %-8.0f loss %.2f%%\n", SERVER[k], PHASE[k],
			       med(k, "p50"), med(k, "p99"), med(k, "loss")
	}
}

# target ID TEXT REGEX METRIC LIMIT: ternd's worst median over the matching
# (case, phase) keys against LIMIT; coturn's range alongside for reference.
function target(id, text, re, m, limit,    i, k, lo, hi, clo, chi, v, n, status) {
	n = 0
	lo = hi = clo = chi = ""
	for (i = 1; i <= nk; i++) {
		k = ORDER[i]
		if (CASE[k] !~ re || !stats(k, m))
			continue
		v = MED
		if (SERVER[k] == "ternd") {
			n++
			if (lo == "" || v < lo)
				lo = v
			if (hi == "" || v > hi)
				hi = v
		} else if (SERVER[k] == "coturn") {
			if (clo == "" || v < clo)
				clo = v
			if (chi == "" || v > chi)
				chi = v
		}
	}
	emit_target(id, text, limit, n, lo, hi, clo, chi)
}

function short(v) {
	return v >= 100 ? sprintf("%.0f", v) : sprintf("%.3g", v)
}

function emit_target(id, text, limit, n, lo, hi, clo, chi,    status) {
	status = n == 0 ? "not measured" : (hi + 0 <= limit + 0 ? "MET" : "MISSED")
	printf "%-13s %-58s ternd %-17s coturn %-17s %s\n", id, text,
	       n ? short(lo) "-" short(hi) : "-", clo != "" ? short(clo) "-" short(chi) : "-",
	       status
	TJ[++ntj] = sprintf("{\"id\":\"%s\",\"target\":\"%s\",\"limit\":%s,\"ternd\":{\"min\":%s,\"max\":%s}," \
	                    "\"coturn\":{\"min\":%s,\"max\":%s},\"status\":\"%s\"}", id, text, limit,
	                    jnum(lo), jnum(hi), jnum(clo), jnum(chi), status)
}

# 10,000 allocations (100 active) against 100 allocations, per phase and
# server, as ratios of their ratios to the echo: the two cases run minutes
# apart and the machine drifts (the echo itself moved by 20 % between them)
function target_scale(    i, k, k100, lo, hi, clo, chi, n, r) {
	n = 0
	lo = hi = clo = chi = ""
	for (i = 1; i <= nk; i++) {
		k = ORDER[i]
		if (CASE[k] !~ /^cd-100B-a10k-100$/)
			continue
		k100 = "cd-100B-a100" SUBSEP PHASE[k] SUBSEP SERVER[k]
		if (!(k100 in N) || !stats(k100, "ratio") || MED <= 0)
			continue
		r = MED
		if (!stats(k, "ratio"))
			continue
		r = MED / r
		if (SERVER[k] == "ternd") {
			n++
			lo = (lo == "" || r < lo) ? r : lo
			hi = (hi == "" || r > hi) ? r : hi
		} else if (SERVER[k] == "coturn") {
			clo = (clo == "" || r < clo) ? r : clo
			chi = (chi == "" || r > chi) ? r : chi
		}
	}
	emit_target("scale", "10,000 allocs (100 active) / 100 allocs <= 1.2x (x echo)", 1.2, n, lo,
	            hi, clo, chi)
}

function print_targets() {
	printf "\nTargets (ternd, one worker; worst median over the matching cases and phases)\n"
	target("channel", "ChannelData 1/10/100 allocs <= 1.05x echo", "^cd-(100|1200)B-a(1|10|100)$",
	       "ratio", 1.05)
	target("gso", "ChannelData, GSO/GRO clients, 1/10 allocs <= 0.75x plain echo",
	       "^cd-(100|1200)B-a(1|10)-gso$", "ratio", 0.75)
	target("indication", "Send/Data indications <= 1.15x echo", "^ind-", "ratio", 1.15)
	target("binding", "Binding <= 1.05x echo", "^binding$", "ratio", 1.05)
	target("cycle", "allocation cycle <= 25 us server core time (us)", "^cycle$", "us", 25)
	target("cycle-sat", "the same, saturating (64 in flight), for reference (us)", "^cycle-sat$",
	       "us", 25)
	target("rss", "RSS per allocation (permission + channel) <= 1 KB", "^rss$", "bpa", 1024)
	target_scale()
}

function write_json(    i, k, sep) {
	printf "{\n\"meta\": %s,\n\"results\": [\n", meta > json
	sep = ""
	for (i = 1; i <= nk; i++) {
		k = ORDER[i]
		printf "%s{\"case\":\"%s\",\"phase\":\"%s\",\"server\":\"%s\",\"runs\":%d,\"failed\":%d," \
		       "\"noisy\":%d,\"ns_per_unit\":%s,\"ratio_to_echo\":%s,\"proc_ns_per_unit\":%s,\"per_s\":%s," \
		       "\"cpu_util\":%s,\"loss_pct\":%s,\"p50_us\":%s,\"p99_us\":%s,\"bytes_per_alloc\":%s}",
		       sep, CASE[k], PHASE[k], SERVER[k], N[k], ERRORS[k] + 0, NOISY[k] + 0, jstat(k, "ns"),
		       jstat(k, "ratio"), jstat(k, "proc"), jstat(k, "pps"), jstat(k, "util"),
		       jstat(k, "loss"), jstat(k, "p50"), jstat(k, "p99"), jstat(k, "bpa") > json
		sep = ",\n"
	}
	printf "\n],\n\"targets\": [\n" > json
	for (i = 1; i <= ntj; i++)
		printf "%s%s", (i > 1 ? ",\n" : ""), TJ[i] > json
	printf "\n]\n}\n" > json
	close(json)
}

# cost.dat: one row per case (fresh phase), med/min/max for echo, echo-gso,
# coturn, ternd; lat-SERVER.dat: offered kpps, p50, p99.
function write_plot_data(    i, j, k, c, s, file, row, seen, ns) {
	file = datadir "/cost.dat"
	printf "# case echo(med min max) echo-gso(...) coturn(...) ternd(...)\n" > file
	ns = split("echo echo-gso coturn ternd", SV, " ")
	for (i = 1; i <= nk; i++) {
		c = CASE[ORDER[i]]
		if (kind_of(c) != "packet" || (c in seen))
			continue
		seen[c] = 1
		row = c
		for (j = 1; j <= ns; j++) {
			s = SV[j]
			k = c SUBSEP "fresh" SUBSEP s
			if (s == "ternd" && !(k in N))
				k = c SUBSEP "fresh" SUBSEP "ternd2"
			if ((k in N) && stats(k, "ns"))
				row = row sprintf(" %.0f %.0f %.0f", MED, MIN, MAX)
			else
				row = row " - - -"
		}
		print row > file
	}
	close(file)
	for (j = 1; j <= 3; j++) {
		s = (j == 1) ? "echo" : (j == 2 ? "coturn" : "ternd")
		file = datadir "/lat-" s ".dat"
		printf "# offered_kpps p50_us p99_us loss_pct\n" > file
		for (i = 1; i <= nk; i++) {
			k = ORDER[i]
			if (CASE[k] == "latency" && SERVER[k] == s && stats(k, "p50"))
				printf "%.1f %.1f %.1f %.3f\n", substr(PHASE[k], 2) / 1000, med(k, "p50"),
				       med(k, "p99"), med(k, "loss") > file
		}
		close(file)
	}
}

END {
	print_table()
	print_targets()
	write_json()
	write_plot_data()
}
