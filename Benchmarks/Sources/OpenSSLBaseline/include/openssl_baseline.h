#ifndef HALLPASS_OPENSSL_BASELINE_H
#define HALLPASS_OPENSSL_BASELINE_H

#include <stddef.h>

/// Verifies `signature` over `message` `iterations` times with the PEM public key, each time with a
/// fresh EVP_MD_CTX as a server verifying one token would: EVP_DigestVerifyInit, then
/// EVP_DigestVerify. With `copy_initialised`, the context is instead copied from one initialised
/// before timing (EVP_MD_CTX_copy_ex), which skips the per-call algorithm and key set-up.
/// `jose_ecdsa` converts a 64-byte r||s signature to DER once, before timing. Returns nanoseconds
/// per verification, or -1 on failure (a signature that does not verify counts as failure).
double hallpass_baseline_verify_ns(const char *public_pem, const unsigned char *message, size_t message_length,
                                   const unsigned char *signature, size_t signature_length, int jose_ecdsa,
                                   int copy_initialised, long iterations);

/// Signs `message` `iterations` times with the PEM private key. Returns nanoseconds per signature, or -1.
double hallpass_baseline_sign_ns(const char *private_pem, const unsigned char *message, size_t message_length,
                                 long iterations);

#endif
