/* respond.c - building STUN responses into the out buffer's scratch. */
#include "internal.h"

int tern_rl_reply_start(struct tern_relay *r, struct tern_relay_out *out,
                        const struct relay_reply *rep, struct tern_stun_builder *b)
{
	uint8_t *buf = tern_rl_out_scratch(out, TERN_STUN_HEADER_LEN);
	uint16_t type = tern_stun_type(rep->method, rep->cls);

	(void)r;
	if (buf == NULL)
		return TERN_ERR_NO_SPACE;
	return tern_stun_build_start(b, buf, out->scratch_cap - out->scratch_len, type, rep->txid);
}

static bool authenticated(const struct relay_reply *rep)
{
	return rep->auth != NULL && rep->auth->error == 0 && rep->auth->key_len > 0;
}

void tern_rl_reply_finish(struct tern_relay *r, struct tern_relay_out *out,
                          const struct relay_reply *rep, struct tern_stun_builder *b)
{
	struct tern_relay_action *act;
	size_t len;

	/* SOFTWARE only once the client proved who it is: it would only add
	 * to what an unauthenticated request can make the server send. */
	if (authenticated(rep) && r->software_len > 0)
		(void)tern_stun_add_string(b, TERN_ATTR_SOFTWARE, r->software, r->software_len);
	if (authenticated(rep) && rep->auth->sha256_mi)
		(void)tern_stun_add_integrity_sha256(b, rep->auth->key, rep->auth->key_len, 32);
	else if (authenticated(rep))
		(void)tern_stun_add_integrity(b, rep->auth->key, rep->auth->key_len);
	(void)tern_stun_add_fingerprint(b);
	if (tern_stun_build_finish(b, &len) != TERN_OK || (act = tern_rl_out_action(out)) == NULL) {
		tern_rl_drop(r, TERN_DROP_OVERFLOW);
		return;
	}
	act->kind = TERN_ACT_SEND_CLIENT;
	act->client = *rep->to;
	act->data = b->buf;
	act->len = len;
	tern_rl_out_commit_scratch(out, len);
}

static void add_challenge(struct tern_relay *r, uint64_t now, const struct tern_addr *client,
                          struct tern_stun_builder *b)
{
	uint8_t nonce[NONCE_MAX];
	size_t n = tern_rl_nonce_make(r, now, client, nonce);
	size_t nalgs;
	const struct tern_password_alg_entry *algs = tern_rl_offered_algs(&nalgs);

	(void)tern_stun_add_string(b, TERN_ATTR_REALM, r->realm, r->realm_len);
	(void)tern_stun_add_string(b, TERN_ATTR_NONCE, nonce, n);
	(void)tern_stun_add_password_algorithms(b, algs, nalgs);
}

void tern_rl_reply_error(struct tern_relay *r, uint64_t now, struct tern_relay_out *out,
                         const struct tern_relay_client *to, const struct tern_stun_msg *req,
                         const struct relay_auth *auth, uint16_t code)
{
	struct relay_reply rep = {to, req->method, req->txid, auth, TERN_STUN_ERROR};
	struct tern_stun_builder b;
	bool challenge = code == 401 || code == 438;

	if (challenge && !tern_rl_rate_allow(r, now, &to->client)) {
		tern_rl_drop(r, TERN_DROP_RATE_LIMITED);
		return;
	}
	if (tern_rl_reply_start(r, out, &rep, &b) != TERN_OK) {
		tern_rl_drop(r, TERN_DROP_OVERFLOW);
		return;
	}
	(void)tern_stun_add_error_code(&b, code, NULL, 0);
	if (code == 420)
		(void)tern_stun_add_unknown_attributes(&b, req->unknown, req->nunknown);
	if (challenge)
		add_challenge(r, now, &to->client, &b);
	tern_rl_reply_finish(r, out, &rep, &b);
	r->stats.errors_sent++;
	if (code == 401 && req->mi_index < 0 && req->mi256_index < 0)
		return; /* the first-contact challenge, not a failure */
	if (code == 401 || code == 438 || code == 441) {
		r->stats.auth_failures++;
		tern_rl_out_event(out, to, TERN_EV_AUTH_FAILED, code);
	} else {
		tern_rl_out_event(out, to, TERN_EV_ERROR_SENT, code);
	}
}
