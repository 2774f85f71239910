//! One classifier from profiled functions to the paper's cost categories, and a finer view.
//!
//! The paper (Appendix C, Tables II-V; `paper/FIGURES.md`) groups its oprofile samples first
//! by binary (libcrypto, libssl, libc, database, OpenSIPS core and modules, kernel, other),
//! then splits libcrypto by function name into RSA, MAC, AES and 3DES, the rest being "other
//! libcrypto". Its categories are wider than their names: "RSA" holds bignum arithmetic and
//! also X.509 and ASN.1 work (certificate parsing, chain look-up and verification, name
//! handling); "MAC" holds HMAC and the SHA-1 / MD5 / SHA-256 digests with their EVP plumbing
//! (so the PRF and Finished hashing land there too); "AES" and "3DES" hold key set-up as well
//! as the block functions. [`Category`] reproduces that grouping.
//!
//! [`Part`] is the finer, crypto-aware view beside it (key exchange, PRF / HKDF, X.509 parse,
//! chain verification, state machine, allocation...), so that a modern handshake, whose key
//! exchange the 2009 categories file under "other libcrypto", can be read too.
//!
//! Both are decided from the function name first and the object (shared library, binary or
//! kernel) second, because the same code may be linked dynamically (the system libcrypto) or
//! statically into the measured binary (the vendored OpenSSL, ring, aws-lc): a rule on the
//! object alone would misfile the static copies. Symbol prefixes that crates add to their C
//! and assembly functions (`ring_core_0_17_14_`, `aws_lc_0_32_0_`) are removed first.
//!
//! One classifier serves every profile tlscost makes: callgrind's per-function counts of a
//! handshake side (in process) and `perf` samples of a real server (out of process).

pub mod callgrind;

use serde::Serialize;
use std::collections::BTreeMap;

/// The paper's profile categories (Appendix C).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// RSA and bignum arithmetic, plus X.509 and ASN.1 (parsing, chain look-up, verification).
    Rsa,
    /// HMAC and the message digests (SHA-1, SHA-2, MD5) with their EVP plumbing.
    Mac,
    /// AES (key schedule, block functions, modes including GCM's GHASH).
    Aes,
    /// DES and 3DES.
    TripleDes,
    /// Everything else in the crypto library (EC, random numbers, provider look-ups...).
    OtherLibcrypto,
    /// The TLS library proper: handshake state machine, record layer (libssl, rustls).
    Libssl,
    /// The C library and the memory allocator (malloc, memcpy, the Rust allocator shims).
    Libc,
    /// The SIP server's own core and modules (OpenSIPS / Kamailio, or tlscost's testbed proxy).
    Server,
    /// The credential database and its client library (MySQL / MariaDB, SQLite).
    Database,
    /// The operating system kernel (system calls, network stack, scheduler).
    Kernel,
    /// Anything not matched above (the measuring harness, unknown objects).
    Other,
}

impl Category {
    /// Every category, in the order the paper's tables list them.
    pub const ALL: &'static [Category] = &[
        Category::Rsa,
        Category::Mac,
        Category::Aes,
        Category::TripleDes,
        Category::OtherLibcrypto,
        Category::Libssl,
        Category::Libc,
        Category::Server,
        Category::Database,
        Category::Kernel,
        Category::Other,
    ];

    /// Short label, as in tables and JSON (`rsa`, `other-libcrypto`...).
    pub fn label(self) -> &'static str {
        match self {
            Category::Rsa => "rsa",
            Category::Mac => "mac",
            Category::Aes => "aes",
            Category::TripleDes => "3des",
            Category::OtherLibcrypto => "other-libcrypto",
            Category::Libssl => "libssl",
            Category::Libc => "libc",
            Category::Server => "server",
            Category::Database => "database",
            Category::Kernel => "kernel",
            Category::Other => "other",
        }
    }

    /// Whether the category is inside the crypto library (the paper splits libcrypto into
    /// RSA, MAC, AES, 3DES and the rest).
    pub fn is_libcrypto(self) -> bool {
        matches!(
            self,
            Category::Rsa
                | Category::Mac
                | Category::Aes
                | Category::TripleDes
                | Category::OtherLibcrypto
        )
    }
}

/// The finer view: what the code is doing, across libraries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    /// RSA private and public operations and the bignum arithmetic under them.
    RsaOp,
    /// Key exchange: (EC)DH key-share generation and shared-secret derivation, KEMs
    /// (X25519, P-256, ML-KEM), and ECDSA.
    KeyExchange,
    /// The TLS 1.2 PRF and the TLS 1.3 key schedule (HKDF).
    PrfHkdf,
    /// Decoding certificates and keys: DER / ASN.1, PEM, X.509 structures.
    X509Parse,
    /// Certificate chain building and verification (issuer look-up, policy, names).
    ChainVerify,
    /// Message digests and HMAC (transcript hash, Finished, record MAC).
    Digest,
    /// Bulk ciphers (AES, 3DES, GCM, ChaCha20-Poly1305).
    Cipher,
    /// Random numbers (DRBG, getrandom).
    Random,
    /// OpenSSL 3's provider plumbing: algorithm fetches, property queries, parameters, decoders.
    Plumbing,
    /// The TLS state machine, message construction and parsing, the record layer.
    StateMachine,
    /// Memory allocation and copying (malloc, free, memcpy, the Rust allocator).
    Allocation,
    /// The kernel (system calls, network stack).
    Kernel,
    /// The SIP server's own code.
    Server,
    /// The credential database.
    Database,
    /// Anything else.
    Other,
}

impl Part {
    /// Every part, in report order.
    pub const ALL: &'static [Part] = &[
        Part::RsaOp,
        Part::KeyExchange,
        Part::PrfHkdf,
        Part::X509Parse,
        Part::ChainVerify,
        Part::Digest,
        Part::Cipher,
        Part::Random,
        Part::Plumbing,
        Part::StateMachine,
        Part::Allocation,
        Part::Kernel,
        Part::Server,
        Part::Database,
        Part::Other,
    ];

    /// Short label (`rsa-op`, `key-exchange`...).
    pub fn label(self) -> &'static str {
        match self {
            Part::RsaOp => "rsa-op",
            Part::KeyExchange => "key-exchange",
            Part::PrfHkdf => "prf-hkdf",
            Part::X509Parse => "x509-parse",
            Part::ChainVerify => "chain-verify",
            Part::Digest => "digest",
            Part::Cipher => "cipher",
            Part::Random => "random",
            Part::Plumbing => "plumbing",
            Part::StateMachine => "state-machine",
            Part::Allocation => "allocation",
            Part::Kernel => "kernel",
            Part::Server => "server",
            Part::Database => "database",
            Part::Other => "other",
        }
    }
}

/// What one profiled function is: its paper category and its finer part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Class {
    /// The paper's category.
    pub category: Category,
    /// The finer part.
    pub part: Part,
}

/// Which objects belong to the measured SIP server and to its database, beyond the ones the
/// classifier knows (Kamailio, OpenSIPS, MariaDB/MySQL, SQLite, tlscost's testbed proxy).
#[derive(Debug, Clone, Default)]
pub struct Objects {
    /// Substrings of object paths (or symbol prefixes) that are the server's core and modules.
    pub server: Vec<String>,
    /// Substrings of object paths that are the database and its client library.
    pub database: Vec<String>,
}

/// Removes the prefixes crates put on their C and assembly symbols
/// (`ring_core_0_17_14__bn_mul_mont` -> `bn_mul_mont`, `aws_lc_0_32_0_RSA_sign` -> `RSA_sign`).
pub fn normalize(symbol: &str) -> &str {
    for prefix in ["ring_core_", "aws_lc_", "aws_lc_fips_"] {
        if let Some(rest) = symbol.strip_prefix(prefix) {
            // Skip the version: digits and underscores, e.g. `0_17_14__`.
            let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '_');
            if !rest.is_empty() {
                return rest;
            }
        }
    }
    symbol
}

fn any_prefix(s: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| s.starts_with(p))
}

fn any_contains(s: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| s.contains(n))
}

fn file_name(object: &str) -> &str {
    object.rsplit('/').next().unwrap_or(object)
}

/// Classifies one profiled function: `symbol` as the profiler names it (demangled Rust paths,
/// C names, or a bare address when the object has no symbols), `object` the file it lives in
/// (`/usr/lib/x86_64-linux-gnu/libcrypto.so.3`, `[kernel.kallsyms]`, the measured binary) or
/// empty when unknown. Pure and total: every input gets a class.
pub fn classify(symbol: &str, object: &str, objects: &Objects) -> Class {
    let c = |category, part| Class { category, part };
    let sym = normalize(symbol.trim());
    let obj = file_name(object.trim());
    let lower = sym.to_ascii_lowercase();

    // 1. By object, where the object alone decides.
    if obj.starts_with("[kernel") || obj == "[vdso]" || object.contains("/vmlinux") {
        return c(Category::Kernel, Part::Kernel);
    }
    if objects
        .database
        .iter()
        .any(|d| !d.is_empty() && object.contains(d.as_str()))
        || any_prefix(
            obj,
            &[
                "libmariadb",
                "libmysqlclient",
                "mariadbd",
                "mysqld",
                "libsqlite3",
            ],
        )
    {
        return c(Category::Database, Part::Database);
    }
    if obj.starts_with("libc.so")
        || obj.starts_with("libc-")
        || obj.starts_with("ld-linux")
        || obj.starts_with("libpthread")
        || obj.starts_with("libm.so")
    {
        let part = if is_allocation(&lower) {
            Part::Allocation
        } else {
            Part::Other
        };
        return c(Category::Libc, part);
    }

    // The server's own binary and modules (its own allocator included: Kamailio's q_malloc
    // is the server's code, as OpenSIPS' was in the paper's "core").
    if objects
        .server
        .iter()
        .any(|s| !s.is_empty() && object.contains(s.as_str()))
        || object.contains("kamailio")
        || object.contains("opensips")
    {
        // In the finer view its allocator is allocation (Kamailio's q_malloc, which Debian
        // builds with memory debugging, can take half of its CPU).
        let part = if is_server_allocator(sym) {
            Part::Allocation
        } else {
            Part::Server
        };
        return c(Category::Server, part);
    }

    // 2. By function name: crypto first (it may be linked statically anywhere).
    if is_allocation(&lower) {
        return c(Category::Libc, Part::Allocation);
    }
    if let Some(class) = crypto_class(sym, &lower) {
        return class;
    }

    // 3. TLS library by name, then by object.
    let is_libssl_obj = obj.starts_with("libssl");
    if is_libssl_obj || is_tls_state_machine(sym, &lower) {
        return c(Category::Libssl, Part::StateMachine);
    }
    if obj.starts_with("libcrypto") {
        return c(Category::OtherLibcrypto, Part::Other);
    }

    // 4. The server's code linked into another binary (tlscost's testbed proxy).
    if objects
        .server
        .iter()
        .any(|s| !s.is_empty() && sym.starts_with(s.as_str()))
        || sym.starts_with("tlscost::testbed::proxy")
        || sym.starts_with("tlscost::sip")
    {
        return c(Category::Server, Part::Server);
    }
    c(Category::Other, Part::Other)
}

/// The memory managers of Kamailio and OpenSIPS (q_malloc, f_malloc, TLSF) and their
/// shared / private memory wrappers: `qm_malloc`, `fm_free`, `qm_shm_malloc`, `tlsf_malloc`.
fn is_server_allocator(sym: &str) -> bool {
    let Some(rest) = ["qm_", "fm_", "tlsf_", "sfm_"]
        .iter()
        .find_map(|p| sym.strip_prefix(p))
    else {
        return false;
    };
    let rest = rest
        .strip_prefix("shm_")
        .or_else(|| rest.strip_prefix("pkg_"))
        .unwrap_or(rest);
    [
        "malloc",
        "free",
        "realloc",
        "resize",
        "zmalloc",
        "reallocxf",
        "insert_free",
        "detach_free",
        "split_frag",
        "join",
    ]
    .iter()
    .any(|f| rest.starts_with(f))
}

fn is_allocation(lower: &str) -> bool {
    let s = lower.trim_start_matches('_');
    // Exact names for the short ones ("free" must not catch "free_sip_msg").
    let exact = [
        "malloc",
        "free",
        "calloc",
        "realloc",
        "cfree",
        "posix_memalign",
        "aligned_alloc",
        "memalign",
        "valloc",
    ];
    exact.contains(&s)
        || any_prefix(
            s,
            &[
                "int_malloc",
                "int_free",
                "int_realloc",
                "libc_malloc",
                "libc_free",
                "libc_calloc",
                "libc_realloc",
                "memcpy",
                "memmove",
                "memset",
                "memcmp",
                "bcmp",
                "rust_alloc",
                "rust_dealloc",
                "rust_realloc",
                "rdl_alloc",
                "rdl_dealloc",
                "rdl_realloc",
                "crypto_malloc",
                "crypto_zalloc",
                "crypto_free",
                "crypto_realloc",
                "crypto_clear_free",
                "crypto_memdup",
                "crypto_strdup",
                "crypto_strndup",
                "openssl_cleanse",
                "tcache_",
                "unlink_chunk",
                "malloc_consolidate",
                "sysmalloc",
            ],
        )
        || lower.starts_with("alloc::alloc::")
        || lower.starts_with("alloc::raw_vec::")
        || lower.starts_with("<alloc::raw_vec::")
}

/// The crypto categories by function name; `None` when the name is not crypto.
fn crypto_class(sym: &str, lower: &str) -> Option<Class> {
    let c = |category, part| Some(Class { category, part });
    // 3DES before AES: `DES_ede3_cbc_encrypt` and `des_ede3` contain neither AES nor SHA.
    if any_prefix(
        sym,
        &["DES_", "des_", "ossl_des", "_ossl_des", "fcrypt_body"],
    ) || any_contains(
        lower,
        &["des_ede3", "tdes", "::des::", "des_ecb3", "des_encrypt"],
    ) {
        return c(Category::TripleDes, Part::Cipher);
    }
    // ring's static C and assembly helpers keep unprefixed local names in a callgrind
    // profile: the curve25519 field and group arithmetic (`fe_*`, `ge_*`, `table_select`)
    // and the bignum kernels under RSA (`mul4x_internal`, `__bn_post4x_internal`).
    if any_prefix(sym, &["fe_", "ge_", "x25519_", "table_select"]) {
        return c(Category::OtherLibcrypto, Part::KeyExchange);
    }
    if any_prefix(
        sym,
        &[
            "mul4x_internal",
            "mulx4x_internal",
            "sqr8x_internal",
            "sqrx8x_internal",
            "__bn_",
            "bn_sqr8x",
            "bn_mul4x",
            "bn_powerx5",
            "bn_power5",
            "ring::limb::",
            "ring::arithmetic::",
        ],
    ) {
        return c(Category::Rsa, Part::RsaOp);
    }
    // Key exchange and EC signatures (the paper has no EC: "other libcrypto").
    if any_contains(
        lower,
        &[
            "x25519",
            "curve25519",
            "ecp_nistz256",
            "p256",
            "p384",
            "ec_point",
            "ec_group",
            "ec_key",
            "ecdh",
            "ecdsa",
            "ossl_ec_",
            "ec_gfp",
            "ec_scalar",
            "ecp_",
            "mlkem",
            "ml_kem",
            "kyber",
            "::agreement::",
            "::kx::",
            "key_exchange",
            "keyshare",
            "key_share",
            "fiat_",
            "x448",
            "ed25519",
        ],
    ) || any_prefix(sym, &["EC_", "ECDH_", "ECDSA_", "ec_", "ossl_ecx", "ecx_"])
    {
        return c(Category::OtherLibcrypto, Part::KeyExchange);
    }
    // aws-lc's P-256 scalar inversion (ECDSA) and its ML-KEM (mlkem-native's `mlk_` names).
    if any_prefix(sym, &["beeu_mod_inverse", "mlk_"]) {
        return c(Category::OtherLibcrypto, Part::KeyExchange);
    }
    // The EVP entry points of key generation, (EC)DH derivation and KEMs: in a stripped
    // libcrypto (Debian's) the curve code under them is unnamed and handed to them, so they
    // hold the key exchange itself, not plumbing.
    if any_prefix(
        sym,
        &[
            "EVP_PKEY_keygen",
            "EVP_PKEY_generate",
            "EVP_PKEY_paramgen",
            "EVP_PKEY_derive",
            "EVP_PKEY_encapsulate",
            "EVP_PKEY_decapsulate",
        ],
    ) {
        return c(Category::OtherLibcrypto, Part::KeyExchange);
    }
    // PRF and key schedule: digests underneath land in MAC by their own names.
    if any_contains(
        lower,
        &[
            "tls1_prf",
            "tls1_prf_",
            "prf_",
            "_prf",
            "::prf",
            "hkdf",
            "key_schedule",
            "keyschedule",
            "tls13_derive",
            "tls13_generate",
            "tls13_hkdf",
            "derive_secret",
            "kdf_",
            "_kdf",
            "export_keying",
            "generate_master_secret",
            "tls1_p_hash",
            "setup_key_block",
            "change_cipher_state",
        ],
    ) && !lower.contains("hmac_init")
    {
        // libssl's own key-derivation glue is still libssl in the paper's grouping.
        let category = if any_prefix(sym, &["tls1_", "tls13_", "ssl3_", "ssl_"])
            || sym.starts_with("rustls::")
        {
            Category::Libssl
        } else {
            Category::OtherLibcrypto
        };
        return c(category, Part::PrfHkdf);
    }
    // Digests and HMAC.
    if any_prefix(
        sym,
        &[
            "HMAC",
            "hmac_",
            "SHA1",
            "SHA224",
            "SHA256",
            "SHA384",
            "SHA512",
            "SHA3",
            "sha1_",
            "sha256_",
            "sha512_",
            "sha3_",
            "MD5",
            "md5_",
            "EVP_Digest",
            "EVP_MD",
            "evp_md",
            "EVP_MAC",
            "evp_mac",
            "ossl_sha",
            "ossl_md5",
            "KECCAK",
            "Keccak",
            "keccak",
        ],
    ) || any_contains(
        lower,
        &[
            "sha1_block",
            "sha256_block",
            "sha512_block",
            "md5_block",
            "::digest::",
            "::hmac::",
            "sha2::",
            "sha1::",
            "hmac<",
            "digest_update",
            "digest_final",
            "hash_update",
            "transcript",
            "sha1_final",
            "sha256_final",
        ],
    ) {
        return c(Category::Mac, Part::Digest);
    }
    // AES and its modes (GCM's GHASH belongs to the AES suite).
    if any_prefix(
        sym,
        &[
            "AES_",
            "aes_",
            "aesni_",
            "vpaes_",
            "bsaes_",
            "ossl_aes",
            "_aesni",
            "CRYPTO_gcm128",
            "gcm_",
            "ossl_gcm",
            "GCM",
            "CRYPTO_cbc128",
            "aesni_gcm",
            "_aesni_ctr32",
        ],
    ) || any_contains(
        lower,
        &[
            "aes128", "aes256", "aes::", "::aead::", "aes_gcm", "ghash", "aes_hw", "aes_nohw",
        ],
    ) {
        return c(Category::Aes, Part::Cipher);
    }
    if any_contains(lower, &["chacha", "poly1305"]) {
        return c(Category::OtherLibcrypto, Part::Cipher);
    }
    // RSA, bignum, X.509, ASN.1 (the paper's wide "RSA").
    if any_prefix(
        sym,
        &[
            "RSA_",
            "rsa_",
            "ossl_rsa",
            "rsaz_",
            "RSAZ_",
            "BN_",
            "bn_",
            "ossl_bn",
            "bn_mul_mont",
            "ossl_rsaz",
            "mul_mont",
            "sqr_mont",
            "LIMBS_",
            "LIMB_",
            "limbs_",
        ],
    ) || any_contains(
        lower,
        &[
            "::rsa::",
            "::bigint::",
            "::arithmetic::",
            "montgomery",
            "rsa_pss",
            "pkcs1",
        ],
    ) {
        return c(Category::Rsa, Part::RsaOp);
    }
    if any_prefix(
        sym,
        &[
            "X509_verify_cert",
            "X509_STORE",
            "X509_VERIFY",
            "X509_check",
            "x509_check",
            "X509_LOOKUP",
            "X509_OBJECT",
            "X509_policy",
            "ossl_policy",
            "X509_chain",
            "ossl_x509_check",
            "check_chain",
            "check_name_constraints",
            "check_trust",
            "check_revocation",
            "build_chain",
            "verify_chain",
            "internal_verify",
            "X509_NAME_cmp",
            "X509_cmp",
            "X509_subject_name_cmp",
            "ossl_x509_likely_issued",
            "ossl_x509_signing_allowed",
        ],
    ) || any_contains(
        lower,
        &[
            "webpki::verify_cert",
            "verify_cert::",
            "webpkiserververifier",
            "webpkiclientverifier",
            "verify_server_cert",
            "verify_client_cert",
            "verify_server_name",
            "::subject_name::",
            "path_building",
            "build_chain",
        ],
    ) {
        return c(Category::Rsa, Part::ChainVerify);
    }
    if any_prefix(
        sym,
        &[
            "X509",
            "x509_",
            "ossl_x509",
            "d2i_",
            "i2d_",
            "ASN1",
            "asn1_",
            "ossl_asn1",
            "c2i_",
            "i2c_",
            "PEM_",
            "pem_",
            "ossl_pem",
            "OSSL_DECODER",
            "ossl_decoder",
            "der_",
            "ossl_der",
            "DER_",
            "OBJ_",
            "obj_",
            "ossl_c2i",
            "ossl_d2i",
            "PKCS8",
            "pkcs8",
            "EVP_PKEY_asn1",
            "ossl_spki",
            "X509V3",
            "v3_",
            "GENERAL_NAME",
            "a2i_",
            "i2a_",
        ],
    ) || any_contains(
        lower,
        &[
            "webpki::cert",
            "webpki::der",
            "untrusted::",
            "::der::",
            "x509",
            "certificateder",
            "pki_types::pem",
            "rustls_pemfile",
            "::pem::",
            "asn1",
        ],
    ) {
        return c(Category::Rsa, Part::X509Parse);
    }
    // Random numbers.
    if any_prefix(
        sym,
        &[
            "RAND_",
            "rand_",
            "ossl_rand",
            "drbg_",
            "ossl_drbg",
            "getrandom",
        ],
    ) || any_contains(
        lower,
        &["::rand::", "drbg", "getrandom", "systemrandom", "rdrand"],
    ) {
        return c(Category::OtherLibcrypto, Part::Random);
    }
    // OpenSSL 3's provider plumbing.
    if any_prefix(
        sym,
        &[
            "OSSL_PARAM",
            "ossl_param",
            "ossl_method_store",
            "ossl_property",
            "ossl_lib_ctx",
            "evp_generic_fetch",
            "EVP_KEYMGMT",
            "evp_keymgmt",
            "EVP_PKEY",
            "evp_pkey",
            "OSSL_PROVIDER",
            "ossl_provider",
            "ossl_namemap",
            "ossl_algorithm",
            "CRYPTO_THREAD",
            "CRYPTO_atomic",
            "ossl_ht_",
            "OPENSSL_sk",
            "OPENSSL_LH",
            "ossl_lh",
            "CRYPTO_new_ex_data",
            "CRYPTO_free_ex_data",
            "ossl_crypto_new_ex_data",
            "ERR_",
            "ossl_err",
            "OPENSSL_strcasecmp",
            "ossl_tolower",
            "ossl_ctype",
            "EVP_CIPHER_fetch",
            "EVP_MD_fetch",
            "inner_evp_generic_fetch",
            "evp_",
            "EVP_",
        ],
    ) {
        return c(Category::OtherLibcrypto, Part::Plumbing);
    }
    None
}

fn is_tls_state_machine(sym: &str, lower: &str) -> bool {
    any_prefix(
        sym,
        &[
            "SSL_",
            "ssl_",
            "ssl3_",
            "tls_",
            "tls1_",
            "tls12_",
            "tls13_",
            "dtls",
            "ossl_statem",
            "statem_",
            "read_state_machine",
            "write_state_machine",
            "state_machine",
            "ossl_ssl",
            "ossl_tls",
            "RECORD_LAYER",
            "ssl_",
            "SSL3_",
            "rustls::",
            "<rustls::",
            "openssl::ssl::",
            "<openssl::ssl::",
        ],
    ) || lower.contains("rustls::")
}

/// A profile summed by category and by part: samples, instructions or µs, whichever unit
/// the profiler gives (the unit is the caller's; `total` is in the same unit).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Breakdown {
    /// Sum per paper category.
    pub by_category: BTreeMap<Category, f64>,
    /// Sum per finer part.
    pub by_part: BTreeMap<Part, f64>,
    /// Sum of everything added.
    pub total: f64,
}

impl Breakdown {
    /// Adds `weight` (samples, instructions, µs) of one function.
    pub fn add(&mut self, symbol: &str, object: &str, objects: &Objects, weight: f64) {
        let class = classify(symbol, object, objects);
        *self.by_category.entry(class.category).or_default() += weight;
        *self.by_part.entry(class.part).or_default() += weight;
        self.total += weight;
    }

    /// Every value divided by `n` (e.g. calls or handshakes): per-call figures.
    /// `n` must be positive; a zero `n` gives an empty breakdown.
    pub fn per(&self, n: f64) -> Breakdown {
        if n.is_nan() || n <= 0.0 {
            return Breakdown::default();
        }
        Breakdown {
            by_category: self.by_category.iter().map(|(k, v)| (*k, v / n)).collect(),
            by_part: self.by_part.iter().map(|(k, v)| (*k, v / n)).collect(),
            total: self.total / n,
        }
    }

    /// `self - base`, category by category and part by part (the paper's deltas, e.g. TCP
    /// to TLS); categories present in either appear.
    pub fn minus(&self, base: &Breakdown) -> Breakdown {
        fn sub<K: Ord + Copy>(a: &BTreeMap<K, f64>, b: &BTreeMap<K, f64>) -> BTreeMap<K, f64> {
            let mut out = a.clone();
            for (k, v) in b {
                *out.entry(*k).or_default() -= v;
            }
            out
        }
        Breakdown {
            by_category: sub(&self.by_category, &base.by_category),
            by_part: sub(&self.by_part, &base.by_part),
            total: self.total - base.total,
        }
    }

    /// The value of one category (0 when absent).
    pub fn category(&self, c: Category) -> f64 {
        self.by_category.get(&c).copied().unwrap_or(0.0)
    }

    /// The value of one part (0 when absent).
    pub fn part(&self, p: Part) -> f64 {
        self.by_part.get(&p).copied().unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(sym: &str, obj: &str) -> Category {
        classify(sym, obj, &Objects::default()).category
    }
    fn part(sym: &str, obj: &str) -> Part {
        classify(sym, obj, &Objects::default()).part
    }
    const LIBCRYPTO: &str = "/usr/lib/x86_64-linux-gnu/libcrypto.so.3";
    const LIBSSL: &str = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
    const BIN: &str = "/work/target/release/deps/gate-1234";

    #[test]
    fn openssl_libcrypto_functions_land_in_the_papers_categories() {
        for s in [
            "RSA_private_decrypt",
            "BN_mod_exp_mont_consttime",
            "bn_mul_mont",
            "rsaz_1024_sqr_avx2",
            "ossl_rsaz_amm52x20_x1_ifma256",
            "d2i_X509",
            "ASN1_item_d2i",
            "X509_STORE_CTX_get1_issuer",
            "X509_verify_cert",
            "X509_NAME_cmp",
        ] {
            assert_eq!(cat(s, LIBCRYPTO), Category::Rsa, "{s}");
        }
        for s in [
            "HMAC_Update",
            "SHA1_Update",
            "sha1_block_data_order_avx2",
            "sha256_block_data_order_shaext",
            "EVP_DigestUpdate",
            "MD5_Update",
        ] {
            assert_eq!(cat(s, LIBCRYPTO), Category::Mac, "{s}");
        }
        for s in [
            "aesni_cbc_encrypt",
            "AES_set_encrypt_key",
            "aesni_gcm_encrypt",
            "gcm_ghash_avx",
            "CRYPTO_gcm128_encrypt",
        ] {
            assert_eq!(cat(s, LIBCRYPTO), Category::Aes, "{s}");
        }
        for s in [
            "DES_ede3_cbc_encrypt",
            "DES_encrypt3",
            "ossl_des_ede3_cbc_cipher",
        ] {
            assert_eq!(cat(s, LIBCRYPTO), Category::TripleDes, "{s}");
        }
        for s in [
            "ecp_nistz256_point_mul",
            "ossl_x25519",
            "EC_POINT_mul",
            "RAND_bytes_ex",
            "OSSL_PARAM_locate",
            "0x00000000001a2b3c",
        ] {
            assert_eq!(cat(s, LIBCRYPTO), Category::OtherLibcrypto, "{s}");
        }
    }

    #[test]
    fn the_finer_view_separates_what_the_categories_pool() {
        assert_eq!(part("RSA_private_decrypt", LIBCRYPTO), Part::RsaOp);
        assert_eq!(part("d2i_X509", LIBCRYPTO), Part::X509Parse);
        assert_eq!(part("X509_verify_cert", LIBCRYPTO), Part::ChainVerify);
        assert_eq!(part("ossl_x25519", LIBCRYPTO), Part::KeyExchange);
        assert_eq!(part("tls1_PRF", LIBSSL), Part::PrfHkdf);
        assert_eq!(part("tls13_hkdf_expand", LIBSSL), Part::PrfHkdf);
        assert_eq!(part("OSSL_PARAM_locate", LIBCRYPTO), Part::Plumbing);
        assert_eq!(part("RAND_bytes_ex", LIBCRYPTO), Part::Random);
        assert_eq!(part("SHA256_Update", LIBCRYPTO), Part::Digest);
        // The PRF's own digests are MAC in the paper's view, as in Appendix C.
        assert_eq!(cat("HMAC_Update", LIBCRYPTO), Category::Mac);
        assert_eq!(cat("tls1_PRF", LIBSSL), Category::Libssl);
    }

    #[test]
    fn libssl_libc_kernel_server_and_database_by_object() {
        assert_eq!(
            cat("ossl_statem_server_read_transition", LIBSSL),
            Category::Libssl
        );
        assert_eq!(cat("0x000000000004f00d", LIBSSL), Category::Libssl);
        assert_eq!(
            cat(
                "__memcpy_avx_unaligned_erms",
                "/lib/x86_64-linux-gnu/libc.so.6"
            ),
            Category::Libc
        );
        assert_eq!(
            part("_int_malloc", "/lib/x86_64-linux-gnu/libc.so.6"),
            Part::Allocation
        );
        assert_eq!(cat("tcp_sendmsg", "[kernel.kallsyms]"), Category::Kernel);
        assert_eq!(cat("parse_msg", "/usr/sbin/kamailio"), Category::Server);
        assert_eq!(cat("qm_malloc", "/usr/sbin/kamailio"), Category::Server);
        // Kamailio's allocators: its code (category), allocation (finer view).
        for sym in [
            "qm_malloc",
            "qm_shm_free",
            "fm_malloc",
            "tlsf_free",
            "qm_split_frag",
        ] {
            assert_eq!(part(sym, "/usr/sbin/kamailio"), Part::Allocation, "{sym}");
        }
        assert_eq!(part("parse_via", "/usr/sbin/kamailio"), Part::Server);
        assert_eq!(
            part("qm_status", "/usr/sbin/kamailio"),
            Part::Server,
            "memory status dumps are not allocation"
        );
        // Kamailio's TLS module is the server's code, as OpenSIPS' was in the paper.
        assert_eq!(
            cat(
                "tls_h_read_f",
                "/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so"
            ),
            Category::Server
        );
        assert_eq!(cat("free_sip_msg", "/usr/sbin/kamailio"), Category::Server);
        assert_eq!(
            part("free", "/lib/x86_64-linux-gnu/libc.so.6"),
            Part::Allocation
        );
        assert_eq!(
            cat(
                "t_relay",
                "/usr/lib/x86_64-linux-gnu/kamailio/modules/tm.so"
            ),
            Category::Server
        );
        assert_eq!(
            cat(
                "mysql_real_query",
                "/usr/lib/x86_64-linux-gnu/libmariadb.so.3"
            ),
            Category::Database
        );
        assert_eq!(
            cat(
                "sqlite3VdbeExec",
                "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0"
            ),
            Category::Database
        );
        // Unknown code in an unknown object is "other", never a guess.
        assert_eq!(cat("main", "/usr/bin/whatever"), Category::Other);
        let mine = Objects {
            server: vec!["my-proxy".into()],
            database: vec!["libpq".into()],
        };
        assert_eq!(
            classify("handle", "/opt/my-proxy/bin/proxy", &mine).category,
            Category::Server
        );
        assert_eq!(
            classify("PQexec", "/usr/lib/libpq.so.5", &mine).category,
            Category::Database
        );
    }

    #[test]
    fn statically_linked_crypto_is_classified_by_name_not_object() {
        // The vendored OpenSSL, ring and aws-lc live inside the measured binary.
        assert_eq!(cat("RSA_private_decrypt", BIN), Category::Rsa);
        assert_eq!(cat("ring_core_0_17_14__bn_mul_mont", BIN), Category::Rsa);
        assert_eq!(cat("aws_lc_0_32_0_RSA_sign", BIN), Category::Rsa);
        assert_eq!(
            cat("ring_core_0_17_14__sha256_block_data_order_avx", BIN),
            Category::Mac
        );
        assert_eq!(
            cat("ring_core_0_17_14__aes_hw_ctr32_encrypt_blocks", BIN),
            Category::Aes
        );
        assert_eq!(
            cat("ring_core_0_17_14__x25519_scalar_mult_adx", BIN),
            Category::OtherLibcrypto
        );
        assert_eq!(
            cat("webpki::verify_cert::ChainOptions::build_chain_inner", BIN),
            Category::Rsa
        );
        assert_eq!(part("webpki::cert::Cert::from_der", BIN), Part::X509Parse);
        assert_eq!(
            cat("rustls::server::hs::ExpectClientHello::handle", BIN),
            Category::Libssl
        );
        assert_eq!(
            cat("ossl_statem_client_write_transition", BIN),
            Category::Libssl
        );
        assert_eq!(cat("__rust_alloc", BIN), Category::Libc);
        assert_eq!(cat("tlscost::handshake::drive", BIN), Category::Other);
        assert_eq!(normalize("ring_core_0_17_14__bn_mul_mont"), "bn_mul_mont");
        assert_eq!(normalize("aws_lc_0_32_0_RSA_sign"), "RSA_sign");
        assert_eq!(normalize("plain"), "plain");
    }

    #[test]
    fn names_seen_in_callgrind_profiles_of_the_handshakes() {
        // Debian's libcrypto (exported names only) and libc, in OpenSSL handshake sides.
        let libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
        for (s, obj, want) in [
            ("BN_mod_exp_mont_consttime", LIBCRYPTO, Part::RsaOp),
            ("BN_BLINDING_update", LIBCRYPTO, Part::RsaOp),
            ("OSSL_DECODER_is_a", LIBCRYPTO, Part::X509Parse),
            ("OPENSSL_LH_retrieve", LIBCRYPTO, Part::Plumbing),
            ("OPENSSL_LH_doall_arg", LIBCRYPTO, Part::Plumbing),
            ("OPENSSL_strcasecmp", LIBCRYPTO, Part::Plumbing),
            ("EVP_PKEY_derive", LIBCRYPTO, Part::KeyExchange),
            ("EVP_PKEY_generate", LIBCRYPTO, Part::KeyExchange),
            ("EVP_PKEY_keygen", LIBCRYPTO, Part::KeyExchange),
            ("EVP_PKEY_CTX_new_from_name", LIBCRYPTO, Part::Plumbing),
            // aws-lc, linked into the measured binary, in rustls-awslc handshake sides.
            (
                "aws_lc_0_47_0_beeu_mod_inverse_vartime",
                BIN,
                Part::KeyExchange,
            ),
            ("mlk_rej_uniform.constprop.0", BIN, Part::KeyExchange),
            ("KeccakF1600_ExtractBytes", BIN, Part::Digest),
            ("tls1_P_hash", BIN, Part::PrfHkdf),
            ("aws_lc_0_47_0_EVP_PKEY_derive", BIN, Part::KeyExchange),
            ("EVP_KEYMGMT_do_all_provided", LIBCRYPTO, Part::Plumbing),
            ("SHA256_Update", LIBCRYPTO, Part::Digest),
            ("OPENSSL_cleanse", LIBCRYPTO, Part::Allocation),
            ("SSL_do_handshake", LIBSSL, Part::StateMachine),
            ("_int_free", libc, Part::Allocation),
            ("__memset_avx2_unaligned_erms", libc, Part::Allocation),
            // ring, linked into the measured binary, in rustls handshake sides.
            ("ring_core_0_17_14__bn_sqr8x_internal", BIN, Part::RsaOp),
            ("mul4x_internal", BIN, Part::RsaOp),
            ("__bn_post4x_internal", BIN, Part::RsaOp),
            ("ring::limb::fold_5_bit_windows", BIN, Part::RsaOp),
            ("ring_core_0_17_14__LIMBS_shl_mod", BIN, Part::RsaOp),
            (
                "ring_core_0_17_14__x25519_scalar_mult_generic_masked",
                BIN,
                Part::KeyExchange,
            ),
            ("fe_loose_invert", BIN, Part::KeyExchange),
            ("table_select", BIN, Part::KeyExchange),
            ("ge_madd", BIN, Part::KeyExchange),
            ("ring::hkdf::fill_okm", BIN, Part::PrfHkdf),
            (
                "ring_core_0_17_14__sha256_block_data_order_avx",
                BIN,
                Part::Digest,
            ),
            ("_aesni_ctr32_ghash_6x", BIN, Part::Cipher),
            ("webpki::der::expect_tag", BIN, Part::X509Parse),
        ] {
            assert_eq!(part(s, obj), want, "{s}");
        }
        assert_eq!(cat("mul4x_internal", BIN), Category::Rsa);
        assert_eq!(cat("fe_loose_invert", BIN), Category::OtherLibcrypto);
        assert_eq!(
            cat(
                "pthread_rwlock_unlock",
                "/usr/lib/x86_64-linux-gnu/libc.so.6"
            ),
            Category::Libc
        );
    }

    #[test]
    fn breakdown_sums_divides_and_subtracts() {
        let o = Objects::default();
        let mut tls = Breakdown::default();
        tls.add("RSA_private_decrypt", LIBCRYPTO, &o, 300.0);
        tls.add("HMAC_Update", LIBCRYPTO, &o, 100.0);
        tls.add("tcp_sendmsg", "[kernel.kallsyms]", &o, 200.0);
        let mut tcp = Breakdown::default();
        tcp.add("tcp_sendmsg", "[kernel.kallsyms]", &o, 150.0);
        let d = tls.per(2.0).minus(&tcp.per(2.0));
        assert_eq!(d.category(Category::Rsa), 150.0);
        assert_eq!(d.category(Category::Mac), 50.0);
        assert_eq!(d.category(Category::Kernel), 25.0);
        assert_eq!(d.total, 225.0);
        assert_eq!(tls.per(0.0), Breakdown::default());
        let sum: f64 = tls.by_category.values().sum();
        assert_eq!(sum, tls.total);
    }
}
