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
    public static final String LOG_LEVEL = "log_level";
    /** Who may read /metrics: {@code token} (default) or {@code none}, the latter only on a loopback listener. */
    public static final String METRICS_AUTH = "metrics_auth";
    /** HTTPS: a PEM certificate chain and its PEM private key; both or neither. */
    public static final String TLS_CERT_FILE = "tls_cert_file";
    public static final String TLS_KEY_FILE = "tls_key_file";
    /** Environment only: a password has no place in a file that gets copied around or on argv. */
    public static final String PG_PASSWORD = "postgres.password";

    public static final List<String> TOP_LEVEL = List.of(
            LISTEN_ADDRESS, LISTEN_PORT, TOKEN_FILE, "postgres", PG_BIN_DIR, STATE_DIR, LOG_FORMAT, LOG_LEVEL,
            METRICS_AUTH, TLS_CERT_FILE, TLS_KEY_FILE);
    public static final List<String> POSTGRES = List.of("host", "port", "user", "password_file", "database");
    public static final List<String> FROM_ENV = List.of(
            LISTEN_ADDRESS, LISTEN_PORT, TOKEN_FILE, PG_HOST, PG_PORT, PG_USER, PG_PASSWORD, PG_PASSWORD_FILE,
            PG_DATABASE, PG_BIN_DIR, STATE_DIR, LOG_FORMAT, LOG_LEVEL, METRICS_AUTH, TLS_CERT_FILE, TLS_KEY_FILE);

    private ConfigKeys() {
    }

    public static String envName(String key) {
        return "PGFERRY_" + key.replace('.', '_').toUpperCase(Locale.ROOT);
    }
}
