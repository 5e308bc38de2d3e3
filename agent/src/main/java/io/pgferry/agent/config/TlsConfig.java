package io.pgferry.agent.config;

import java.nio.file.Path;
import java.security.KeyStore;

/**
 * HTTPS for the agent's API: a certificate chain and its private key, both PEM files. The key store is built
 * once, when the configuration is validated, so check-config and serve refuse the same broken files.
 *
 * @param keyStore the key and chain in memory, protected by {@link PemKeyStore#PASSWORD} (never on disk)
 */
public record TlsConfig(Path certFile, Path keyFile, KeyStore keyStore) {
    @Override
    public String toString() {
        return "TlsConfig[cert=" + certFile + ", key=" + keyFile + "]";
    }
}
