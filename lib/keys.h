/* keys.h - CURVE key files for the control plane, shared by the coordinator
 * (its own secret key, the authorized-keys directory, `smtpstorm keygen`),
 * agents and sinks (their secret key, the coordinator's public key).
 *
 * Formats (CZMQ's zcert files are read as they are):
 *   NAME.key  secret, mode 0600:   public-key = "<40 Z85>"  and
 *                                  secret-key = "<40 Z85>"  lines
 *   NAME.pub  public:              public-key = "<40 Z85>"  or one bare
 *                                  40-character Z85 line
 * Lines starting with '#' are comments; other lines (zcert's "metadata",
 * "curve") are ignored. */
#ifndef SMTPSTORM_KEYS_H
#define SMTPSTORM_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KEYS_BYTES      32          /* Curve25519 key, RFC 26 (CurveZMQ) */
#define KEYS_Z85_LEN    40          /* Z85 text of 32 octets, RFC 32 */
#define KEYS_FILE_MAX   65536       /* a key file larger than this is not one */
#define KEYS_DIR_MAX    10000       /* *.pub files read from one directory */
#define KEYS_NAME_MAX   64          /* a key's name: its file name without .pub */

/* One's own key pair. */
struct keys_secret {
    uint8_t public_key[KEYS_BYTES];
    uint8_t secret_key[KEYS_BYTES];
};

/* Public keys admitted by the coordinator, each with the name of its file. */
struct keys_ring {
    uint8_t (*keys)[KEYS_BYTES];
    char (*names)[KEYS_NAME_MAX];
    size_t n, cap;
};

/* keys_available - nonzero when this libzmq does CURVE (zmq_has("curve")). */
int keys_available(void);

/* keys_generate - a new random key pair into k. Returns 0, or -ENOTSUP
 * when libzmq was built without CURVE. */
int keys_generate(struct keys_secret *k);

/* keys_save - write name.key (mode 0600, both keys) and name.pub (mode
 * 0644, the public key) in zcert format. Neither file may exist unless
 * force (then both are replaced). On error nothing is left behind and err
 * says why; returns 0 or -errno. */
int keys_save(const char *name, const struct keys_secret *k, int force, char *err, size_t errlen);

/* keys_load_secret - read a secret key file: it must be a regular file
 * owned by this user with no access for group or others, or owned by root
 * with at most group read (0440, 0640: Kubernetes secret volumes) when we
 * are not root; else -EPERM, saying `chmod 600`. It must hold
 * one valid secret key whose public key, if written, matches.
 * Returns 0 or -errno with the reason, naming path, in err. */
int keys_load_secret(const char *path, struct keys_secret *k, char *err, size_t errlen);

/* keys_load_public - read a public key file into key (KEYS_BYTES).
 * Returns 0 or -errno with the reason, naming path, in err. */
int keys_load_public(const char *path, uint8_t key[KEYS_BYTES], char *err, size_t errlen);

/* keys_load_dir - read every *.pub file of dir (not hidden ones, not
 * subdirectories) into ring (zeroed or keys_ring_free'd). A file that is not
 * a public key fails the whole load (-EINVAL, naming it); an empty
 * directory is -ENOENT. The caller frees ring (keys_ring_free) on success
 * and on error. */
int keys_load_dir(const char *dir, struct keys_ring *ring, char *err, size_t errlen);

/* keys_ring_find - the name of key in ring, or NULL when it is not there. */
const char *keys_ring_find(const struct keys_ring *ring, const uint8_t key[KEYS_BYTES]);

/* keys_ring_free - release what ring holds and zero it. */
void keys_ring_free(struct keys_ring *ring);

/* keys_z85 - key as Z85 text into out (KEYS_Z85_LEN + 1 octets). */
void keys_z85(const uint8_t key[KEYS_BYTES], char out[KEYS_Z85_LEN + 1]);

/* keys_z85_decode - 40 characters of Z85 text into key; 0 or -EINVAL
 * (wrong length or a character outside Z85's alphabet). */
int keys_z85_decode(const char *text, size_t len, uint8_t key[KEYS_BYTES]);

#endif
