#include "openssl_baseline.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>
#include <time.h>

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static EVP_PKEY *read_key(const char *pem, int private_key) {
    BIO *bio = BIO_new_mem_buf(pem, (int)strlen(pem));
    if (bio == NULL) return NULL;
    EVP_PKEY *key = private_key ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return key;
}

static const EVP_MD *digest_for(EVP_PKEY *key, EVP_MD **fetched) {
    *fetched = NULL;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) return NULL;
    *fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
    return *fetched;
}

double hallpass_baseline_verify_ns(const char *public_pem, const unsigned char *message, size_t message_length,
                                   const unsigned char *signature, size_t signature_length, int jose_ecdsa,
                                   int copy_initialised, long iterations) {
    EVP_PKEY *key = read_key(public_pem, 0);
    if (key == NULL) return -1;
    unsigned char *der = NULL;
    const unsigned char *sig = signature;
    size_t sig_length = signature_length;
    if (jose_ecdsa) {
        if (signature_length != 64) { EVP_PKEY_free(key); return -1; }
        ECDSA_SIG *ecdsa = ECDSA_SIG_new();
        ECDSA_SIG_set0(ecdsa, BN_bin2bn(signature, 32, NULL), BN_bin2bn(signature + 32, 32, NULL));
        int length = i2d_ECDSA_SIG(ecdsa, &der);
        ECDSA_SIG_free(ecdsa);
        if (length <= 0) { EVP_PKEY_free(key); return -1; }
        sig = der;
        sig_length = (size_t)length;
    }
    EVP_MD *fetched;
    const EVP_MD *md = digest_for(key, &fetched);
    EVP_MD_CTX *template = NULL;
    int failed = 0;
    if (copy_initialised) {
        template = EVP_MD_CTX_new();
        if (template == NULL || EVP_DigestVerifyInit(template, NULL, md, NULL, key) != 1) failed = 1;
    }
    double start = now_ns();
    for (long i = 0; i < iterations && !failed; i++) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int ready = template != NULL ? EVP_MD_CTX_copy_ex(ctx, template) : EVP_DigestVerifyInit(ctx, NULL, md, NULL, key);
        if (ready != 1 || EVP_DigestVerify(ctx, sig, sig_length, message, message_length) != 1) {
            failed = 1;
        }
        EVP_MD_CTX_free(ctx);
    }
    double elapsed = now_ns() - start;
    EVP_MD_CTX_free(template);
    OPENSSL_free(der);
    EVP_MD_free(fetched);
    EVP_PKEY_free(key);
    return failed ? -1 : elapsed / (double)iterations;
}

double hallpass_baseline_sign_ns(const char *private_pem, const unsigned char *message, size_t message_length,
                                 long iterations) {
    EVP_PKEY *key = read_key(private_pem, 1);
    if (key == NULL) return -1;
    EVP_MD *fetched;
    const EVP_MD *md = digest_for(key, &fetched);
    unsigned char signature[1024];
    double start = now_ns();
    int failed = 0;
    for (long i = 0; i < iterations; i++) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        size_t length = sizeof signature;
        if (EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1 ||
            EVP_DigestSign(ctx, signature, &length, message, message_length) != 1) {
            failed = 1;
        }
        EVP_MD_CTX_free(ctx);
    }
    double elapsed = now_ns() - start;
    EVP_MD_free(fetched);
    EVP_PKEY_free(key);
    return failed ? -1 : elapsed / (double)iterations;
}
