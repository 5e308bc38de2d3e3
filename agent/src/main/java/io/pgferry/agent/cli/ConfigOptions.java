package io.pgferry.agent.cli;

import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.config.ConfigException;
import io.pgferry.agent.config.ConfigKeys;
import io.pgferry.agent.config.ConfigLoader;
import io.pgferry.agent.config.Setting;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Flags shared by serve, check-config and warm-up. All are strings so bad values are reported by the config
 * validator together with every other error. There is deliberately no flag for a password or token: argv is readable
 * by every user through /proc.
 */
public final class ConfigOptions {
    @Option(names = "--config", paramLabel = "FILE", description = "YAML config file.")
    Path config;

    @Option(names = "--listen-address", paramLabel = "ADDR", description = "Overrides listen_address.")
    String listenAddress;

    @Option(names = "--listen-port", paramLabel = "PORT", description = "Overrides listen_port.")
    String listenPort;

    @Option(names = "--token-file", paramLabel = "FILE", description = "Overrides token_file.")
    String tokenFile;

    @Option(names = "--pg-host", paramLabel = "HOST", description = "Overrides postgres.host.")
    String pgHost;

    @Option(names = "--pg-port", paramLabel = "PORT", description = "Overrides postgres.port.")
    String pgPort;

    @Option(names = "--pg-user", paramLabel = "USER", description = "Overrides postgres.user.")
    String pgUser;

    @Option(names = "--pg-password-file", paramLabel = "FILE", description = "Overrides postgres.password_file.")
    String pgPasswordFile;

    @Option(names = "--pg-database", paramLabel = "DB", description = "Overrides postgres.database.")
    String pgDatabase;

    @Option(names = "--pg-bin-dir", paramLabel = "DIR", description = "Overrides pg_bin_dir.")
    String pgBinDir;

    @Option(names = "--state-dir", paramLabel = "DIR", description = "Overrides state_dir.")
    String stateDir;

    @Option(names = "--log-format", paramLabel = "FORMAT", description = "Overrides log_format: text or json.")
    String logFormat;

    @Option(names = "--log-level", paramLabel = "LEVEL",
            description = "Overrides log_level: trace, debug, info, warn or error.")
    String logLevel;

    @Option(names = "--metrics-auth", paramLabel = "AUTH",
            description = "Overrides metrics_auth: token, or none (loopback listener only).")
    String metricsAuth;

    @Option(names = "--tls-cert-file", paramLabel = "FILE", description = "Overrides tls_cert_file (PEM chain).")
    String tlsCertFile;

    @Option(names = "--tls-key-file", paramLabel = "FILE", description = "Overrides tls_key_file (PEM key, 0600).")
    String tlsKeyFile;

    @Option(names = "--archive-key-file", paramLabel = "FILE",
            description = "Overrides archive_key_file (key that signs schema archives, 0600).")
    String archiveKeyFile;

    @Option(names = "--allow-plain-http", paramLabel = "BOOL",
            description = "Overrides allow_plain_http: plain HTTP on a non-loopback address (trusted networks only).")
    String allowPlainHttp;

    AgentConfig load(Map<String, String> env) throws ConfigException {
        return ConfigLoader.load(config, env, flags());
    }

    List<Setting> flags() {
        List<Setting> out = new ArrayList<>();
        add(out, ConfigKeys.LISTEN_ADDRESS, "--listen-address", listenAddress);
        add(out, ConfigKeys.LISTEN_PORT, "--listen-port", listenPort);
        add(out, ConfigKeys.TOKEN_FILE, "--token-file", tokenFile);
        add(out, ConfigKeys.PG_HOST, "--pg-host", pgHost);
        add(out, ConfigKeys.PG_PORT, "--pg-port", pgPort);
        add(out, ConfigKeys.PG_USER, "--pg-user", pgUser);
        add(out, ConfigKeys.PG_PASSWORD_FILE, "--pg-password-file", pgPasswordFile);
        add(out, ConfigKeys.PG_DATABASE, "--pg-database", pgDatabase);
        add(out, ConfigKeys.PG_BIN_DIR, "--pg-bin-dir", pgBinDir);
        add(out, ConfigKeys.STATE_DIR, "--state-dir", stateDir);
        add(out, ConfigKeys.LOG_FORMAT, "--log-format", logFormat);
        add(out, ConfigKeys.LOG_LEVEL, "--log-level", logLevel);
        add(out, ConfigKeys.METRICS_AUTH, "--metrics-auth", metricsAuth);
        add(out, ConfigKeys.TLS_CERT_FILE, "--tls-cert-file", tlsCertFile);
        add(out, ConfigKeys.TLS_KEY_FILE, "--tls-key-file", tlsKeyFile);
        add(out, ConfigKeys.ARCHIVE_KEY_FILE, "--archive-key-file", archiveKeyFile);
        add(out, ConfigKeys.ALLOW_PLAIN_HTTP, "--allow-plain-http", allowPlainHttp);
        return out;
    }

    private static void add(List<Setting> out, String key, String flag, String value) {
        if (value != null) {
            out.add(new Setting(key, value, "flag " + flag));
        }
    }
}
