/*
 * setup.c - from the configuration to what the workers share: endpoints,
 * relay addresses, the relay's configuration (credentials, policy, quotas)
 * and the TLS context. Rebuilt on SIGHUP for the parts that may change.
 */
#define _GNU_SOURCE
#include "log.h"
#include "net.h"
#include "ternd.h"

#include <ifaddrs.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* The arrays a relay config points into; freed when replaced. */
struct relay_arrays {
	struct tern_relay_user *users;
	struct tern_relay_secret *secrets;
	struct tern_addr *own;
	size_t n_own;
};

static struct relay_arrays current;

static void arrays_free(struct relay_arrays *a)
{
	free(a->users);
	free(a->secrets);
	free(a->own);
	memset(a, 0, sizeof(*a));
}

static bool usable(const struct tern_addr *a, uint8_t family, bool allow_loopback)
{
	bool loop4 = family == TERN_AF_IPV4 && a->addr[0] == 127;
	bool loop6 = family == TERN_AF_IPV6 && a->addr[15] == 1 &&
	             memcmp(a->addr, (const uint8_t[15]){0}, 15) == 0;
	bool link6 = family == TERN_AF_IPV6 && a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80;

	return a->family == family && !link6 && (allow_loopback || (!loop4 && !loop6));
}

/* First interface address of a family (non-loopback first). */
static bool host_addr(uint8_t family, struct tern_addr *out)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa) != 0)
		return false;
	for (int pass = 0; pass < 2 && !found; pass++)
		for (i = ifa; i != NULL && !found; i = i->ifa_next)
			if (i->ifa_addr != NULL && ternd_addr_from_sockaddr(i->ifa_addr, out) &&
			    usable(out, family, pass == 1))
				found = true;
	freeifaddrs(ifa);
	return found;
}

/* Where relay sockets bind, and which address clients are told. */
static void relay_addresses(struct ternd_shared *sh, const struct ternd_config *cfg)
{
	static const uint8_t fams[2] = {TERN_AF_IPV4, TERN_AF_IPV6};

	for (int f = 0; f < 2; f++) {
		struct tern_addr *bind_at = &sh->relay_bind[f];
		struct tern_addr *shown =
		    f == 0 ? &sh->relay_cfg.relay_v4 : &sh->relay_cfg.relay_v6;
		bool have = false;

		memset(bind_at, 0, sizeof(*bind_at));
		bind_at->family = fams[f];
		for (size_t i = 0; i < cfg->n_relay_ip && !have; i++)
			if (cfg->relay_ip[i].family == fams[f] && (have = true))
				*bind_at = cfg->relay_ip[i];
		for (size_t i = 0; i < cfg->n_listening_ip && !have; i++)
			if (cfg->listening_ip[i].family == fams[f] &&
			    !ternd_addr_is_any(&cfg->listening_ip[i]) && (have = true))
				*bind_at = cfg->listening_ip[i];
		*shown = *bind_at;
		if (!have && cfg->n_listening_ip == 0 && host_addr(fams[f], shown))
			have = true;
		for (size_t i = 0; i < cfg->n_external_ip; i++) {
			const struct ternd_external *e = &cfg->external_ip[i];

			if (e->public_ip.family == fams[f] &&
			    (e->private_ip.family == TERN_AF_NONE ||
			     memcmp(e->private_ip.addr, bind_at->addr, 16) == 0))
				*shown = e->public_ip, have = true;
		}
		if (!have)
			shown->family = TERN_AF_NONE;
		bind_at->port = shown->port = 0;
	}
}

static void add_endpoint(struct ternd_shared *sh, const struct tern_addr *ip, uint16_t port,
                         enum tern_transport t)
{
	struct ternd_endpoint *e;

	if (sh->n_endpoints >= sizeof(sh->endpoints) / sizeof(sh->endpoints[0]))
		return;
	e = &sh->endpoints[sh->n_endpoints++];
	e->addr = *ip;
	e->addr.port = port;
	e->transport = t;
}

static void endpoints(struct ternd_shared *sh, const struct ternd_config *cfg)
{
	struct tern_addr any[2] = {{.family = TERN_AF_IPV4}, {.family = TERN_AF_IPV6}};
	const struct tern_addr *ips = cfg->n_listening_ip ? cfg->listening_ip : any;
	size_t n = cfg->n_listening_ip ? cfg->n_listening_ip : 2;

	sh->n_endpoints = 0;
	for (size_t i = 0; i < n; i++) {
		if (!cfg->no_udp)
			add_endpoint(sh, &ips[i], cfg->listening_port, TERN_TRANSPORT_UDP);
		if (!cfg->no_tcp)
			add_endpoint(sh, &ips[i], cfg->listening_port, TERN_TRANSPORT_TCP);
		if (sh->tls != NULL)
			add_endpoint(sh, &ips[i], cfg->tls_listening_port, TERN_TRANSPORT_TLS);
	}
}

static void own_add(struct relay_arrays *a, size_t cap, const struct tern_addr *ip, uint16_t port)
{
	if (a->n_own >= cap || ip->family == TERN_AF_NONE)
		return;
	a->own[a->n_own] = *ip;
	a->own[a->n_own++].port = port;
}

/* The server's own addresses with its listening ports: never relay to them. */
static int own_addresses(struct relay_arrays *a, const struct ternd_shared *sh,
                         const struct ternd_config *cfg)
{
	size_t cap = 2 * (sh->n_endpoints + 4 * TERND_MAX_LISTEN) + 256;
	struct ifaddrs *ifa = NULL;

	a->own = calloc(cap, sizeof(*a->own));
	if (a->own == NULL)
		return -1;
	for (size_t i = 0; i < sh->n_endpoints; i++)
		if (!ternd_addr_is_any(&sh->endpoints[i].addr))
			own_add(a, cap, &sh->endpoints[i].addr, sh->endpoints[i].addr.port);
	for (int f = 0; f < 2; f++) {
		const struct tern_addr *shown =
		    f ? &sh->relay_cfg.relay_v6 : &sh->relay_cfg.relay_v4;

		own_add(a, cap, &sh->relay_bind[f], cfg->listening_port);
		own_add(a, cap, shown, cfg->listening_port);
		own_add(a, cap, shown, cfg->tls_listening_port);
	}
	/* a wildcard listener listens on every interface address */
	if (cfg->n_listening_ip == 0 && getifaddrs(&ifa) == 0) {
		for (struct ifaddrs *i = ifa; i != NULL; i = i->ifa_next) {
			struct tern_addr x;

			if (i->ifa_addr == NULL || !ternd_addr_from_sockaddr(i->ifa_addr, &x))
				continue;
			own_add(a, cap, &x, cfg->listening_port);
			own_add(a, cap, &x, cfg->tls_listening_port);
		}
		freeifaddrs(ifa);
	}
	return 0;
}

static int credentials(struct relay_arrays *a, struct tern_relay_config *rc,
                       const struct ternd_config *cfg)
{
	if (cfg->n_users > 0 && (a->users = calloc(cfg->n_users, sizeof(*a->users))) == NULL)
		return -1;
	for (size_t i = 0; i < cfg->n_users; i++) {
		a->users[i].name = cfg->users[i].name;
		a->users[i].password = cfg->users[i].has_key ? NULL : cfg->users[i].password;
		a->users[i].key = cfg->users[i].has_key ? cfg->users[i].key : NULL;
	}
	rc->users = a->users;
	rc->n_users = cfg->n_users;
	rc->secrets = NULL;
	rc->n_secrets = 0;
	if (!cfg->use_auth_secret || cfg->n_static_auth_secret == 0)
		return 0;
	a->secrets = calloc(cfg->n_static_auth_secret, sizeof(*a->secrets));
	if (a->secrets == NULL)
		return -1;
	for (size_t i = 0; i < cfg->n_static_auth_secret; i++) {
		a->secrets[i].secret = (const uint8_t *)cfg->static_auth_secret[i];
		a->secrets[i].len = strlen(cfg->static_auth_secret[i]);
	}
	rc->secrets = a->secrets;
	rc->n_secrets = cfg->n_static_auth_secret;
	return 0;
}

static void tunables(struct tern_relay_config *rc, const struct ternd_config *cfg, unsigned workers)
{
	rc->realm = cfg->realm;
	rc->software = cfg->no_software ? NULL : (cfg->software ? cfg->software : "tern");
	rc->min_port = cfg->min_port;
	rc->max_port = cfg->max_port;
	rc->default_lifetime_s = cfg->default_allocate_lifetime;
	rc->max_lifetime_s = cfg->max_allocate_lifetime;
	rc->permission_lifetime_s = cfg->permission_lifetime;
	rc->channel_lifetime_s = cfg->channel_lifetime;
	rc->nonce_lifetime_s = cfg->stale_nonce;
	/* total-quota is for the whole server: each worker gets its share */
	rc->max_allocations = cfg->total_quota ? (cfg->total_quota + workers - 1) / workers : 10000;
	rc->user_quota = cfg->user_quota;
	rc->max_bps = cfg->max_bps;
	rc->rfc5766_channels = cfg->rfc5766_channel_numbers;
	rc->policy.allow = cfg->allowed_peer_ip;
	rc->policy.n_allow = cfg->n_allowed_peer_ip;
	rc->policy.deny = cfg->denied_peer_ip;
	rc->policy.n_deny = cfg->n_denied_peer_ip;
	rc->policy.allow_loopback = cfg->allow_loopback_peers;
}

static SSL_CTX *tls_context(const struct ternd_config *cfg)
{
	SSL_CTX *ctx;

	if (cfg->no_tls || cfg->cert == NULL || cfg->pkey == NULL)
		return NULL;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, cfg->pkey, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ternd_log(TERND_ERROR, "tls_failed", "cannot load cert=%s pkey=%s: %s", cfg->cert,
		          cfg->pkey, ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

/* Build relay_cfg's reloadable parts into fresh arrays. */
static int build(struct ternd_shared *sh, const struct ternd_config *cfg, struct relay_arrays *a,
                 struct tern_relay_config *rc)
{
	memset(a, 0, sizeof(*a));
	tunables(rc, cfg, sh->workers);
	if (credentials(a, rc, cfg) != 0 || own_addresses(a, sh, cfg) != 0) {
		arrays_free(a);
		return -1;
	}
	rc->policy.own = a->own;
	rc->policy.n_own = a->n_own;
	return 0;
}

static unsigned worker_count(const struct ternd_config *cfg)
{
	long n = cfg->relay_threads ? (long)cfg->relay_threads : sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	return n > TERND_MAX_WORKERS ? TERND_MAX_WORKERS : (unsigned)n;
}

int ternd_shared_init(struct ternd_shared *sh, const struct ternd_config *cfg)
{
	memset(sh, 0, sizeof(*sh));
	pthread_mutex_init(&sh->reload_lock, NULL);
	sh->workers = worker_count(cfg);
	sh->loop_backend = cfg->event_loop == TERND_EVENT_POLL ? TERND_LOOP_POLL : TERND_LOOP_EPOLL;
	sh->udp_rcvbuf = cfg->udp_recv_buffer;
	sh->udp_sndbuf = cfg->udp_send_buffer;
	sh->max_connections = cfg->max_connections ? cfg->max_connections : 1024;
	sh->handshake_ms =
	    (uint64_t)(cfg->tls_handshake_timeout ? cfg->tls_handshake_timeout : 10) * 1000u;
	sh->frame_ms =
	    (uint64_t)(cfg->stream_frame_timeout ? cfg->stream_frame_timeout : 30) * 1000u;
	sh->conn_idle_ms =
	    ((uint64_t)(cfg->max_allocate_lifetime ? cfg->max_allocate_lifetime : 3600) + 60u) *
	    1000u;
	if (getrandom(sh->nonce_key, sizeof(sh->nonce_key), 0) != (ssize_t)sizeof(sh->nonce_key))
		return -1;
	sh->relay_cfg.nonce_key = sh->nonce_key;
	sh->relay_cfg.nonce_key_len = sizeof(sh->nonce_key);
	sh->tls = tls_context(cfg);
	if (sh->tls == NULL && !cfg->no_tls && (cfg->cert != NULL || cfg->pkey != NULL))
		return -1; /* asked for TLS, could not have it: logged */
	endpoints(sh, cfg);
	relay_addresses(sh, cfg);
	if (sh->relay_cfg.relay_v4.family == TERN_AF_NONE &&
	    sh->relay_cfg.relay_v6.family == TERN_AF_NONE) {
		ternd_log(TERND_ERROR, "no_relay_address", "set relay-ip or listening-ip");
		return -1;
	}
	return build(sh, cfg, &current, &sh->relay_cfg);
}

int ternd_shared_reload(struct ternd_shared *sh, const struct ternd_config *cfg)
{
	struct tern_relay_config rc = sh->relay_cfg;
	struct relay_arrays fresh, old;
	SSL_CTX *tls = NULL, *old_tls;

	if (!cfg->no_tls && cfg->cert != NULL && (tls = tls_context(cfg)) == NULL)
		return -1;
	if (build(sh, cfg, &fresh, &rc) != 0) {
		SSL_CTX_free(tls);
		return -1;
	}
	pthread_mutex_lock(&sh->reload_lock);
	old = current;
	current = fresh;
	sh->relay_cfg = rc;
	old_tls = sh->tls;
	if (tls != NULL)
		sh->tls = tls; /* listeners were bound at start: TLS cannot be turned on here */
	atomic_fetch_add(&sh->reload_gen, 1);
	pthread_mutex_unlock(&sh->reload_lock);
	if (tls != NULL)
		SSL_CTX_free(old_tls); /* live connections hold their own reference */
	arrays_free(&old);
	return 0;
}

void ternd_shared_free(struct ternd_shared *sh)
{
	arrays_free(&current);
	SSL_CTX_free(sh->tls);
	sh->tls = NULL;
	pthread_mutex_destroy(&sh->reload_lock);
}
