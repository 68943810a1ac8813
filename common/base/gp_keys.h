/* gp_keys.h - CURVE keys as gpdot writes them.
 *
 * A key is 32 bytes, written as 40 characters of Z85 (ZeroMQ's encoding).
 * A key pair file, made by `gpdot-client keygen`, holds both halves and must
 * stay secret (mode 0600):
 *
 *   # gpdot CURVE key pair ...
 *   public_key: "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
 *   secret_key: "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
 *
 * The public half alone goes into the cluster file (a node's public_key, or
 * an entry of security.clients). Z85 uses ':', '#', '{' and other YAML
 * punctuation, so keys are always double-quoted in YAML.
 */
#ifndef GP_KEYS_H
#define GP_KEYS_H

#include <stdbool.h>

#include "gp_err.h"

#define GP_KEY_LEN 40 /* Z85 characters of a 32-byte key */

/* Whether s is exactly 40 characters of the Z85 alphabet. */
bool gp_key_valid(const char *s);

/* Reads a key pair file into pub and sec (each GP_KEY_LEN + 1 bytes).
 * GP_EIO if it cannot be read, GP_EFORMAT with "file:line: reason" if it is
 * not a key pair file. Refuses files others can read (GP_EINVAL): a secret
 * key anyone can read is not secret. */
gp_err gp_keypair_load(const char *path, char *pub, char *sec, gp_msg *why);

/* Writes a key pair file (mode 0600; never replaces an existing file unless
 * `replace`), and pub alone into path + ".pub" (mode 0644). */
gp_err gp_keypair_save(const char *path, const char *pub, const char *sec, bool replace,
                       gp_msg *why);

#endif
