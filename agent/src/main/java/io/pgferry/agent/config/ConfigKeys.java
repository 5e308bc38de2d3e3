package io.pgferry.agent.config;

import java.util.List;
import java.util.Locale;

/** The configuration keys, in YAML's dotted form, and the environment variable for each. */
public final class ConfigKeys {
    public static final String LISTEN_ADDRESS = "listen_address";
    public static final String LISTEN_PORT = "listen_port";
    public static final String TOKEN_FILE = "token_file";
    public static final String PG_HOST = "postgres.host";
    public static final String PG_PORT = "postgres.port";
    public static final String PG_USER = "postgres.user";
    public static final String PG_PASSWORD_FILE = "postgres.password_file";
    public static final String PG_DATABASE = "postgres.database";
    public static final String PG_BIN_DIR = "pg_bin_dir";
    public static final String STATE_DIR = "state_dir";
    public static final String LOG_FORMAT = "log_format";
    /** HTTPS: a PEM certificate chain and its PEM private key; both or neither. */
    public static final String TLS_CERT_FILE = "tls_cert_file";
    public static final String TLS_KEY_FILE = "tls_key_file";
    /**
     * The key that signs (source) and authenticates (target) schema archives and their manifests; the same on every
     * agent that hands archives to another. Without it the agent neither makes nor accepts archives.
     */
    public static final String ARCHIVE_KEY_FILE = "archive_key_file";
    /** Plain HTTP on an address beyond loopback: refused unless this says the network is trusted. */
    public static final String ALLOW_PLAIN_HTTP = "allow_plain_http";
    /** Environment only: a password has no place in a file that gets copied around or on argv. */
    public static final String PG_PASSWORD = "postgres.password";

    public static final List<String> TOP_LEVEL = List.of(
            LISTEN_ADDRESS, LISTEN_PORT, TOKEN_FILE, "postgres", PG_BIN_DIR, STATE_DIR, LOG_FORMAT, TLS_CERT_FILE,
            TLS_KEY_FILE, ARCHIVE_KEY_FILE, ALLOW_PLAIN_HTTP);
    public static final List<String> POSTGRES = List.of("host", "port", "user", "password_file", "database");
    public static final List<String> FROM_ENV = List.of(
            LISTEN_ADDRESS, LISTEN_PORT, TOKEN_FILE, PG_HOST, PG_PORT, PG_USER, PG_PASSWORD, PG_PASSWORD_FILE,
            PG_DATABASE, PG_BIN_DIR, STATE_DIR, LOG_FORMAT, TLS_CERT_FILE, TLS_KEY_FILE, ARCHIVE_KEY_FILE,
            ALLOW_PLAIN_HTTP);

    private ConfigKeys() {
    }

    public static String envName(String key) {
        return "PGFERRY_" + key.replace('.', '_').toUpperCase(Locale.ROOT);
    }
}
