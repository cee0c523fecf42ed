#ifndef HALLPASS_OPENSSL_BASELINE_H
#define HALLPASS_OPENSSL_BASELINE_H

#include <stddef.h>

/// Verifies `signature` over `message` `iterations` times with the PEM public key, each time with a
/// fresh EVP_MD_CTX as a server verifying one token would. `jose_ecdsa` converts a 64-byte r||s
/// signature to DER once, before timing. Returns nanoseconds per verification, or -1 on failure
/// (a signature that does not verify counts as failure).
double hallpass_baseline_verify_ns(const char *public_pem, const unsigned char *message, size_t message_length,
                                   const unsigned char *signature, size_t signature_length, int jose_ecdsa,
                                   long iterations);

/// Signs `message` `iterations` times with the PEM private key. Returns nanoseconds per signature, or -1.
double hallpass_baseline_sign_ns(const char *private_pem, const unsigned char *message, size_t message_length,
                                 long iterations);

#endif
